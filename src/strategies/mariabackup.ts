import { z } from 'zod';
import { formatBinlogPosition } from '../engines/mariadb.js';
import type { StartedInstance } from '../providers/provider.js';
import { BackupDefect, readVerified, storeFile, storeOutput, verifiedFile } from '../storage/transfer.js';
import { BINLOG_SETTINGS } from './mariadb-tools.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

export const mariabackupOptions = z.strictObject({
  parallel: z.number().int().min(1).max(16).default(2).describe('Files mariadb-backup copies at once (--parallel)'),
  schedule: z
    .array(z.enum(['full', 'incr']))
    .min(1)
    .default(['full'])
    .refine((types) => types[0] === 'full', { error: 'the first backup of a schedule is a full one: start it with full' })
    .describe('Backup types in order, the last repeated: [full, incr] takes a full backup, then incrementals (--incremental-basedir), each on the one before'),
});

/** What a backup of a chain needs to be restored and to have an incremental taken on it. */
interface MariabackupState {
  type: 'full' | 'incr';
  /** Where --extra-lsndir put its xtrabackup_checkpoints, beside the source: the next incremental's base. */
  lsnDir: string;
  /** The backup (its index in the schedule) this incremental is based on. */
  basedOn?: number;
  index: number;
}

/**
 * A mariadb-backup schedule: full and incremental backups, each incremental on the one before,
 * and for a restore the chain a backup needs, oldest first.
 */
export class MariabackupChain {
  private readonly taken: BackupResult[] = [];

  constructor(
    private readonly prefix: string,
    private readonly options: z.output<typeof mariabackupOptions>,
  ) {}

  async take(context: StrategyContext): Promise<BackupResult> {
    const index = this.taken.length + 1;
    const type = this.options.schedule[Math.min(index - 1, this.options.schedule.length - 1)]!;
    const base = type === 'incr' ? (this.taken.at(-1)?.state as unknown as MariabackupState | undefined) : undefined;
    const backup = await takeMariabackup(context, `${this.prefix}/backup-${index}`, this.options.parallel, base ? { index: base.index, lsnDir: base.lsnDir } : undefined);
    this.taken.push(backup);
    return backup;
  }

  /** The backups `backup` is restored from: its full backup, then each incremental up to it. */
  chainOf(backup: BackupResult): BackupResult[] {
    const chain = [backup];
    for (let state = backup.state as unknown as MariabackupState; state.basedOn !== undefined; state = chain[0]!.state as unknown as MariabackupState) {
      chain.unshift(this.taken[state.basedOn - 1]!);
    }
    return chain;
  }
}

/** `binlog_pos = filename 'binlog.000002', position '379', GTID of the last change '0-1-177'` in xtrabackup_info. */
export function binlogInfo(info: string): { position: string; gtid: string } | undefined {
  const match = /binlog_pos = filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/.exec(info);
  return match ? { position: formatBinlogPosition({ file: match[1]!, pos: Number(match[2]) }), gtid: match[3] ?? '' } : undefined;
}

/** Page checksums of every InnoDB file in a directory, offline: the names of the files that fail. */
export const CHECK_PAGES = 'status=0; for f in $(find "$0" -name "*.ibd" -o -name "ibdata*"); do innochecksum "$f" >/dev/null 2>&1 || { echo "$f"; status=1; }; done; exit $status';

/**
 * mariadb-backup --backup under load, streamed (mbstream) from its stdout into the storage
 * location. It runs beside the source as the server's account because it reads the data
 * directory itself. --extra-lsndir keeps a copy of the backup's info file outside the stream,
 * for the binlog coordinates the backup is consistent with (taken during BACKUP STAGE BLOCK_COMMIT).
 */
export async function takeMariabackup(context: StrategyContext, prefix: string, parallel: number, base?: { index: number; lsnDir: string }): Promise<BackupResult> {
  const { source, engine, storage } = context;
  const scratch = `${source.paths.scratch}/${prefix.replaceAll('/', '-')}`;
  await source.claim(`${scratch}/info`);
  await source.claim(`${scratch}/tmp`);
  const { object } = await storeOutput(
    source,
    storage,
    `${prefix}/backup.mbstream`,
    'mariadb-backup',
    [
      ...engine.clientArgs(source.localConnection),
      '--backup',
      '--stream=mbstream',
      `--extra-lsndir=${scratch}/info`,
      `--target-dir=${scratch}/tmp`,
      `--datadir=${source.paths.data}`,
      `--parallel=${parallel}`,
      ...(base ? [`--incremental-basedir=${base.lsnDir}`] : []),
    ],
    { env: engine.clientEnv(source.localConnection) },
  );
  const infoFile = `${scratch}/info/xtrabackup_info`;
  const binlog = binlogInfo((await source.readFile(infoFile)).toString('utf8'));
  const info = await storeFile(source, storage, `${prefix}/xtrabackup_info`, infoFile);
  return {
    objects: [
      { name: 'backup', ...object },
      { name: 'info', ...info },
    ],
    ...(binlog ? { consistentAt: { position: binlog.position, detail: `${base ? `incremental on backup ${base.index}` : 'full backup'}; BACKUP STAGE BLOCK_COMMIT at binlog ${binlog.position}, GTID ${binlog.gtid || 'none'}` } } : {}),
    state: { type: base ? 'incr' : 'full', lsnDir: `${scratch}/info`, index: Number(/backup-(\d+)$/.exec(prefix)?.[1] ?? 0), ...(base ? { basedOn: base.index } : {}) } satisfies MariabackupState,
    ...(binlog ? { startPosition: binlog.position } : {}),
    ...(base ? { basedOn: base.index } : {}),
  };
}

