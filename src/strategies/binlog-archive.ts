import { PassThrough } from 'node:stream';
import type { ServerPoint } from '../engines/engine.js';
import { formatBinlogPosition, parseBinlogPosition, type BinlogPosition } from '../engines/mariadb.js';
import type { RecoveryRecord } from '../journal/types.js';
import type { BackgroundProcess, StartedInstance } from '../providers/provider.js';
import { waitUntil } from '../providers/readiness.js';
import { copyObjectsInto } from '../storage/transfer.js';
import type { StorageLocation } from '../storage/storage.js';
import { BINLOG_SETTINGS, withSession } from './mariadb-tools.js';
import { serverDirectory, sourceAnswers } from './source.js';
import type { ArchiveDescription, RecoverResult, RecoveryTarget, SourceSetup, StrategyContext } from './strategy.js';

/** Where archived binlogs live in the storage location. */
export const BINLOG_PREFIX = 'mysql-binlog';

/** The binlog archive, as backup-chain faults see it. */
export const BINLOG_ARCHIVE: ArchiveDescription = { prefix: BINLOG_PREFIX, file: 'binlog', fileOf: (position) => parseBinlogPosition(position).file };
const CATCH_UP_MS = 60_000;
// The streamer registers as a replica; its id must differ from every server's (the source is 1).
const STREAMER_SERVER_ID = 7_310_001;

interface BinaryLog {
  Log_name: string;
  File_size: string;
}

const archiveDir = (storage: StorageLocation) => serverDirectory(storage, BINLOG_PREFIX, 'binlog archiving');

/** The binary log on, and the archive directory the streamer (the server's account) writes into. */
export function binlogArchiveSetup(storage: StorageLocation): SourceSetup {
  return { settings: BINLOG_SETTINGS, writable: [archiveDir(storage)] };
}

const sizeIn = async (storage: StorageLocation, name: string) => (await storage.stat(`${BINLOG_PREFIX}/${name}`))?.sizeBytes ?? -1;

/**
 * Continuous binlog archiving: `mariadb-binlog --read-from-remote-server --raw --stop-never`
 * receives every binlog file from the source as a replica would, from before the backup until
 * the fault is detected, straight into the archive. A streamer and not a copy out of the
 * datadir, because it is what binlog backup servers do in production and works over the
 * network: it archives exactly what an operator would have had if the source's disk were gone
 * (the file being written included). Closed files it receives are byte-identical to the server's.
 */
export class BinlogArchive {
  private constructor(private streamer: BackgroundProcess) {}

  /** Streams from `from` on into the archive; resolves once that file is arriving. */
  private static async stream(context: StrategyContext, from: string): Promise<BackgroundProcess> {
    const { source, engine, archive } = context;
    const streamer = await source.spawn(
      'mariadb-binlog',
      [...engine.clientArgs(source.localConnection), '--read-from-remote-server', '--raw', '--stop-never', `--stop-never-slave-server-id=${STREAMER_SERVER_ID}`, `--result-file=${archiveDir(archive)}/`, from],
      { logFile: `${source.paths.scratch}/binlog-stream.log`, env: engine.clientEnv(source.localConnection) },
    );
    await waitUntil(async () => (await sizeIn(archive, from)) > 0, {
      timeoutMs: CATCH_UP_MS,
      what: 'the binlog archive receiving its first file',
      failFast: async () => ((await streamer.isRunning()) ? undefined : `mariadb-binlog exited (see ${source.paths.scratch}/binlog-stream.log)`),
      signal: context.providerContext.signal,
    });
    return streamer;
  }

  /** Starts streaming from the source's oldest binlog; resolves once the first file arrives. */
  static async start(context: StrategyContext): Promise<BinlogArchive> {
    const [first] = await withSession(context, context.source, (session) => session.query<BinaryLog>('SHOW BINARY LOGS'));
    if (!first) throw new Error(`the source's binary log is off (SHOW BINARY LOGS is empty): start it with log-bin, binlog-format=ROW and a server-id`);
    return new BinlogArchive(await BinlogArchive.stream(context, first.Log_name));
  }

