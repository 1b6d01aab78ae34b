import type { StartedInstance } from '../providers/provider.js';
import { shellQuote } from '../util/exec.js';
import type { LocatedChanges, RowChange, SqlSession } from './engine.js';
import { parseLocated } from './log-locate.js';

/** How mariadb-binlog --verbose prints each row of each change. */
const ROW_LINES: Record<RowChange, string> = { delete: 'DELETE FROM', update: 'UPDATE' };

/**
 * One pipeline a responder can paste: mariadb-binlog decoding the row events of every binlog
 * file, and awk counting each transaction's rows of the table, printing it at its COMMIT:
 * `gtid rows file:start-position time`. The start position is where a replay stops before it
 * (`--stop-position`); a Rotate event says when the next file begins. Backquotes of the table
 * name are matched by `.`, so the program stays inside one double-quoted shell word.
 */
export function binlogPipeline(dir: string, files: readonly string[], database: string, table: string, change: RowChange): string {
  const name = (identifier: string) => identifier.replace(/\W/g, '.');
  const awk = [
    '/^# at [0-9]+/ { at = \\$3 }',
    '/Rotate to / { file = \\$(NF - 2) }',
    '/GTID [0-9]+-[0-9]+-[0-9]+/ { match(\\$0, /GTID [0-9]+-[0-9]+-[0-9]+/); gtid = substr(\\$0, RSTART + 5, RLENGTH - 5); start = file \\":\\" at; when = substr(\\$0, 2, 15) }',
    '\\$0 ~ row { rows[gtid]++ }',
    '/^COMMIT/ && (gtid in rows) { print gtid, rows[gtid], start, when; delete rows[gtid] }',
  ].join('\n  ');
  return [
    `cd ${shellQuote(dir)}`,
    `mariadb-binlog --no-defaults --base64-output=decode-rows --verbose ${files.map(shellQuote).join(' ')} | awk -v file=${shellQuote(files[0]!)} -v row="^### ${ROW_LINES[change]} .${name(database)}.[.].${name(table)}.$" "\n  ${awk}"`,
  ].join('\n');
}

export async function locateMariadbChanges(instance: StartedInstance, session: SqlSession, table: string, change: RowChange): Promise<LocatedChanges> {
  const [where] = await session.query<{ base: string; db: string }>('SELECT @@log_bin_basename AS base, DATABASE() AS db');
  const logs = await session.query<{ Log_name: string }>('SHOW BINARY LOGS');
  const dot = table.indexOf('.');
  const [database, name] = dot < 0 ? [where!.db, table] : [table.slice(0, dot), table.slice(dot + 1)];
  const dir = where!.base.slice(0, where!.base.lastIndexOf('/'));
  const files = logs.map((log) => log.Log_name);
  const { stdout } = await instance.run('sh', ['-c', binlogPipeline(dir, files, database, name, change)]);
  return { transactions: parseLocated(stdout), searched: files.length > 1 ? `the binlogs ${files[0]} to ${files.at(-1)}` : `the binlog ${files[0]}` };
}
