import { standbyStrategy } from './standby.js';

export const replicaAsync = standbyStrategy('replica-async', 'an asynchronous streaming standby; recovery promotes it and moves the writers to it (what it had not received is lost)', { sync: false, delayed: false });
