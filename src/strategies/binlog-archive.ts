import type { ChildProcess } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ServerPoint } from '../engines/engine.js';
import { mariadbClientArgs, mariadbEnv } from '../engines/mariadb-binaries.js';
import { formatBinlogPosition, parseBinlogPosition, type BinlogPosition } from '../engines/mariadb.js';
import type { RecoveryRecord } from '../journal/types.js';
import type { StartedDatabaseInstance } from '../providers/provider.js';
import { waitUntil } from '../providers/readiness.js';
import { waitForExit } from '../util/exec.js';
import { mariadbTool, withSession } from './mariadb-tools.js';
import type { RecoveryTarget, StrategyContext } from './strategy.js';

/** Where archived binlogs live in the storage location. */
export const BINLOG_PREFIX = 'mysql-binlog';
const CATCH_UP_MS = 60_000;
// The streamer registers as a replica; its id must differ from every server's (the source is 1).
const STREAMER_SERVER_ID = 7_310_001;

interface BinaryLog {
  Log_name: string;
  File_size: string;
}

const sizeOf = (path: string) => stat(path).then((info) => info.size, () => -1);

/**
 * Continuous binlog archiving: `mariadb-binlog --read-from-remote-server --raw --stop-never`
 * receives every binlog file from the source as a replica would, from before the backup until
 * the fault is detected. A streamer and not a copy out of the datadir, because it is what binlog
 * backup servers do in production and works over the network: it archives exactly what an
 * operator would have had if the source's disk were gone. Closed files it receives are
 * byte-identical to the server's. It streams into the drill's scratch space and the closed files
 * are stored after detection (a remote location would want each file stored as it closes).
 */
export class BinlogArchive {
  private constructor(
    private readonly staging: string,
    private readonly child: ChildProcess,
    private readonly logFile: string,
    private readonly stop: () => Promise<void>,
  ) {}

  /** Starts streaming from the source's oldest binlog; resolves once the first file arrives. */
  static async start(context: StrategyContext): Promise<BinlogArchive> {
    const { source, exec, workDir, providerContext } = context;
    const staging = join(workDir, 'binlog-stream');
    const logFile = join(workDir, 'binlog-stream.log');
    await mkdir(staging, { recursive: true });
    const [first] = await withSession(context, source, (session) => session.query<BinaryLog>('SHOW BINARY LOGS'));
    if (!first) throw new Error(`the source's binary log is off (SHOW BINARY LOGS is empty): start it with the strategy's sourceSettings (log-bin, binlog-format=ROW, server-id)`);
    const child = await exec.spawnBackground(
      await mariadbTool(context, 'mariadb-binlog'),
      [...mariadbClientArgs(source.connection), '--read-from-remote-server', '--raw', '--stop-never', `--stop-never-slave-server-id=${STREAMER_SERVER_ID}`, `--result-file=${staging}/`, first.Log_name],
      { env: mariadbEnv(source.connection), logFile },
    );
    const stop = providerContext.resources.add('process', `mariadb-binlog pid ${child.pid} (binlog archive of ${source.name})`, async () => {
      child.kill('SIGTERM');
      await waitForExit(child);
    });
    const archive = new BinlogArchive(staging, child, logFile, stop);
    await waitUntil(async () => (await sizeOf(join(staging, first.Log_name))) > 0, {
      timeoutMs: CATCH_UP_MS,
      what: 'the binlog archive receiving its first file',
      failFast: () => archive.exitNotice(),
      signal: providerContext.signal,
    });
    return archive;
  }

  private exitNotice(): string | undefined {
    return this.child.exitCode === null && this.child.signalCode === null ? undefined : `mariadb-binlog exited (see ${this.logFile})`;
  }

  /**
   * What an operator does after detection: FLUSH BINARY LOGS closes the file holding the fault,
   * the archive catches up with every closed file (sizes equal the server's), streaming stops,
   * and the closed files go to the storage location.
   */
  async complete(context: StrategyContext): Promise<void> {
    const logs = await withSession(context, context.source, async (session) => {
      await session.query('FLUSH BINARY LOGS');
      return session.query<BinaryLog>('SHOW BINARY LOGS');
    });
    const closed = logs.slice(0, -1);
    await waitUntil(
      async () => {
        for (const log of closed) if ((await sizeOf(join(this.staging, log.Log_name))) !== Number(log.File_size)) return false;
        return true;
      },
      { timeoutMs: CATCH_UP_MS, what: 'the binlog archive catching up with the source', failFast: () => this.exitNotice(), signal: context.providerContext.signal },
    );
    await this.stop();
    for (const log of closed) await context.storage.put(`${BINLOG_PREFIX}/${log.Log_name}`, join(this.staging, log.Log_name));
  }
}

const sequenceOf = (name: string) => Number(/\.(\d+)$/.exec(name)?.[1] ?? NaN);

