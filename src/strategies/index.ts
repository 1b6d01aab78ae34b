import { pgBasebackupWal } from './pg-basebackup-wal.js';
import { pgBasebackup } from './pg-basebackup.js';
import { pgDump } from './pg-dump.js';
import type { StrategyDefinition } from './strategy.js';

/** Strategy registry: a new strategy is one file and one line here. */
export const strategies = {
  'pg-dump': pgDump,
  'pg-basebackup': pgBasebackup,
  'pg-basebackup-wal': pgBasebackupWal,
} satisfies Record<string, StrategyDefinition>;

export type StrategyName = keyof typeof strategies;
