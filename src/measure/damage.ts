import type { DamageResult } from '../journal/types.js';

export interface DamageInput {
  table: string;
  /** Row identity → content hash of every row the fault touched, taken just before it. */
  before: ReadonlyMap<string, string>;
  /** The same fingerprints of the restored table, or null when the table is not there. */
  after: ReadonlyMap<string, string> | null;
  /**
   * Ids of the rows lost writes created. A damaged row whose key starts with one of them
   * (`[id]` in orders, `[id, line]` in order_items) is missing because its write was lost,
   * which the RPO already counts.
   */
  createdByLostWrites: ReadonlySet<number>;
}

/** Was the fault's damage undone? Every touched row must be back as it was, unless a lost write made it. */
export function assessDamage(input: DamageInput): DamageResult {
  let restored = 0;
  let explained = 0;
  for (const [identity, hash] of input.before) {
    if (input.after?.get(identity) === hash) restored++;
    else if (input.createdByLostWrites.has(leadingKey(identity) ?? NaN)) explained++;
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

/** First component of a `[a, b, ...]` row identity, when it is a number. */
function leadingKey(identity: string): number | undefined {
  const match = /^\[\s*(-?\d+)\s*[,\]]/.exec(identity);
  return match ? Number(match[1]) : undefined;
}
