import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { FINGERPRINT_BATCH, type RowFingerprint } from '../engines/engine.js';
import type { KeyOrderedRows } from '../measure/damage.js';

/**
 * Row fingerprints kept in a file of the drill's work directory, in key order, one JSON line a
 * row: a fault can touch every row of a table of tens of millions, more than fits in memory.
 */
export class RowSpool {
  private constructor(
    readonly file: string,
    /** Rows written. */
    readonly rows: number,
    /** sha256 of the rows' `key=hash` lines in key order, for the journal (the rows stay out of it). */
    readonly digest: string,
  ) {}

  /**
   * Writes the rows `fill` hands to `add`, in the order given (key order); resolves once they are
   * on disk. A failure removes the file.
   */
  static async write(file: string, fill: (add: (row: RowFingerprint) => Promise<void> | undefined) => Promise<void>): Promise<RowSpool> {
    const out = createWriteStream(file, { mode: 0o600 });
    const hash = createHash('sha256');
    let rows = 0;
    let pending = '';
    const flush = async () => {
      if (!out.write(pending)) await once(out, 'drain');
      pending = '';
    };
    try {
      await fill((row) => {
        rows++;
        hash.update(`${row.key}=${row.hash}\n`);
        pending += `${JSON.stringify([row.key, row.hash])}\n`;
        return pending.length >= 1 << 16 ? flush() : undefined;
      });
      if (pending) await flush();
      out.end();
      await once(out, 'finish');
    } catch (error) {
      out.destroy();
      await rm(file, { force: true });
      throw error;
    }
    return new RowSpool(file, rows, hash.digest('hex'));
  }

  /** Every row of a key-ordered list, as it comes. */
  static copy(file: string, rows: KeyOrderedRows): Promise<RowSpool> {
    return RowSpool.write(file, async (add) => {
      for await (const batch of rows) {
        for (const row of batch) {
          const written = add(row);
          if (written) await written;
        }
      }
    });
  }

  /** The rows again, in the order written. */
  async *read(): AsyncGenerator<RowFingerprint[]> {
    const lines = createInterface({ input: createReadStream(this.file), crlfDelay: Infinity });
    let batch: RowFingerprint[] = [];
    for await (const line of lines) {
      const [key, hash] = JSON.parse(line) as [string, string];
      batch.push({ key, hash });
      if (batch.length === FINGERPRINT_BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  remove(): Promise<void> {
    return rm(this.file, { force: true });
  }
}