/**
 * Streams the backup out of storage into mbstream beside a fresh instance (checksum compared on
 * the way), applies its redo log (--prepare), moves it into the empty data directory, checks
 * every page checksum (innochecksum) before the server reads any of it, and starts it. The
 * binlog coordinates a replay starts from are read from the backup's own info file, as an
 * operator would, checked like every file of the backup.
 */
export async function restoreMariabackup(context: StrategyContext, chain: readonly BackupResult[]): Promise<{ instance: StartedInstance; position: string | undefined }> {
  const streams = chain.map((backup) => backup.objects.find((candidate) => candidate.name === 'backup')!);
  // The newest backup's info: where it is consistent, and where a replay starts.
  const info = chain.at(-1)!.objects.find((candidate) => candidate.name === 'info')!;
  const object = streams.at(-1)!;
  const target = await context.phase('target', () => context.createInstance('restore'));
  const dirs = streams.map((_, index) => `${target.paths.scratch}/${index === 0 ? 'backup' : `incremental-${index}`}`);
  const unpacked = dirs[0]!;
  for (const dir of dirs) await target.claim(dir);
  const position = await context.phase('fetch', async () => {
    const infoFile = await verifiedFile(context.exec, target, context.storage, info, target.paths.scratch);
    for (const [index, stream] of streams.entries()) {
      await readVerified(context.exec, context.storage, stream, (input) => target.run('mbstream', ['-x', '-C', dirs[index]!], 'path' in input ? { stdinFile: input.path } : { stdin: input.stdin }));
    }
    return binlogInfo((await target.readFile(infoFile)).toString('utf8'))?.position;
  });
  await context.phase('restore', async () => {
    // The full backup's redo first, then each incremental applied onto it, in order.
    for (const [index, dir] of dirs.entries()) {
      const args = ['--no-defaults', '--prepare', `--target-dir=${unpacked}`, ...(index > 0 ? [`--incremental-dir=${dir}`] : [])];
      const prepared = await target.run('mariadb-backup', args, { allowFailure: true });
      if (prepared.exitCode !== 0) {
        throw new BackupDefect('unrestorable', `mariadb-backup --prepare cannot apply ${index === 0 ? "the backup's redo log" : `incremental ${streams[index]!.key}`}: ${prepared.stderr.trim().split('\n').slice(-3).join('; ')}`, streams[index]!.key);
      }
    }
    await target.claim(target.paths.data);
    await target.run('mariadb-backup', ['--no-defaults', '--move-back', `--target-dir=${unpacked}`, `--datadir=${target.paths.data}`]);
  });
  await context.phase('verify-backup', async () => {
    const checked = await target.run('sh', ['-c', CHECK_PAGES, target.paths.data], { allowFailure: true });
    if (checked.exitCode !== 0) {
      throw new BackupDefect('unrestorable', `innochecksum finds damaged pages in the restored backup: ${checked.stdout.trim().split('\n').join(', ')}`, object.key);
    }
  });
  // InnoDB applies its redo before the server accepts connections: started is writable.
  return { instance: await context.phase('start', () => target.start()), position };
}

export const mariabackup = defineStrategy({
  name: 'mariabackup',
  summary: 'mariadb-backup --backup (streamed) under load; --prepare and --move-back into a fresh data directory, page checksums verified',
  engines: ['mariadb'],
  pointInTime: false,
  keeps: 'backups',
  logical: false,
  options: mariabackupOptions,
  create(options) {
    const chain = new MariabackupChain('mariabackup', options);
    return {
      // The binary log is not needed to restore, but it gives the backup and the fault binlog coordinates to report.
      sourceSetup: () => ({ settings: BINLOG_SETTINGS }),
      async backup(context) {
        const backup = await chain.take(context);
        // The backup restores to its end; the source just after it is the point to compare with.
        return { ...backup, capture: await context.captureSource() };
      },
      async recover(context, { backup }) {
        const { instance } = await restoreMariabackup(context, chain.chainOf(backup));
        return {
          instance,
          recovery: { method: 'end of the physical backup', reached: true, point: 'backup', detail: `consistent at binlog ${backup.consistentAt?.position ?? 'unknown'}; writes after it are lost` },
        };
      },
    };
  },
});
