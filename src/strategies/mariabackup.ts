import { z } from 'zod';
import { formatBinlogPosition } from '../engines/mariadb.js';
import type { StartedInstance } from '../providers/provider.js';
import { BackupDefect, readVerified, storeFile, storeOutput, verifiedFile } from '../storage/transfer.js';
import { BINLOG_SETTINGS } from './mariadb-tools.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

export const mariabackupOptions = z.strictObject({
  parallel: z.number().int().min(1).max(16).default(2).describe('Files mariadb-backup copies at once (--parallel)'),
});

/** `binlog_pos = filename 'binlog.000002', position '379', GTID of the last change '0-1-177'` in xtrabackup_info. */
function binlogInfo(info: string): { position: string; gtid: string } | undefined {
  const match = /binlog_pos = filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/.exec(info);
  return match ? { position: formatBinlogPosition({ file: match[1]!, pos: Number(match[2]) }), gtid: match[3] ?? '' } : undefined;
}

/** Page checksums of every InnoDB file in a directory, offline: the names of the files that fail. */
const CHECK_PAGES = 'status=0; for f in $(find "$0" -name "*.ibd" -o -name "ibdata*"); do innochecksum "$f" >/dev/null 2>&1 || { echo "$f"; status=1; }; done; exit $status';

/**
 * mariadb-backup --backup under load, streamed (mbstream) from its stdout into the storage
 * location. It runs beside the source as the server's account because it reads the data
 * directory itself. --extra-lsndir keeps a copy of the backup's info file outside the stream,
 * for the binlog coordinates the backup is consistent with (taken during BACKUP STAGE BLOCK_COMMIT).
 */
export async function takeMariabackup(context: StrategyContext, prefix: string, parallel: number): Promise<BackupResult> {
  const { source, engine, storage } = context;
  const scratch = `${source.paths.scratch}/${prefix.replaceAll('/', '-')}`;
  await source.claim(`${scratch}/info`);
  await source.claim(`${scratch}/tmp`);
  const { object } = await storeOutput(
    source,
    storage,
    `${prefix}/backup.mbstream`,
    'mariadb-backup',
    [...engine.clientArgs(source.localConnection), '--backup', '--stream=mbstream', `--extra-lsndir=${scratch}/info`, `--target-dir=${scratch}/tmp`, `--datadir=${source.paths.data}`, `--parallel=${parallel}`],
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
    ...(binlog ? { consistentAt: { position: binlog.position, detail: `BACKUP STAGE BLOCK_COMMIT at binlog ${binlog.position}, GTID ${binlog.gtid || 'none'}` } } : {}),
    state: {},
    ...(binlog ? { startPosition: binlog.position } : {}),
  };
}

/**
 * Streams the backup out of storage into mbstream beside a fresh instance (checksum compared on
 * the way), applies its redo log (--prepare), moves it into the empty data directory, checks
 * every page checksum (innochecksum) before the server reads any of it, and starts it. The
 * binlog coordinates a replay starts from are read from the backup's own info file, as an
 * operator would, checked like every file of the backup.
 */
export async function restoreMariabackup(context: StrategyContext, backup: BackupResult): Promise<{ instance: StartedInstance; position: string | undefined }> {
  const object = backup.objects.find((candidate) => candidate.name === 'backup')!;
  const info = backup.objects.find((candidate) => candidate.name === 'info')!;
  const target = await context.phase('target', () => context.createInstance('restore'));
  const unpacked = `${target.paths.scratch}/backup`;
  await target.claim(unpacked);
  const position = await context.phase('fetch', async () => {
    const infoFile = await verifiedFile(context.exec, target, context.storage, info, target.paths.scratch);
    await readVerified(context.exec, context.storage, object, (input) => target.run('mbstream', ['-x', '-C', unpacked], 'path' in input ? { stdinFile: input.path } : { stdin: input.stdin }));
    return binlogInfo((await target.readFile(infoFile)).toString('utf8'))?.position;
  });
  await context.phase('restore', async () => {
    const prepared = await target.run('mariadb-backup', ['--no-defaults', '--prepare', `--target-dir=${unpacked}`], { allowFailure: true });
    if (prepared.exitCode !== 0) {
      throw new BackupDefect('unrestorable', `mariadb-backup --prepare cannot apply the backup's redo log: ${prepared.stderr.trim().split('\n').slice(-3).join('; ')}`, object.key);
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
    let taken = 0;
    return {
      // The binary log is not needed to restore, but it gives the backup and the fault binlog coordinates to report.
      sourceSetup: () => ({ settings: BINLOG_SETTINGS }),
      async backup(context) {
        const backup = await takeMariabackup(context, `mariabackup/backup-${++taken}`, options.parallel);
        // The backup restores to its end; the source just after it is the point to compare with.
        return { ...backup, capture: await context.captureSource() };
      },
      async recover(context, { backup }) {
        const { instance } = await restoreMariabackup(context, backup);
        return {
          instance,
          recovery: { method: 'end of the physical backup', reached: true, point: 'backup', detail: `consistent at binlog ${backup.consistentAt?.position ?? 'unknown'}; writes after it are lost` },
        };
      },
    };
  },
});
