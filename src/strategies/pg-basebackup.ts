import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { z } from 'zod';
import type { InstanceBase, StoppedInstance } from '../providers/provider.js';
import { BackupDefect, readVerified, storeOutput } from '../storage/transfer.js';
import { whileArchiving } from './postgres-wal.js';
import { emptyRestoreTarget } from './postgres-recovery.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

// gzip or nothing: pg_basebackup compresses its stdout stream with gzip on every supported version.
export const baseBackupOptions = z.strictObject({
  compression: z.enum(['gzip', 'none']).default('gzip').describe('Compression of the tar stream (gzip or none)'),
  maxRate: z
    .string()
    .regex(/^\d+[kM]?$/, 'a rate in kB/s, or with k or M, such as 8M (32k to 1024M)')
    .optional()
    .describe("Throttles the backup's reading of the data directory (pg_basebackup --max-rate: kB/s, or with k or M), as a production backup is throttled to spare the server: it takes longer, and spans more WAL"),
});
type BaseBackupOptions = z.infer<typeof baseBackupOptions>;

const EXTENSION: Record<string, string> = { gzip: '.tar.gz', none: '.tar' };
const TAR_FLAG: Record<string, string[]> = { gzip: ['-z'], none: [] };

/** The text of one file in a (gzipped) tar stream, read as the stream goes by; undefined if it is not there. */
function fileInTar(stream: Readable, name: string, gzip: boolean): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    let found: string | undefined;
    extract.on('entry', (header, entry, next) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: unknown) => {
        if (header.name === name) chunks.push(chunk as Buffer);
      });
      entry.on('end', () => {
        if (header.name === name) found = Buffer.concat(chunks).toString('utf8');
        next();
      });
      entry.resume();
    });
    extract.on('finish', () => resolve(found));
    extract.on('error', reject);
    stream.on('error', reject);
    const source = gzip ? stream.pipe(createGunzip().on('error', reject)) : stream;
    source.pipe(extract as unknown as NodeJS.WritableStream);
  });
}

/** The state a base backup's restore needs. */
interface BaseBackupState {
  key: string;
  compression: string;
  /** The WAL is in the tar (`fetch`), or comes from the archive (`none`). */
  walInBackup: boolean;
  startLsn?: string;
  endLsn?: string;
}

/**
 * pg_basebackup as one tar stream on stdout, straight into the storage location: data files,
 * backup_manifest (pg_basebackup injects it into a stdout tar), and with `wal: 'fetch'` the WAL
 * the backup needs to be consistent. Run beside the source, so its version matches.
 * `--checkpoint=fast` matters: without it pg_basebackup waits for a spread checkpoint (minutes
 * on an idle cluster).
 */
export async function takeBaseBackup(context: StrategyContext, key: string, { compression, maxRate }: BaseBackupOptions, wal: 'fetch' | 'none'): Promise<BackupResult> {
  const { source, engine, storage } = context;
  let manifest: Promise<string | undefined> = Promise.resolve(undefined);
  // Without the WAL in the backup, the server ends it by waiting until the archive has the WAL.
  const store = (work: () => ReturnType<typeof storeOutput>) => (wal === 'none' ? whileArchiving(context, work) : work());
  const { object } = await store(() => storeOutput(
    source,
    storage,
    `${key}${EXTENSION[compression]}`,
    'pg_basebackup',
    ['-D', '-', '--format=tar', `--wal-method=${wal}`, '--checkpoint=fast', '--label=firedrill', '--no-password', '--verbose', ...(compression === 'gzip' ? ['-z'] : []), ...(maxRate ? [`--max-rate=${maxRate}`] : []), ...engine.clientArgs(source.localConnection)],
    {
      env: engine.clientEnv(source.localConnection),
      tap: (stream) => {
        manifest = fileInTar(stream, 'backup_manifest', compression === 'gzip');
        // A backup cut short (an interruption) rejects it; the backup's own error is the one to report.
        manifest.catch(() => undefined);
      },
    },
  ));
  // The manifest is the backup's own account of itself: its WAL range is where replay starts and ends.
  const text = await manifest;
  const range = text ? (JSON.parse(text) as { 'WAL-Ranges'?: Array<{ 'Start-LSN': string; 'End-LSN': string }> })['WAL-Ranges']?.[0] : undefined;
  const startLsn = range?.['Start-LSN'];
  const endLsn = range?.['End-LSN'];
  const state: BaseBackupState = { key: object.key, compression, walInBackup: wal === 'fetch', ...(startLsn ? { startLsn } : {}), ...(endLsn ? { endLsn } : {}) };
  return {
    objects: [{ name: 'base', ...object }],
    ...(endLsn ? { consistentAt: { position: endLsn, detail: `WAL ${startLsn} – ${endLsn}` } } : {}),
    state: { ...state },
    ...(startLsn ? { startPosition: startLsn } : {}),
  };
}

