import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { DatabaseInstance } from '../providers/provider.js';
import { makeOwnedDir } from '../util/os-user.js';
import { pgConnectionArgs, pgEnv, pgTool } from './postgres-tools.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

// gzip or nothing: with streamed WAL, pg_basebackup compresses pg_wal.tar with gzip only,
// and `-z` is understood by every supported PostgreSQL version.
export const baseBackupOptions = z.strictObject({
  compression: z.enum(['gzip', 'none']).default('gzip').describe('Compression of the tar files (gzip or none)'),
});

const EXTENSION: Record<string, string> = { gzip: '.tar.gz', none: '.tar' };
const TAR_FLAG: Record<string, string[]> = { gzip: ['-z'], none: [] };

/**
 * pg_basebackup in tar format with the WAL it needs streamed alongside. `--checkpoint=fast`
 * matters: without it pg_basebackup waits for a spread checkpoint (minutes on an idle cluster).
 */
export async function takeBaseBackup(context: StrategyContext, prefix: string, compression: string): Promise<BackupResult> {
  const { source, exec, workDir } = context;
  const dir = join(workDir, 'basebackup');
  const compress = compression === 'gzip' ? ['-z'] : [];
  await exec.run(
    await pgTool(context, 'pg_basebackup'),
    ['-D', dir, '--format=tar', '--wal-method=stream', '--checkpoint=fast', '--label=firedrill', '--no-password', ...compress, ...pgConnectionArgs(source.connection)],
    { env: pgEnv(source.connection) },
  );
  const manifest = JSON.parse(await readFile(join(dir, 'backup_manifest'), 'utf8')) as { 'WAL-Ranges'?: Array<{ 'Start-LSN': string; 'End-LSN': string }> };
  const range = manifest['WAL-Ranges']?.[0];
  const ext = EXTENSION[compression]!;
  const objects = [];
  for (const [name, file] of [['base', `base${ext}`], ['wal', `pg_wal${ext}`], ['manifest', 'backup_manifest']] as const) {
    objects.push({ name, ...(await context.storage.put(`${prefix}/${file}`, join(dir, file))) });
  }
  return {
    objects,
    consistentAt: range ? { position: range['End-LSN'], detail: `WAL ${range['Start-LSN']} – ${range['End-LSN']}` } : undefined,
    state: { prefix, ext, compression },
  };
}

/** Fetches a base backup and unpacks it into a new instance's data directory (not started). */
export async function unpackBaseBackup(context: StrategyContext, backup: BackupResult): Promise<DatabaseInstance> {
  const { prefix, ext, compression } = backup.state as { prefix: string; ext: string; compression: string };
  const [base, wal] = await context.phase('fetch', () =>
    Promise.all([context.storage.fetch(`${prefix}/base${ext}`, context.workDir), context.storage.fetch(`${prefix}/pg_wal${ext}`, context.workDir)]),
  );
  return context.phase('restore', async () => {
    const instance = await context.provider.create({ name: 'restore', engine: context.engine, version: context.version }, context.providerContext);
    await makeOwnedDir(instance.dataDir, instance.user);
    const walDir = join(instance.dataDir, 'pg_wal');
    const flag = TAR_FLAG[compression]!;
    await context.exec.run('tar', ['-x', ...flag, '-f', base, '-C', instance.dataDir], { user: instance.user });
    await context.exec.run('tar', ['-x', ...flag, '-f', wal, '-C', walDir], { user: instance.user });
    return instance;
  });
}

export const pgBasebackup = defineStrategy({
  name: 'pg-basebackup',
  summary: 'pg_basebackup (tar, compressed, WAL streamed, --checkpoint=fast); restore to the end of the backup',
  engines: ['postgres'],
  pointInTime: false,
  options: baseBackupOptions,
  create(options) {
    return {
      backup: (context) => takeBaseBackup(context, 'pg-basebackup', options.compression),
      async restore(context, { backup }) {
        const unpacked = await unpackBaseBackup(context, backup);
        // No recovery.signal: the server replays the streamed WAL up to the end of the backup and opens.
        const instance = await context.phase('start', () => unpacked.start());
        await context.phase('replay', () => instance.waitWritable());
        return {
          instance,
          recovery: { method: 'end of the base backup', reached: true, detail: `consistent at ${backup.consistentAt?.position ?? 'the end of the backup'}; writes after it are lost` },
        };
      },
    };
  },
});
