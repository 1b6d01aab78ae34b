import type { StartedInstance, StoppedInstance } from '../providers/provider.js';
import { sleep } from '../util/clock.js';
import { copyObjectsInto } from '../storage/transfer.js';
import type { StorageLocation } from '../storage/storage.js';
import { serverDirectory, sourceAnswers } from './source.js';
import type { SourceSetup, StrategyContext } from './strategy.js';

/** Where archived WAL segments live in a storage location. */
export const WAL_PREFIX = 'pg-wal';
const ARCHIVE_WAIT_MS = 60_000;
const SEGMENT_BYTES = 16 * 1024 * 1024;
const SEGMENT = /^[0-9A-F]{24}$/;

/** The byte position in the WAL of an LSN (`0/5A3C2B8`: the high and the low 32 bits). */
export function lsnBytes(lsn: string): bigint {
  const [high, low] = lsn.split('/').map((part) => BigInt(`0x${part}`));
  return (high! << 32n) + low!;
}

/** The WAL segment file an LSN (`0/5A3C2B8`) is in, with 16 MB segments. */
export function walSegmentOf(lsn: string, timeline = 1): string {
  const segment = lsnBytes(lsn) / BigInt(SEGMENT_BYTES);
  const hex = (value: bigint | number) => value.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(segment / 256n)}${hex(segment % 256n)}`;
}

/** The segment holding the last byte of WAL before `endLsn`: the last one a range ending there needs. */
export function lastWalSegmentBefore(endLsn: string, timeline = 1): string {
  const bytes = lsnBytes(endLsn);
  return walSegmentOf(`${((bytes - 1n) >> 32n).toString(16)}/${((bytes - 1n) & 0xffffffffn).toString(16)}`, timeline);
}

/** The segment after `name` on the same timeline. */
export function nextWalSegment(name: string): string {
  const timeline = name.slice(0, 8);
  const number = BigInt(`0x${name.slice(8, 16)}`) * 256n + BigInt(`0x${name.slice(16, 24)}`) + 1n;
  const hex = (value: bigint) => value.toString(16).toUpperCase().padStart(8, '0');
  return `${timeline}${hex(number / 256n)}${hex(number % 256n)}`;
}

/** The archive directory inside a storage location the server's archive_command copies into. */
const archiveDir = (storage: StorageLocation) => serverDirectory(storage, WAL_PREFIX, 'WAL archiving');

/**
 * An archive_command copying into `dir` that never overwrites an archived segment
 * (PostgreSQL's documented safe form) and copies under a temporary name, so a reader never
 * sees a half-written segment.
 */
export const copyArchiveCommand = (dir: string) => `test ! -f ${dir}/%f && cp %p ${dir}/%f.partial && mv ${dir}/%f.partial ${dir}/%f`;

/** archive_mode on, and each segment copied into the archive (`copyArchiveCommand`). */
export function walArchiveSetup(storage: StorageLocation): SourceSetup {
  const dir = archiveDir(storage);
  return { settings: { archive_mode: 'on', archive_command: copyArchiveCommand(dir) }, writable: [dir] };
}

/**
 * What an operator does first after a fault: close the current WAL segment so the last
 * commits reach the archive, and wait until they are there. A dead source ships nothing more:
 * the archive holds what the archiver had copied, and that is the real RPO.
 */
export async function switchAndArchive(context: StrategyContext): Promise<void> {
  if (!(await sourceAnswers(context))) {
    context.log.info('the source is down: the WAL archive holds what was archived before the fault');
    return;
  }
  const session = await context.engine.connect(context.source.connection);
  try {
    const [row] = await context.exec.step('on the source: SELECT pg_switch_wal(), then wait until pg_stat_archiver.last_archived_wal reaches that segment', () =>
      session.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment'),
    );
    const started = performance.now();
    for (;;) {
      const [status] = await session.query<{ last: string | null; failed: string | null }>('SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_stat_archiver');
      if (status!.last && status!.last >= row!.segment) break;
      if (performance.now() - started > ARCHIVE_WAIT_MS) {
        throw new Error(`WAL segment ${row!.segment} was not archived within ${ARCHIVE_WAIT_MS / 1000} s (last failed: ${status!.failed ?? 'none'}); check archive_command in the source's server log`);
      }
      await sleep(50);
    }
  } finally {
    await session.close();
  }
}

/** How long the archiver may keep failing, not one segment archived, before a backup waiting on it is given up. */
const ARCHIVER_STUCK_MS = 15_000;

