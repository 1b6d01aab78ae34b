import { barmanStrategy } from './barman.js';
import { mariabackupBinlog } from './mariabackup-binlog.js';
import { mariabackup } from './mariabackup.js';
import { mysqldumpBinlog } from './mysqldump-binlog.js';
import { mysqldump } from './mysqldump.js';
import { pgBasebackupWal } from './pg-basebackup-wal.js';
import { pgBasebackup } from './pg-basebackup.js';
import { pgDump } from './pg-dump.js';
import { pgbackrestStrategy } from './pgbackrest.js';
import { replicaAsync } from './replica-async.js';
import { replicaDelayed } from './replica-delayed.js';
import { replicaSync } from './replica-sync.js';
import type { StrategyDefinition } from './strategy.js';

/** Strategy registry: a new strategy is one file and one line here. */
export const strategies = {
  'pg-dump': pgDump,
  'pg-basebackup': pgBasebackup,
  'pg-basebackup-wal': pgBasebackupWal,
  pgbackrest: pgbackrestStrategy,
  barman: barmanStrategy,
  mysqldump,
  'mysqldump-binlog': mysqldumpBinlog,
  mariabackup,
  'mariabackup-binlog': mariabackupBinlog,
  'replica-async': replicaAsync,
  'replica-sync': replicaSync,
  'replica-delayed': replicaDelayed,
} satisfies Record<string, StrategyDefinition>;

export type StrategyName = keyof typeof strategies;

/** The strategies that work with an engine, in registry order. */
export const strategiesFor = (engine: string): StrategyDefinition[] =>
  (Object.values(strategies) as StrategyDefinition[]).filter((strategy) => (strategy.engines as readonly string[]).includes(engine));
