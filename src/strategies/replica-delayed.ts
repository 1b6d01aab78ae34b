import { standbyStrategy } from './standby.js';

export const replicaDelayed = standbyStrategy('replica-delayed', 'a standby that applies changes a delay behind (recovery_min_apply_delay, MASTER_DELAY): stopped just before a logical fault, then promoted', { sync: false, delayed: true });
