import type { StartedInstance } from '../providers/provider.js';
import { DrillSetupError } from '../util/errors.js';
import { shellQuote } from '../util/exec.js';
import type { LocatedChanges, RowChange, SqlSession } from './engine.js';
import { parseLocated } from './log-locate.js';

/** The heap records of each change, as pg_waldump's `desc:` names them (a HOT update is an update). */
const RECORDS: Record<RowChange, string> = { delete: '^DELETE', update: '^(HOT_)?UPDATE' };

/**
 * pg_waldump names a relation `tablespace/database/filenode`; a table in the default
 * tablespace (OID 1663) has its file at `base/<database>/<filenode>`.
 */
function relationOf(filePath: string): string {
  const match = /^base\/(\d+)\/(\d+)$/.exec(filePath);
  if (!match) throw new DrillSetupError(`the table's file ${filePath} is not in the default tablespace`, 'move the table to pg_default, or locate the bad transaction by hand with pg_waldump --relation');
  return `1663/${match[1]}/${match[2]}`;
}

/**
 * One pipeline a responder can paste: pg_waldump over pg_wal from `start` (the oldest segment
 * still there) to the flushed end (a start segment alone would stop at that segment's end, and
 * reading past the end fails), and awk counting each transaction's records on the table's
 * file, printing it at its commit: `xid rows commit-lsn commit-time`. The awk program is
 * double-quoted so the whole pipeline stays one single-quoted `sh -c` argument in the journal.
 */
export function waldumpPipeline(bin: string, walDir: string, start: string, end: string, relation: string, change: RowChange): string {
  const awk = [
    'match(\\$0, /tx: +[0-9]+/) { tx = substr(\\$0, RSTART + 4, RLENGTH - 4) + 0 }',
    'match(\\$0, /desc: .*/) { desc = substr(\\$0, RSTART + 6) }',
    'desc ~ change && \\$0 ~ rel { rows[tx]++ }',
    '/^rmgr: Transaction/ && desc ~ /^COMMIT/ && (tx in rows) {',
    '  match(\\$0, /lsn: [0-9A-F]+\\/[0-9A-F]+/); lsn = substr(\\$0, RSTART + 5, RLENGTH - 5)',
    '  t = substr(desc, 8); if (match(t, /;/)) t = substr(t, 1, RSTART - 1)',
    '  print tx, rows[tx], lsn, t; delete rows[tx]',
    '}',
  ].join('\n  ');
  return `${shellQuote(`${bin}/pg_waldump`)} --path=${shellQuote(walDir)} --start=${start} --end=${end} | awk -v rel="rel ${relation}[ ,]" -v change="${RECORDS[change]}" "\n  ${awk}"`;
}

/** The LSN a segment file begins at: its name is timeline, high 32 bits, and segment number within them. */
export function segmentStart(name: string, segmentBytes: number): string {
  const high = parseInt(name.slice(8, 16), 16);
  const low = parseInt(name.slice(16, 24), 16) * segmentBytes;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

export async function locatePostgresChanges(instance: StartedInstance, session: SqlSession, filePath: string, change: RowChange): Promise<LocatedChanges> {
  const [row] = await session.query<{ first: string | null; bytes: string; lsn: string }>(
    `SELECT (SELECT min(name) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$') AS first,
            (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS bytes, pg_current_wal_flush_lsn()::text AS lsn`,
  );
  if (!row?.first) return { transactions: [], searched: 'pg_wal, which holds no WAL segment' };
  const bin = (await instance.run('pg_config', ['--bindir'], { quiet: true })).stdout.trim();
  const start = segmentStart(row.first, Number(row.bytes));
  const pipeline = waldumpPipeline(bin, `${instance.paths.data}/pg_wal`, start, row.lsn, relationOf(filePath), change);
  return { transactions: parseLocated((await instance.run('sh', ['-c', pipeline])).stdout), searched: `pg_wal from ${start} to ${row.lsn}` };
}