  /**
   * What an operator does after detection: FLUSH BINARY LOGS closes the file holding the fault,
   * the archive catches up with every closed file (sizes equal the server's), and streaming
   * stops. A dead source flushes nothing: the archive holds what the streamer had received.
   */
  async complete(context: StrategyContext): Promise<void> {
    if (await sourceAnswers(context)) {
      // A streamer loses its server when the server restarts (a damaged page found on a
      // restart): as a binlog server would, it reconnects, from the newest file it has.
      if (!(await this.streamer.isRunning())) {
        const names = (await context.archive.list(BINLOG_PREFIX)).map((key) => key.slice(key.lastIndexOf('/') + 1)).filter((name) => !Number.isNaN(sequenceOf(name)));
        const newest = names.sort((a, b) => sequenceOf(a) - sequenceOf(b)).at(-1);
        if (newest) this.streamer = await BinlogArchive.stream(context, newest);
      }
      const logs = await context.exec.step('on the source: FLUSH BINARY LOGS, then wait until the archive holds every closed binlog at its full size', () =>
        withSession(context, context.source, async (session) => {
          await session.query('FLUSH BINARY LOGS');
          return session.query<BinaryLog>('SHOW BINARY LOGS');
        }),
      );
      await waitUntil(
        async () => {
          for (const log of logs.slice(0, -1)) if ((await sizeIn(context.archive, log.Log_name)) !== Number(log.File_size)) return false;
          return true;
        },
        { timeoutMs: CATCH_UP_MS, what: 'the binlog archive catching up with the source', failFast: async () => ((await this.streamer.isRunning()) ? undefined : 'mariadb-binlog exited'), signal: context.providerContext.signal },
      );
    }
    await this.streamer.stop();
  }
}

const sequenceOf = (name: string) => Number(/\.(\d+)$/.exec(name)?.[1] ?? NaN);

/**
 * Archived binlog names from `first` on, up to the first gap in the sequence (a lost file ends the
 * usable archive), and the gap. `first` itself gone is a gap too, also when no later file is there
 * (the backup ended in the newest binlog): the archive must hold the file its backup ends in.
 */
async function archivedFrom(storage: StorageLocation, first: string, prefix: string): Promise<{ files: string[]; gap?: string; newest?: string }> {
  const names = (await storage.list(prefix))
    .map((key) => key.slice(key.lastIndexOf('/') + 1))
    .filter((name) => !Number.isNaN(sequenceOf(name)) && sequenceOf(name) >= sequenceOf(first))
    .sort((a, b) => sequenceOf(a) - sequenceOf(b));
  const files: string[] = [];
  for (const name of names) {
    if (sequenceOf(name) !== sequenceOf(first) + files.length) {
      const missing = `${first.replace(/\d+$/, '')}${String(sequenceOf(first) + files.length).padStart(first.length - first.lastIndexOf('.') - 1, '0')}`;
      return { files, gap: missing, newest: names[names.length - 1] };
    }
    files.push(name);
  }
  return names.length > 0 ? { files, newest: names[names.length - 1] } : { files, gap: first };
}

/** Where to stop, in mariadb-binlog's terms, and how to describe it. */
function stopOf(target: RecoveryTarget, faultPoint: ServerPoint): { stop?: BinlogPosition; time?: string; args: string[]; method: string } {
  if (target.kind === 'latest') return { args: [], method: 'replay every archived binlog (latest)' };
  if (target.kind === 'time') {
    // mariadb-binlog reads --stop-datetime in its own time zone (TZ=UTC for the run), and
    // binlog events carry whole seconds: this target is only as fine as a second.
    const utc = new Date(target.time).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
    return { time: utc, args: [`--stop-datetime=${utc}`], method: `--stop-datetime='${utc}' UTC (binlog event times have one-second resolution)` };
  }
  if (!faultPoint.position) throw new Error('the fault recorded no binlog position, so "before-fault" cannot be targeted exactly; is the source\'s binary log on?');
  return {
    stop: parseBinlogPosition(faultPoint.position),
    args: [],
    method: `binlog replay to ${faultPoint.position} exclusive (stop just before the fault's transaction${faultPoint.transaction ? ` ${faultPoint.transaction}` : ''})`,
  };
}

/**
 * Point-in-time recovery: fetches the archived binlogs from the backup's coordinates (`from`)
 * into the restored instance's own directory and replays them up to the target through
 * `mariadb-binlog | mariadb`, as the drill's `fetch` and `replay` phases. "Before the fault" is
 * the fault's binlog position, taken under the barrier: the byte where the fault's first event
 * group starts. The GTID found there must be the fault's, or the restore did not reach its target.
 */
