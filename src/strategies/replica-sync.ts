import { standbyStrategy } from './standby.js';

export const replicaSync = standbyStrategy('replica-sync', 'a synchronous standby (every commit waits for it: synchronous_standby_names, MariaDB semi-sync); recovery promotes it', { sync: true, delayed: false });
