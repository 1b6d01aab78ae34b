import { z } from 'zod';
import type { InstanceBase } from '../providers/provider.js';
import { recordArchive } from '../storage/archive-record.js';
import { S3Storage } from '../storage/s3.js';
import type { StorageLocation, StoredObject } from '../storage/storage.js';
import { BackupDefect, verifyStored } from '../storage/transfer.js';
import { DrillSetupError } from '../util/errors.js';
import { serverDirectory } from './source.js';
import { switchAndArchive } from './postgres-wal.js';
import { emptyRestoreTarget, faultXid, postgresTime, startPreparedRestore } from './postgres-recovery.js';
import { defineStrategy, type BackupResult, type RecoverRequest, type StrategyContext } from './strategy.js';

const STANZA = 'firedrill';
/** The repository inside the primary storage location. */
const REPO = 'pgbackrest';
const ARCHIVE_WAIT_S = 60;

const options = z.strictObject({
  schedule: z
    .array(z.enum(['full', 'diff', 'incr']))
    .min(1)
    .default(['full'])
    .refine((types) => types[0] === 'full', { error: 'the first backup of a schedule is a full one: start it with full' })
    .describe('Backup types in order, the last repeated: [full, incr, incr] takes a full backup, then incrementals'),
  processMax: z.int().min(1).max(16).default(2).describe('pgBackRest process-max: parallel compression and transfer'),
  compress: z.enum(['lz4', 'gz', 'zst', 'none']).default('lz4').describe('Compression of the repository files (lz4 is the fastest here)'),
});

interface BackupSet {
  label: string;
  type: string;
  /** The sets it needs, oldest first: the full (and the differential) an incremental is based on. */
  reference: string[];
  startLsn: string;
  stopLsn: string;
}

/** pgBackRest's repository settings for a storage location, and the same without secrets for the runbook. */
interface Repository {
  lines: string[];
  shown: string;
}

/**
 * The repository in the storage location: a directory the server's account writes into, or an
 * S3 prefix that pgBackRest's own client writes (over HTTPS only; credentials resolved from the
 * AWS chain into the private configuration file, never onto a command line or into the journal).
 */
async function repository(storage: StorageLocation): Promise<Repository> {
  if (!(storage instanceof S3Storage)) {
    const path = serverDirectory(storage, REPO, "pgBackRest's repository");
    return { lines: [`repo1-path=${path}`], shown: `repo1-path=${path}` };
  }
  const access = await storage.access();
  if (access.endpoint.protocol !== 'https:') {
    throw new DrillSetupError(`pgBackRest reaches S3 over HTTPS only, and storage "${storage.name}" is at ${access.endpoint.origin}`, 'give the endpoint as https://… (with caFile for a certificate of its own), or keep the repository in a local location');
  }
  const where = [
    'repo1-type=s3',
    `repo1-path=/${access.root}/${REPO}`,
    `repo1-s3-bucket=${access.bucket}`,
    `repo1-s3-endpoint=${access.endpoint.hostname}`,
    ...(access.endpoint.port ? [`repo1-storage-port=${access.endpoint.port}`] : []),
    `repo1-s3-region=${access.region}`,
    `repo1-s3-uri-style=${access.pathStyle ? 'path' : 'host'}`,
    ...(access.caFile ? [`repo1-storage-ca-file=${access.caFile}`] : []),
    // Small files bundled into a few objects: a request per file is what makes object stores slow.
    'repo1-bundle=y',
  ];
  const { accessKeyId, secretAccessKey, sessionToken } = access.credentials;
  return {
    lines: [...where, `repo1-s3-key=${accessKeyId}`, `repo1-s3-key-secret=${secretAccessKey}`, ...(sessionToken ? [`repo1-s3-token=${sessionToken}`] : [])],
    shown: `${where.join(' ')} repo1-s3-key=… repo1-s3-key-secret=… (from the AWS credential chain)`,
  };
}

/**
 * pgBackRest's configuration beside an instance: the repository in the storage location, the
 * instance's data directory and socket, logs and locks in its scratch space. Written to a file
 * (not the command line): the archive command must find it too.
 */
