import { join } from 'node:path';
import { pairByKey } from '../measure/damage.js';
import { DrillSetupError } from '../util/errors.js';
import type { FaultContext, FaultOutcome } from './fault.js';
import { RowSpool } from './row-spool.js';

/**
 * Runs damaging statements in one transaction behind the barrier and records exactly which
 * rows of `table` they changed or removed (fingerprints before, paired with those after, in the
 * same transaction), so the verify phase can tell whether the damage was undone. The source is
 * captured for the equality proof at the fault's point, before the damage. Both lists of rows
 * go through files of the work directory: a fault may touch every row of a very large table.
 */
export async function damageTable(context: FaultContext, table: string | undefined, statements: readonly string[], description: string): Promise<FaultOutcome> {
  const { engine, session } = context;
  if (table && !(await engine.tableExists(session, table))) {
    const known = await engine.listTables(session);
    throw new DrillSetupError(`the fault's table "${table}" does not exist in the dataset`, `tables: ${known.join(', ')}`);
  }
  let damaged: RowSpool | undefined;
  let before: RowSpool | undefined;
  try {
    const point = await engine.faultTransaction(
      session,
      async (tx) => {
        if (table) before = await RowSpool.copy(join(context.workDir, 'fault-rows-before.jsonl'), engine.rowFingerprints(tx, table));
        for (const statement of statements) await tx.query(statement);
        if (!table || !before) return;
        const after = (await engine.tableExists(tx, table)) ? engine.rowFingerprints(tx, table) : null;
        const rows = before;
        damaged = await RowSpool.write(join(context.workDir, 'fault-rows-damaged.jsonl'), (add) =>
          pairByKey(rows.read(), after, (row, now) => (now?.hash === row.hash ? undefined : add(row))),
        );
      },
      () => context.capture(),
    );
    context.log.info({ point, rows: damaged?.rows }, 'fault injected');
    return { description, point, source: { state: 'running' }, ...(table && damaged ? { damage: { table, rows: damaged } } : {}) };
  } catch (error) {
    await damaged?.remove();
    throw error;
  } finally {
    await before?.remove();
  }
}