export async function replayBinlogs(
  context: Pick<StrategyContext, 'storage' | 'engine' | 'phase'>,
  instance: StartedInstance,
  from: string,
  target: RecoveryTarget,
  faultPoint: ServerPoint,
  prefix = BINLOG_PREFIX,
): Promise<Pick<RecoverResult, 'recovery' | 'replayedBytes'>> {
  const start = parseBinlogPosition(from);
  const { stop, time, args, method } = stopOf(target, faultPoint);
  const point: RecoveryRecord['point'] = target.kind === 'before-fault' ? 'fault' : target.kind;
  const archived = await archivedFrom(context.storage, start.file, prefix);
  const gapRecord = archived.gap ? { gap: { what: `binlog ${archived.gap}`, location: context.storage.name } } : {};
  const gapText = archived.gap ? `binlog ${archived.gap} is missing from archive "${context.storage.name}"${archived.newest ? ` (later files up to ${archived.newest} are there)` : ''}; ` : '';
  const files = archived.files.filter((name) => !stop || sequenceOf(name) <= sequenceOf(stop.file));
  if (files.length === 0) {
    return { recovery: { method, reached: false, point, detail: `${gapText}nothing can be replayed from ${from}, where the backup ends: opened at the end of the backup`, ...gapRecord } };
  }
  // Read where they are when the instance sees the archive (the tools only read), else fetched beside it.
  const dir = context.storage.directory ? `${context.storage.directory}/${prefix}` : `${instance.paths.scratch}/binlogs`;
  if (!context.storage.directory) {
    await context.phase('fetch', () => copyObjectsInto(instance, context.storage, files.map((name) => `${prefix}/${name}`), dir, `${prefix}/ from ${start.file}`));
  }
  const paths = files.map((name) => `${dir}/${name}`);
  const sizes = await Promise.all(files.map(async (name) => (await context.storage.stat(`${prefix}/${name}`))?.sizeBytes ?? 0));
  const lastSize = sizes[sizes.length - 1]!;
  const stopCovered = stop !== undefined && files[files.length - 1] === stop.file && lastSize >= stop.pos;
  // What the replay reads and applies: from the backup's position to the stop, not the files'
  // whole bytes (the first holds the seed before the backup, the last the fault and what followed).
  const replayedBytes = sizes.reduce((sum, size) => sum + size, 0) - (files[0] === start.file ? start.pos : 0) - (stopCovered ? lastSize - stop.pos : 0);
  const { engine } = context;
  const gtid = await context.phase('replay', async () => {
    const pipe = new PassThrough();
    await Promise.all([
      instance.run('mariadb-binlog', ['--no-defaults', `--start-position=${start.pos}`, ...(stopCovered ? [`--stop-position=${stop.pos}`] : []), ...args, ...paths], {
        env: { TZ: 'UTC' },
        stdout: { stream: pipe, describe: '| the next command' },
      }),
      instance.run('mariadb', engine.clientArgs(instance.localConnection), { stdin: { stream: pipe, describe: 'the previous command |' }, env: engine.clientEnv(instance.localConnection) }),
    ]);
    if (!stopCovered) return undefined;
    // --stop-position one byte after the start of the event group prints just its GTID event.
    const { stdout } = await instance.run('mariadb-binlog', ['--no-defaults', `--start-position=${stop.pos}`, `--stop-position=${stop.pos + 1}`, paths[paths.length - 1]!]);
    return /\bGTID (\d+-\d+-\d+)/.exec(stdout)?.[1];
  });

  const replayed = `replayed ${files.join(', ')} from ${from}`;
  if (time !== undefined) {
    // The time was reached if the archive goes past it: a transaction at or after it exists
    // (what --stop-datetime left out); otherwise the archive ended first.
    const { stdout } = await instance.run('mariadb-binlog', ['--no-defaults', `--start-datetime=${time}`, ...paths], { env: { TZ: 'UTC' }, quiet: true });
    const beyond = /\bGTID \d+-\d+-\d+/.test(stdout);
    const reached = !archived.gap && beyond;
    return { recovery: { method, reached, point, detail: `${gapText}${replayed}${beyond ? `, up to ${time} UTC` : `; the archive's last transaction is before ${time} UTC`}`, ...gapRecord }, replayedBytes };
  }
  if (!stop) return { recovery: { method, reached: !archived.gap, point, detail: `${gapText}${replayed}`, ...gapRecord }, replayedBytes };
  if (!stopCovered) {
    return { recovery: { method, reached: false, point, detail: `${gapText}the archive ends before ${formatBinlogPosition(stop)} (last file ${files[files.length - 1]}): ${replayed} to its end`, ...gapRecord }, replayedBytes };
  }
  if (faultPoint.transaction && gtid !== faultPoint.transaction) {
    return { recovery: { method, reached: false, point, detail: `${replayed}; the event group at ${formatBinlogPosition(stop)} is ${gtid ?? 'not a transaction'}, not the fault's ${faultPoint.transaction}` }, replayedBytes };
  }
  return { recovery: { method, reached: true, point, detail: `${replayed} to ${formatBinlogPosition(stop)}, where the fault's transaction ${gtid} begins` }, replayedBytes };
}