/** Archived binlog names from `first` on, stopping at the first gap in the sequence (a lost file ends the usable archive). */
async function archivedFrom(context: StrategyContext, first: string): Promise<string[]> {
  const names = (await context.storage.list(BINLOG_PREFIX))
    .map((key) => basename(key))
    .filter((name) => !Number.isNaN(sequenceOf(name)))
    .sort((a, b) => sequenceOf(a) - sequenceOf(b));
  const files: string[] = [];
  for (const name of names) {
    if (sequenceOf(name) < sequenceOf(first)) continue;
    if (sequenceOf(name) !== sequenceOf(first) + files.length) break;
    files.push(name);
  }
  return files;
}

/** The GTID of the event group starting at `pos` (`--stop-position` one byte later prints just that event). */
async function gtidAt(context: StrategyContext, file: string, pos: number): Promise<string | undefined> {
  const { stdout } = await context.exec.run(await mariadbTool(context, 'mariadb-binlog'), ['--no-defaults', `--start-position=${pos}`, `--stop-position=${pos + 1}`, file]);
  return /\bGTID (\d+-\d+-\d+)/.exec(stdout)?.[1];
}

/** Where to stop, in mariadb-binlog's terms, and how to describe it. */
function stopOf(target: RecoveryTarget, faultPoint: ServerPoint | undefined): { stop?: BinlogPosition; args: string[]; method: string } {
  if (target.kind === 'latest') return { args: [], method: 'replay every archived binlog (latest)' };
  if (target.kind === 'time') {
    // mariadb-binlog reads --stop-datetime in its own time zone (TZ=UTC for the run), and
    // binlog events carry whole seconds: this target is only as fine as a second.
    const utc = new Date(target.time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
    return { args: [`--stop-datetime=${utc}`], method: `--stop-datetime='${utc}' UTC (binlog event times have one-second resolution)` };
  }
  if (!faultPoint?.position) throw new Error('the fault recorded no binlog position, so "before-fault" cannot be targeted exactly; is the source\'s binary log on?');
  return {
    stop: parseBinlogPosition(faultPoint.position),
    args: [],
    method: `binlog replay to ${faultPoint.position} exclusive (stop just before the fault's transaction${faultPoint.transaction ? ` ${faultPoint.transaction}` : ''})`,
  };
}

/**
 * Point-in-time recovery: replays archived binlogs into a restored instance from the backup's
 * coordinates (`from`) up to the target, through `mariadb-binlog | mariadb` (via a file, so both
 * commands are in the runbook), as the drill's `fetch` and `replay` phases. "Before the fault" is the fault's binlog position, taken under the
 * barrier: the byte where the fault's first event group starts. The GTID found there must be the
 * fault's, or the restore says it did not reach its target.
 */
export async function replayBinlogs(
  context: StrategyContext,
  instance: StartedDatabaseInstance,
  from: string,
  target: RecoveryTarget,
  faultPoint: ServerPoint | undefined,
): Promise<Omit<RecoveryRecord, 'target'>> {
  const start = parseBinlogPosition(from);
  const { stop, args, method } = stopOf(target, faultPoint);
  const files = (await archivedFrom(context, start.file)).filter((name) => !stop || sequenceOf(name) <= sequenceOf(stop.file));
  if (files.length === 0) {
    return { method, reached: false, detail: `the archive has no ${start.file}, where the backup ends: opened at the end of the backup` };
  }
  const paths = await context.phase('fetch', () => Promise.all(files.map((name) => context.storage.fetch(`${BINLOG_PREFIX}/${name}`, context.workDir))));
  const lastPath = paths[paths.length - 1]!;
  const stopCovered = stop !== undefined && files[files.length - 1] === stop.file && (await sizeOf(lastPath)) >= stop.pos;
  const replay = join(context.workDir, 'binlog-replay.sql');
  const gtid = await context.phase('replay', async () => {
    await context.exec.run(
      await mariadbTool(context, 'mariadb-binlog'),
      ['--no-defaults', `--start-position=${start.pos}`, ...(stopCovered ? [`--stop-position=${stop.pos}`] : []), ...args, `--result-file=${replay}`, ...paths],
      { env: { TZ: 'UTC' } },
    );
    await context.exec.run(await mariadbTool(context, 'mariadb'), mariadbClientArgs(instance.connection), { stdinFile: replay, env: mariadbEnv(instance.connection) });
    return stopCovered ? gtidAt(context, lastPath, stop.pos) : undefined;
  });

  const replayed = `replayed ${files.join(', ')} from ${from}`;
  if (!stop) return { method, reached: target.kind === 'latest' ? true : null, detail: replayed };
  if (!stopCovered) {
    return { method, reached: false, detail: `the archive ends before ${formatBinlogPosition(stop)} (last file ${files[files.length - 1]}): ${replayed} to its end` };
  }
  if (faultPoint?.transaction && gtid !== faultPoint.transaction) {
    return { method, reached: false, detail: `${replayed}; the event group at ${formatBinlogPosition(stop)} is ${gtid ?? 'not a transaction'}, not the fault's ${faultPoint.transaction}` };
  }
  return { method, reached: true, detail: `${replayed} to ${formatBinlogPosition(stop)}, where the fault's transaction ${gtid} begins` };
}