/**
 * Runs a base backup that ends by waiting for its WAL to be archived (`--wal-method=none`),
 * watching the archiver: PostgreSQL waits for a failing archive_command for ever, so once it
 * has failed for ARCHIVER_STUCK_MS with nothing archived, the backup's server process is
 * terminated and the backup fails naming the segment and what the server said.
 */
export async function whileArchiving<T>(context: Pick<StrategyContext, 'source' | 'engine'>, backup: () => Promise<T>): Promise<T> {
  const session = await context.engine.connect(context.source.connection);
  let stuck: { segment: string; since: string } | undefined;
  let done = false;
  const watch = (async () => {
    let failingSince: number | undefined;
    while (!done) {
      const [status] = await session.query<{ failing: boolean; segment: string | null; since: string | null }>(
        `SELECT last_failed_time > coalesce(last_archived_time, '-infinity') AS failing, last_failed_wal AS segment, last_failed_time::text AS since FROM pg_stat_archiver`,
      );
      failingSince = status!.failing ? (failingSince ?? performance.now()) : undefined;
      if (failingSince !== undefined && performance.now() - failingSince >= ARCHIVER_STUCK_MS) {
        stuck = { segment: status!.segment!, since: status!.since! };
        await session.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'walsender' AND query LIKE 'BASE_BACKUP%'`);
        return;
      }
      await sleep(500);
    }
  })();
  try {
    return await backup().catch(async (error: unknown) => {
      if (!stuck) throw error;
      // The line with the exit code only: the next one quotes the command, which may hold credentials.
      const said = (await context.source.serverLog()).split('\n').filter((line) => /archive command failed/.test(line)).at(-1)?.replace(/^.*?LOG:\s+/, '') ?? '';
      throw new Error(
        `the base backup waited for WAL segment ${stuck.segment} to be archived, and archive_command has failed on it since ${stuck.since} without archiving anything` +
          `${said ? ` (server log: ${said.trim()})` : ''}; fix archive_command (target.settings) or the archive's storage, and run the drill again`,
      );
    });
  } finally {
    done = true;
    await watch.catch(() => undefined);
    await session.close();
  }
}

/** What the archive holds from a segment on: the segments in order up to the first gap, and the gap. */
export interface ArchivedWal {
  segments: string[];
  /** The first segment missing after which later ones exist: recovery cannot go past it. */
  gap?: string;
  /** The newest segment in the archive (past a gap too). */
  newest?: string;
}

/**
 * What the archive holds from `from` on. `needed`: the last segment the recovery target needs
 * (the one holding the fault): an archive that ends before it has a gap too, at its end.
 */
export async function archivedWal(storage: StorageLocation, from: string, needed?: string): Promise<ArchivedWal> {
  return walFrom((await storage.list(WAL_PREFIX)).map((key) => key.slice(key.lastIndexOf('/') + 1)), from, needed);
}

/** Of the file names of a WAL archive, the segments from `from` on up to the first gap (see `archivedWal`). */
export function walFrom(files: readonly string[], from: string, needed?: string): ArchivedWal {
  const names = files.filter((name) => SEGMENT.test(name) && name >= from).sort();
  const newest = names.length > 0 ? { newest: names[names.length - 1] } : {};
  const segments: string[] = [];
  let expected = from;
  for (const name of names) {
    if (name !== expected) return { segments, gap: expected, ...newest };
    segments.push(name);
    expected = nextWalSegment(name);
  }
  if (needed && expected <= needed) return { segments, gap: expected, ...newest };
  return { segments, ...newest };
}

/**
 * The archived segments a restore needs (from the backup's first one, up to a gap), and the
 * directory its restore_command copies them from: the archive itself where the instance sees
 * it (restore_command only reads), else a copy fetched beside the server.
 */
export async function fetchWal(context: StrategyContext, target: StoppedInstance | StartedInstance, from: string, needed?: string): Promise<ArchivedWal & { dir: string }> {
  const archived = await archivedWal(context.storage, from, needed);
  if (context.storage.directory) return { ...archived, dir: `${context.storage.directory}/${WAL_PREFIX}` };
  const dir = `${target.paths.scratch}/wal`;
  await context.phase('fetch', () => copyObjectsInto(target, context.storage, archived.segments.map((name) => `${WAL_PREFIX}/${name}`), dir, `${WAL_PREFIX}/ from ${from}`));
  return { ...archived, dir };
}
