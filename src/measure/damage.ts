import type { RowFingerprint } from '../engines/engine.js';
import type { DamageResult } from '../journal/types.js';

/** Rows in batches, ordered by key in byte order: a table's fingerprints as the engine reads them. */
export type KeyOrderedRows = AsyncIterable<readonly RowFingerprint[]>;

export interface DamageInput {
  table: string;
  /** Every row the fault touched, as it was just before, in key order. */
  before: KeyOrderedRows;
  /** The restored table's rows in key order, or null when the table is not there. */
  after: KeyOrderedRows | null;
  /**
   * Ids of the rows lost writes created. A damaged row whose key starts with one of them
   * (`[id]` in orders, `[id, line]` in order_items) is missing because its write was lost,
   * which the RPO already counts.
   */
  createdByLostWrites: ReadonlySet<number>;
}

/** Was the fault's damage undone? Every touched row must be back as it was, unless a lost write made it. */
export async function assessDamage(input: DamageInput): Promise<DamageResult> {
  let affected = 0;
  let restored = 0;
  let explained = 0;
  await pairByKey(input.before, input.after, (row, counterpart) => {
    affected++;
    if (counterpart?.hash === row.hash) restored++;
    else if (input.createdByLostWrites.has(leadingKey(row.key) ?? NaN)) explained++;
  });
  const missing = affected - restored;
  return {
    table: input.table,
    affectedRows: affected,
    restoredRows: restored,
    missingRows: missing,
    explainedByLostWrites: explained,
    tablePresent: input.after !== null,
    undone: input.after !== null && missing === explained,
  };
}

/**
 * Walks `left` row by row, each with the row of the same key in `right` (or none), holding one
 * batch of each in memory: both come in key order, so one pass over each pairs them. A row
 * repeated under one key counts once (a table without a primary key is keyed by content).
 */
export async function pairByKey(left: KeyOrderedRows, right: KeyOrderedRows | null, visit: (row: RowFingerprint, counterpart: RowFingerprint | undefined) => Promise<void> | undefined | void): Promise<void> {
  const lefts = new OrderedCursor(left, 'first');
  const rights = right ? new OrderedCursor(right, 'second') : undefined;
  try {
    let counterpart = await rights?.next();
    for (let row = await lefts.next(); row; row = await lefts.next()) {
      while (counterpart && compareKeys(counterpart.key, row.key) < 0) counterpart = await rights!.next();
      const visited = visit(row, counterpart?.key === row.key ? counterpart : undefined);
      if (visited) await visited;
    }
  } finally {
    await Promise.all([lefts.close(), rights?.close()]);
  }
}

/** A key-ordered stream of rows read one at a time, refusing rows out of order. */
class OrderedCursor {
  private batch: readonly RowFingerprint[] = [];
  private index = 0;
  private readonly batches: AsyncIterator<readonly RowFingerprint[]>;
  private last: RowFingerprint | undefined;
  private ended = false;

  constructor(
    rows: KeyOrderedRows,
    private readonly which: string,
  ) {
    this.batches = rows[Symbol.asyncIterator]();
  }

  /** The next row with a new key, or undefined at the end; a batch is read only when the last is used up. */
  async next(): Promise<RowFingerprint | undefined> {
    for (;;) {
      while (this.index >= this.batch.length) {
        const next = this.ended ? { done: true as const, value: undefined } : await this.batches.next();
        if (next.done) {
          this.ended = true;
          return undefined;
        }
        this.batch = next.value;
        this.index = 0;
      }
      const row = this.batch[this.index++]!;
      const previous = this.last;
      if (previous !== undefined) {
        const order = compareKeys(previous.key, row.key);
        if (order === 0) continue;
        // Pairing by a merge is only exact if both sides come in the same order: never guess.
        if (order > 0) throw new Error(`the ${this.which} list of rows is not in key order (a key came after a greater one), so the rows cannot be paired: is the database's encoding UTF8?`);
      }
      this.last = row;
      return row;
    }
  }

  async close(): Promise<void> {
    if (!this.ended) await this.batches.return?.();
  }
}

/** Byte order of the keys' UTF-8, which is code point order: what the engines sort by. */
export function compareKeys(a: string, b: string): number {
  // UTF-16 order is code point order unless a surrogate pair meets U+E000..U+FFFF.
  if (!SURROGATE_OR_HIGH.test(a) && !SURROGATE_OR_HIGH.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
const SURROGATE_OR_HIGH = /[\uD800-\uFFFF]/;

/** First component of a `[a, b, ...]` row identity, when it is a number. */
function leadingKey(identity: string): number | undefined {
  const match = /^\[\s*(-?\d+)\s*[,\]]/.exec(identity);
  return match ? Number(match[1]) : undefined;
}
