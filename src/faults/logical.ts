import { createHash } from 'node:crypto';
import { DrillSetupError } from '../util/errors.js';
import type { FaultContext, FaultOutcome } from './fault.js';

/**
 * Runs damaging statements in one transaction behind the barrier and records exactly which
 * rows of `table` they changed or removed (fingerprints before, diffed against after, in the
 * same transaction), so the verify phase can tell whether the damage was undone. The source is
 * captured for the equality proof at the fault's point, before the damage.
 */
export async function damageTable(context: FaultContext, table: string | undefined, statements: readonly string[], description: string): Promise<FaultOutcome> {
  const { engine, session } = context;
  if (table && !(await engine.tableExists(session, table))) {
    const known = await engine.listTables(session);
    throw new DrillSetupError(`the fault's table "${table}" does not exist in the dataset`, `tables: ${known.join(', ')}`);
  }
  let damaged: Map<string, string> | undefined;
  const point = await engine.faultTransaction(
    session,
    async (tx) => {
      const before = table ? await engine.rowFingerprints(tx, table) : undefined;
      for (const statement of statements) await tx.query(statement);
      if (!table || !before) return;
      const after = (await engine.tableExists(tx, table)) ? await engine.rowFingerprints(tx, table) : new Map<string, string>();
      damaged = new Map([...before].filter(([identity, hash]) => after.get(identity) !== hash));
    },
    () => context.capture(),
  );
  context.log.info({ point, rows: damaged?.size }, 'fault injected');
  return { description, point, source: { state: 'running' }, ...(table && damaged ? { damage: { table, before: damaged } } : {}) };
}

/** Content hash of a set of row fingerprints, for the journal (the rows themselves stay out of it). */
export function fingerprintDigest(rows: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256');
  for (const key of [...rows.keys()].sort()) hash.update(`${key}=${rows.get(key)}\n`);
  return hash.digest('hex');
}
