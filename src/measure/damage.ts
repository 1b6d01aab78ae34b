import type { DamageResult } from '../journal/types.js';

export interface DamageInput {
  table: string;
  /** Row identity → content hash of every row the fault touched, taken just before it. */
  before: ReadonlyMap<string, string>;
  /** The same fingerprints of the restored table, or null when the table is not there. */
  after: ReadonlyMap<string, string> | null;
  /** Identities of rows that lost writes created (`[id]`): their absence is already counted as RPO. */
  createdByLostWrites: ReadonlySet<string>;
}

/** Was the fault's damage undone? Every touched row must be back as it was, unless a lost write made it. */
export function assessDamage(input: DamageInput): DamageResult {
  let restored = 0;
  let explained = 0;
  for (const [identity, hash] of input.before) {
    if (input.after?.get(identity) === hash) restored++;
    else if (input.createdByLostWrites.has(identity)) explained++;
  }
  const missing = input.before.size - restored;
  return {
    table: input.table,
    affectedRows: input.before.size,
    restoredRows: restored,
    missingRows: missing,
    explainedByLostWrites: explained,
    tablePresent: input.after !== null,
    undone: input.after !== null && missing === explained,
  };
}
