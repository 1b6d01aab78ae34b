import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { mariadbClientArgs, mariadbEnv } from '../engines/mariadb-binaries.js';
import { formatBinlogPosition } from '../engines/mariadb.js';
import type { StartedDatabaseInstance } from '../providers/provider.js';
import { makeOwnedDir } from '../util/os-user.js';
import { BINLOG_SETTINGS, mariadbTool } from './mariadb-tools.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

export const mariabackupOptions = z.strictObject({
  parallel: z.number().int().min(1).max(16).default(2).describe('Files mariadb-backup copies at once (--parallel)'),
});

/** `binlog_pos = filename 'binlog.000002', position '379', GTID of the last change '0-1-177'` in xtrabackup_info. */
function binlogInfo(info: string): { position: string; gtid: string } | undefined {
  const match = /binlog_pos = filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/.exec(info);
  return match ? { position: formatBinlogPosition({ file: match[1]!, pos: Number(match[2]) }), gtid: match[3] ?? '' } : undefined;
}

/**
 * mariadb-backup --backup under load, streamed (mbstream) into one file. It runs as the server's
 * user because it reads the source's data directory itself. --extra-lsndir keeps a copy of the
 * backup's info file outside the stream, for the binlog coordinates the backup is consistent with
 * (taken during BACKUP STAGE BLOCK_COMMIT).
 */
export async function takeMariabackup(context: StrategyContext, prefix: string, parallel: number): Promise<BackupResult> {
  const { source, exec, workDir, storage } = context;
  const scratch = await makeOwnedDir(join(workDir, 'mariabackup'), source.user);
  const infoDir = await makeOwnedDir(join(scratch, 'info'), source.user);
  const tmpDir = await makeOwnedDir(join(scratch, 'tmp'), source.user);
  const streamFile = join(workDir, 'backup.mbstream');
  await exec.run(
    await mariadbTool(context, 'mariadb-backup'),
    [...mariadbClientArgs(source.connection), '--backup', '--stream=mbstream', `--extra-lsndir=${infoDir}`, `--target-dir=${tmpDir}`, `--datadir=${source.dataDir}`, `--parallel=${parallel}`],
    { user: source.user, stdoutFile: streamFile, env: mariadbEnv(source.connection) },
  );
  const infoFile = join(infoDir, 'xtrabackup_info');
  const binlog = binlogInfo(await readFile(infoFile, 'utf8'));
  const key = `${prefix}/backup.mbstream`;
  return {
    objects: [
      { name: 'backup', ...(await storage.put(key, streamFile)) },
      { name: 'info', ...(await storage.put(`${prefix}/xtrabackup_info`, infoFile)) },
    ],
    consistentAt: binlog ? { position: binlog.position, detail: `BACKUP STAGE BLOCK_COMMIT at binlog ${binlog.position}, GTID ${binlog.gtid || 'none'}` } : undefined,
    state: { key, position: binlog?.position },
  };
}

/**
 * Unpacks a streamed backup, applies its redo log (--prepare) and copies it into a fresh
 * instance's empty data directory (--copy-back); starts the instance.
 */
export async function restoreMariabackup(context: StrategyContext, backup: BackupResult): Promise<StartedDatabaseInstance> {
  const { exec, workDir } = context;
  const { key } = backup.state as { key: string };
  const stream = await context.phase('fetch', () => context.storage.fetch(key, workDir));
  const filled = await context.phase('restore', async () => {
    const instance = await context.provider.create({ name: 'restore', engine: context.engine, version: context.version }, context.providerContext);
    const tool = await mariadbTool(context, 'mariadb-backup');
    const unpacked = await makeOwnedDir(join(workDir, 'mariabackup-restore'), instance.user);
    await exec.run(await mariadbTool(context, 'mbstream'), ['-x', '-C', unpacked], { user: instance.user, stdinFile: stream });
    await exec.run(tool, ['--no-defaults', '--prepare', `--target-dir=${unpacked}`], { user: instance.user });
    await makeOwnedDir(instance.dataDir, instance.user);
    await exec.run(tool, ['--no-defaults', '--copy-back', `--target-dir=${unpacked}`, `--datadir=${instance.dataDir}`], { user: instance.user });
    return instance;
  });
  // InnoDB applies its redo before the server accepts connections: started is writable.
  return context.phase('start', () => filled.start());
}

export const mariabackup = defineStrategy({
  name: 'mariabackup',
  summary: 'mariadb-backup --backup (streamed) under load; --prepare and --copy-back into a fresh data directory',
  engines: ['mariadb'],
  pointInTime: false,
  options: mariabackupOptions,
  create(options) {
    return {
      // The binary log is not needed to restore, but it gives the backup and the fault binlog coordinates to report.
      sourceSettings: () => BINLOG_SETTINGS,
      backup: (context) => takeMariabackup(context, 'mariabackup', options.parallel),
      async restore(context, { backup }) {
        const instance = await restoreMariabackup(context, backup);
        return {
          instance,
          recovery: { method: 'end of the physical backup', reached: true, detail: `consistent at binlog ${backup.consistentAt?.position ?? 'unknown'}; writes after it are lost` },
        };
      },
    };
  },
});
