import { badDelete } from './bad-delete.js';
import { badUpdate } from './bad-update.js';
import { dropTable } from './drop-table.js';
import type { FaultDefinition } from './fault.js';
import { sql } from './sql.js';
import { truncate } from './truncate.js';

/** Fault registry: a new fault is one file and one line here. */
export const faults = {
  'bad-delete': badDelete,
  'bad-update': badUpdate,
  'drop-table': dropTable,
  truncate,
  sql,
} satisfies Record<string, FaultDefinition>;

export type FaultKind = keyof typeof faults;