async function configure(context: StrategyContext, instance: InstanceBase, tuning: { max: number; compress: string }, port?: number): Promise<string> {
  const dir = `${instance.paths.scratch}/pgbackrest`;
  await instance.claim(dir);
  const config = `${dir}/pgbackrest.conf`;
  const repo = await repository(context.storage);
  const lines = [
    '[global]',
    ...repo.lines,
    // Retention is the drill's to decide (backups.retention); pgBackRest expires nothing here.
    'repo1-retention-full=9999999',
    `log-path=${dir}`,
    `lock-path=${dir}`,
    `spool-path=${dir}`,
    'log-level-file=detail',
    'start-fast=y',
    `process-max=${tuning.max}`,
    `compress-type=${tuning.compress}`,
    `archive-timeout=${ARCHIVE_WAIT_S}`,
    `[${STANZA}]`,
    `pg1-path=${instance.paths.data}`,
    `pg1-socket-path=${instance.paths.scratch}`,
    ...(port ? [`pg1-port=${port}`] : []),
    '',
  ];
  // The file is in the instance's private scratch directory (mode 0700): it may hold the repository's credentials.
  await context.exec.step(`write ${config}: [global] ${repo.shown} … [${STANZA}] pg1-path=${instance.paths.data}`, () => instance.writeFile(config, lines.join('\n')));
  return config;
}

const pgbackrest = (config: string, command: string, ...args: string[]) => [`--config=${config}`, `--stanza=${STANZA}`, ...args, command];

/** The backup sets the repository lists, oldest first. */
async function backupSets(instance: InstanceBase, config: string): Promise<BackupSet[]> {
  const { stdout } = await instance.run('pgbackrest', pgbackrest(config, 'info', '--output=json'), { quiet: true });
  const [stanza] = JSON.parse(stdout) as Array<{ backup: Array<{ label: string; type: string; reference: string[] | null; lsn: { start: string; stop: string } }> }>;
  return (stanza?.backup ?? []).map((set) => ({ label: set.label, type: set.type, reference: set.reference ?? [], startLsn: set.lsn.start, stopLsn: set.lsn.stop }));
}

/**
 * What `pgbackrest verify` says is wrong with the sets a restore needs (`chain`); damage to other
 * sets is not this restore's concern (an older backup is still good when a newer incremental is
 * damaged). Anything else it fails on shows in its exit code.
 */
export function verifyFindings(output: string, chain: readonly string[]): string[] {
  const findings: string[] = [];
  for (const [, label, status] of output.matchAll(/backup: (\S+), status: (\w+)/g)) {
    if (status === 'valid' || !chain.includes(label!)) continue;
    const files = [...output.matchAll(new RegExp(`(invalid checksum|missing|invalid size)[^'\\n]*'${label!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/([^']+)'`, 'g'))].map((found) => `${found[2]} (${found[1]})`);
    findings.push(`backup set ${label} ${status}${files.length ? `: ${files.slice(0, 3).join(', ')}${files.length > 3 ? ` and ${files.length - 3} more` : ''}` : ''}`);
  }
  return findings;
}

/** The restore's target options: before the fault by its transaction id, a time, or the end of the archive. */
function targetArgs(request: RecoverRequest): { args: string[]; method: string } {
  const target = request.target;
  if (target.kind === 'latest') return { args: ['--type=default'], method: 'pgbackrest restore --type=default (replay every archived WAL segment)' };
  if (target.kind === 'time') {
    const time = postgresTime(target.time);
    return { args: ['--type=time', `--target=${time}`, '--target-exclusive', '--target-action=promote'], method: `pgbackrest restore --type=time --target='${time}' --target-exclusive` };
  }
  const xid = faultXid(request);
  return { args: ['--type=xid', `--target=${xid}`, '--target-exclusive', '--target-action=promote'], method: `pgbackrest restore --type=xid --target=${xid} --target-exclusive (stop just before the fault's commit)` };
}

