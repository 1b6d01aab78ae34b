import { badDelete } from './bad-delete.js';
import { badUpdate } from './bad-update.js';
import { binlogGap } from './binlog-gap.js';
import { corruptBackup } from './corrupt-backup.js';
import { corruptPage } from './corrupt-page.js';
import { diskLoss } from './disk-loss.js';
import { dropTable } from './drop-table.js';
import type { FaultDefinition } from './fault.js';
import { killPrimary } from './kill-primary.js';
import { missingBackup } from './missing-backup.js';
import { regionLoss } from './region-loss.js';
import { sql } from './sql.js';
import { truncate } from './truncate.js';
import { walGap } from './wal-gap.js';

/** Fault registry: a new fault is one file and one line here. */
export const faults = {
  'bad-delete': badDelete,
  'bad-update': badUpdate,
  'drop-table': dropTable,
  truncate,
  sql,
  'kill-primary': killPrimary,
  'disk-loss': diskLoss,
  'corrupt-page': corruptPage,
  'region-loss': regionLoss,
  'wal-gap': walGap,
  'binlog-gap': binlogGap,
  'corrupt-backup': corruptBackup,
  'missing-backup': missingBackup,
} satisfies Record<string, FaultDefinition>;

export type FaultKind = keyof typeof faults;
