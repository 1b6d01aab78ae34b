import type { Engine, IntegrityResult, SqlSession } from './engine.js';

/**
 * Reads every row of every table (a count is a full scan): proves each table is readable after
 * a restore, and records the row counts in the check's detail. Both engines run it.
 */
export async function everyTableReadable(engine: Engine, session: SqlSession): Promise<IntegrityResult> {
  const tables = await engine.listTables(session);
  const counts: string[] = [];
  let failed = 0;
  for (const table of tables) {
    try {
      const [row] = await session.query<{ n: string }>(`SELECT COUNT(*) AS n FROM ${engine.quoteIdent(table)}`);
      counts.push(`${table}=${row!.n}`);
    } catch (error) {
      failed++;
      counts.push(`${table}: ${(error as Error).message}`);
    }
  }
  return {
    name: 'every table readable',
    passed: failed === 0,
    value: failed === 0 ? `${tables.length} tables` : `${failed} of ${tables.length} tables unreadable`,
    detail: counts.join(', '),
  };
}