export const pgbackrestStrategy = defineStrategy({
  name: 'pgbackrest',
  summary: 'pgBackRest: full, differential and incremental backups, archive-push of every WAL segment, verify, restore to just before the fault',
  engines: ['postgres'],
  pointInTime: true,
  keeps: 'backups',
  serverWrites: 'its pgBackRest repository',
  nativeStorage: ['s3'],
  ownCatalog: true,
  tools: [{ program: 'pgbackrest', versionArgs: ['version'], install: 'apt-get install -y pgbackrest' }],
  logical: false,
  options,
  create(chosen) {
    const tuning = { max: chosen.processMax, compress: chosen.compress };
    let sourceConfig: string | undefined;
    let taken = 0;
    // Each set's files as stored, by label: an incremental's restore reads its whole chain.
    const stored = new Map<string, StoredObject[]>();
    return {
      // archive_mode needs a restart, the command only a reload: it is set once pgBackRest is configured.
      sourceSetup: ({ storage }) => ({ settings: { archive_mode: 'on', wal_level: 'replica' }, writable: storage.directory ? [serverDirectory(storage, REPO, "pgBackRest's repository")] : [] }),

      async prepare(context) {
        const found = await context.source.run('pgbackrest', ['version'], { allowFailure: true, quiet: true }).catch((error: unknown) => ({ exitCode: 127, stderr: String(error) }));
        if (found.exitCode !== 0) throw new DrillSetupError('pgBackRest is not installed beside the source (pgbackrest version failed)', 'apt-get install -y pgbackrest on this machine, or an image that has it (target.image)');
        sourceConfig = await configure(context, context.source, tuning, context.source.localConnection.port);
        await context.source.run('pgbackrest', pgbackrest(sourceConfig, 'stanza-create'));
        const command = `pgbackrest --config=${sourceConfig} --stanza=${STANZA} archive-push %p`;
        const session = await context.engine.connect(context.source.connection);
        try {
          await context.exec.step(`on the source: ALTER SYSTEM SET archive_command = '${command}'; SELECT pg_reload_conf()`, async () => {
            await session.query(`ALTER SYSTEM SET archive_command = '${command}'`);
            await session.query('SELECT pg_reload_conf()');
          });
        } finally {
          await session.close();
        }
        // check: archiving works end to end (it switches a segment and waits for it in the repository).
        await context.source.run('pgbackrest', pgbackrest(sourceConfig, 'check'));
      },

      async backup(context): Promise<BackupResult> {
        const type = chosen.schedule[Math.min(taken, chosen.schedule.length - 1)]!;
        taken += 1;
        await context.source.run('pgbackrest', pgbackrest(sourceConfig!, 'backup', `--type=${type}`));
        const set = (await backupSets(context.source, sourceConfig!)).at(-1)!;
        // Every file of the set, with its size and sha256 as stored: what the drill's own checks and faults see.
        const files = await recordArchive(context.storage, `${REPO}/backup/${STANZA}/${set.label}`);
        const objects = [...files.files].map(([key, file]) => ({ name: key.slice(`${REPO}/backup/${STANZA}/${set.label}/`.length), location: context.storage.name, key, ...file }));
        stored.set(set.label, objects);
        return {
          objects,
          consistentAt: { position: set.stopLsn, detail: `${set.type} backup ${set.label}${set.reference.length ? `, based on ${set.reference.join(' ← ')}` : ''}; WAL ${set.startLsn} – ${set.stopLsn}` },
          state: { ...set },
          startPosition: set.startLsn,
        };
      },

      // What an operator does first: switch WAL and wait until it is archived (a dead source ships nothing more).
      afterDetection: switchAndArchive,

      async recover(context, request) {
        const set = request.backup.state as unknown as BackupSet;
        const target = await emptyRestoreTarget(context);
        const config = await configure(context, target, tuning);
        const chain = [...set.reference, set.label];
        await context.phase('verify-backup', async () => {
          // Every file of the chain as it was stored. pgBackRest does not need this to find a
          // damaged data file, but it quietly reads backup.manifest.copy when backup.manifest is
          // damaged, and a backup with a damaged file is a broken backup, whatever restores.
          await context.exec.step(`sha256sum every file of ${chain.join(', ')}: compared with the checksums recorded at backup time`, () =>
            verifyStored(context.storage, chain.flatMap((label) => stored.get(label) ?? [])),
          );
          // pgBackRest's own check of every file and the WAL archive, against its manifests.
          const verified = await target.run('pgbackrest', pgbackrest(config, 'verify', '--log-level-console=info'), { allowFailure: true });
          const damaged = verifyFindings(`${verified.stdout}\n${verified.stderr}`, chain);
          if (damaged.length > 0 || (verified.exitCode !== 0 && !/ status: /.test(`${verified.stdout}${verified.stderr}`))) {
            throw new BackupDefect('checksum', `pgbackrest verify finds ${damaged.join('; ') || `the repository unreadable (exit code ${verified.exitCode})`}`, `${REPO}/backup/${STANZA}/${set.label}`);
          }
        });
        const { args, method } = targetArgs(request);
        // archive-mode=off: the restored server must never push its new timeline into the repository it restores from.
        const restore = (extra: string[]) => target.run('pgbackrest', pgbackrest(config, 'restore', `--set=${set.label}`, '--archive-mode=off', ...extra));
        await context.phase('restore', () => restore(args));
        return startPreparedRestore(context, target, request, {
          method,
          again: async () => void (await restore(['--delta', '--type=default'])),
          restored: `restored ${set.type} backup ${set.label} (chain ${chain.join(' → ')}), WAL from the repository`,
        });
      },
    };
  },
});