export function baseBackupState(backup: BackupResult): BaseBackupState {
  return backup.state as unknown as BaseBackupState;
}

/**
 * Makes the restore target and fills its data directory from a base backup: streamed out of
 * storage into tar (checksum compared on the way), then checked against its manifest with
 * pg_verifybackup before anything starts on it.
 */
export async function unpackBaseBackup(context: StrategyContext, backup: BackupResult): Promise<StoppedInstance> {
  const state = baseBackupState(backup);
  const object = backup.objects.find((candidate) => candidate.name === 'base')!;
  const target = await emptyRestoreTarget(context);
  await context.phase('fetch', () =>
    readVerified(context.exec, context.storage, object, (input) =>
      'path' in input
        ? target.run('tar', ['-x', ...TAR_FLAG[state.compression]!, '-f', input.path, '-C', target.paths.data])
        : target.run('tar', ['-x', ...TAR_FLAG[state.compression]!, '-C', target.paths.data], { stdin: input.stdin }),
    ),
  );
  await context.phase('verify-backup', async () => {
    // Without its WAL in the backup, the WAL range is checked by recovery itself.
    const checked = await checkManifest(target, target.paths.data, { parseWal: state.walInBackup });
    if (checked === 'no manifest') {
      throw new BackupDefect('manifest', `the base backup ${object.key} has no backup_manifest: it was cut short (pg_basebackup writes the manifest last)`, object.key);
    }
    if (checked) throw new BackupDefect('manifest', `pg_verifybackup: the restored base backup does not match its manifest: ${checked}`, object.key);
  });
  return target;
}

/**
 * pg_verifybackup of a data directory restored from a base backup: undefined when every file
 * matches the manifest (`manifest`, else the directory's own backup_manifest), 'no manifest', or
 * what does not match, in a few words. `parseWal`: the WAL the backup needs is in the directory.
 */
export async function checkManifest(instance: InstanceBase, dir: string, options: { parseWal: boolean; manifest?: string }): Promise<string | undefined> {
  const checked = await instance.run('pg_verifybackup', [...(options.parseWal ? [] : ['--no-parse-wal']), ...(options.manifest ? ['--manifest-path', options.manifest] : []), dir], { allowFailure: true });
  if (checked.exitCode === 0) return undefined;
  if (/backup_manifest.*No such file/.test(checked.stderr)) return 'no manifest';
  const problems = `${checked.stderr}\n${checked.stdout}`.split('\n').map((line) => line.replace(/^pg_verifybackup: (error: )?/, '').trim()).filter(Boolean);
  return `${problems.slice(0, 6).join('; ')}${problems.length > 6 ? `; and ${problems.length - 6} more` : ''}`;
}

export const pgBasebackup = defineStrategy({
  name: 'pg-basebackup',
  summary: 'pg_basebackup (tar stream with its WAL, --checkpoint=fast) under load; restore to the end of the backup, checked with pg_verifybackup',
  engines: ['postgres'],
  pointInTime: false,
  keeps: 'backups',
  logical: false,
  options: baseBackupOptions,
  create(options) {
    let taken = 0;
    return {
      // -X fetch collects the backup's WAL at its end: it must still be there.
      sourceSetup: () => ({ settings: { wal_keep_size: '1GB' } }),
      async backup(context) {
        const backup = await takeBaseBackup(context, `pg-basebackup/backup-${++taken}/base`, options, 'fetch');
        // The backup restores to its end; the source just after it is the point to compare with.
        return { ...backup, capture: await context.captureSource() };
      },
      async recover(context, { backup }) {
        const unpacked = await unpackBaseBackup(context, backup);
        // No recovery.signal: the server replays the WAL in the backup up to its end and opens.
        const instance = await context.phase('start', () => unpacked.start({ settings: { archive_mode: 'off' } }));
        await context.phase('replay', () => instance.waitWritable());
        return {
          instance,
          recovery: { method: 'end of the base backup', reached: true, point: 'backup', detail: `consistent at ${backup.consistentAt?.position ?? 'the end of the backup'}; writes after it are lost` },
        };
      },
    };
  },
});
