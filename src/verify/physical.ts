import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Engine } from '../engines/engine.js';
import type { StartedInstance, StoppedInstance } from '../providers/provider.js';
import { logTail } from '../providers/readiness.js';
import { LocalDirectoryStorage } from '../storage/local-directory.js';
import { replayBinlogs } from '../strategies/binlog-archive.js';
import { binlogInfo, CHECK_PAGES } from '../strategies/mariabackup.js';
import { checkManifest } from '../strategies/pg-basebackup.js';
import { verifyFindings } from '../strategies/pgbackrest.js';
import { postgresTime, recoveryStop, replayedBy, TARGET_NOT_REACHED } from '../strategies/postgres-recovery.js';
import { walFrom, walSegmentOf, type ArchivedWal } from '../strategies/postgres-wal.js';
import { DrillSetupError } from '../util/errors.js';
import { shellQuote } from '../util/exec.js';
import { formatServerTime } from '../util/time.js';
import type { PhysicalBackup } from './detect-physical.js';
import type { VerificationSpec } from './spec.js';
import type { VerificationFinding } from './summary.js';

/** What a physical restore needs from the verification: the empty instance it fills, and its timed steps. */
export interface PhysicalContext {
  instance: StoppedInstance;
  engine: Engine;
  spec: VerificationSpec;
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Where recovery was asked to stop and where it did, for the record. */
export interface RecoveryOutcome {
  /** The target as asked (`recovery_target_time='…'`), or the end of the archive. */
  target: string;
  /** Whether recovery got there; null when there was nothing to reach (no target, no archive). */
  reached: boolean | null;
  detail: string;
}

export interface PhysicalOutcome {
  /** The restored server, writable; none when it could not be brought up (the findings say why). */
  server?: StartedInstance;
  findings: VerificationFinding[];
  recovery?: RecoveryOutcome;
}

/** Restores a physical backup into the empty instance and starts it, as its own tools would, with every problem named. */
export function restorePhysical(context: PhysicalContext, backup: PhysicalBackup): Promise<PhysicalOutcome> {
  switch (backup.type) {
    case 'pg-base-backup':
      return restoreBaseBackup(context, backup);
    case 'pgbackrest':
      return restorePgbackrest(context, backup);
    case 'mariadb-backup':
      return restoreMariadbBackup(context, backup);
  }
}

type Target = NonNullable<VerificationSpec['target']>;

/** The recovery_target_* settings of a target, and how it reads in the record. */
function targetSettings(target: Target | undefined): { settings: Record<string, string>; described: string } {
  if (!target) return { settings: {}, described: 'the end of the archive' };
  // promote: the default, pause, would leave the server in recovery at the target, never writable.
  const [name, value] = target.time !== undefined ? ['recovery_target_time', postgresTime(target.time)] : target.xid !== undefined ? ['recovery_target_xid', target.xid] : ['recovery_target_lsn', target.lsn!];
  return { settings: { [name]: value, recovery_target_action: 'promote' }, described: `${name}='${value}'` };
}

/** Every target setting emptied: a restart after recovery stopped short opens where the archive ends. */
const NO_TARGET = { recovery_target_time: '', recovery_target_xid: '', recovery_target_lsn: '' };

/** pg_controldata's names of the limits a standby or a recovery must run with at least as high as the primary did. */
const PRIMARY_LIMITS: Record<string, string> = {
  'max_connections setting': 'max_connections',
  'max_worker_processes setting': 'max_worker_processes',
  'max_wal_senders setting': 'max_wal_senders',
  'max_prepared_xacts setting': 'max_prepared_transactions',
  'max_locks_per_xact setting': 'max_locks_per_transaction',
};

/**
 * The restored cluster is started with firedrill's settings, not its own: the team's
 * postgresql.conf names their host's paths, include files and libraries, and their pg_hba.conf
 * may demand passwords the verification does not have. Only the throwaway copy is changed: an
 * empty postgresql.conf, pg_hba.conf trusting this server's own socket and loopback. Recovery
 * refuses to run with a lower max_connections (and four more limits) than the primary had, so
 * those come from the backup's pg_control.
 */
async function ownSettings(instance: StoppedInstance, options: { keepAutoConf: boolean }): Promise<Record<string, string>> {
  const data = instance.paths.data;
  await instance.writeFile(`${data}/postgresql.conf`, '');
  if (!options.keepAutoConf) await instance.writeFile(`${data}/postgresql.auto.conf`, '');
  await instance.writeFile(`${data}/pg_hba.conf`, 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n');
  // A backup taken for a standby (pg_basebackup -R) would start as one, and never open.
  await instance.run('rm', ['-f', `${data}/standby.signal`]);
  const { stdout } = await instance.run('pg_controldata', [data], { quiet: true });
  const limits: Record<string, string> = {};
  for (const [, name, value] of stdout.matchAll(/^([^:\n]+):\s+(\d+)$/gm)) {
    const setting = PRIMARY_LIMITS[name!.trim()];
    if (setting) limits[setting] = value!;
  }
  // archive_mode off: the restored server's new timeline must never reach the archive it restores from.
  return { ...limits, archive_mode: 'off' };
}

/**
 * The segments of an archive from `from` on, of `from`'s timeline only (a later timeline's
 * segments are not a gap in this one), up to the first gap.
 */
function walOfTimeline(names: readonly string[], from: string, needed?: string): ArchivedWal {
  return walFrom(names.filter((name) => name.startsWith(from.slice(0, 8))), from, needed);
}

const COMPRESSED_SEGMENT = /^[0-9A-F]{24}\.(gz|lz4|zst|bz2|xz)$/;

/** What the WAL a restore reads holds from the backup's first segment on: where it is, in words, and its segments. */
interface WalSource {
  where: string;
  wal: ArchivedWal;
  /** The segment the backup needs to be consistent (the end of its WAL range), when its manifest says. */
  consistentAt?: string;
}

/** A segment the base backup needed and recovery could not read, as the server log names it. */
const UNREADABLE = /cannot stat '[^']*\/([0-9A-F]{24})'|could not open file "[^"]*\/([0-9A-F]{24})"/;
const NO_CONSISTENCY = /could not locate required checkpoint record|WAL ends before (?:end of online backup|consistent recovery point)|could not find redo location|invalid checkpoint record/;
const BEFORE_CONSISTENCY = /requested recovery stop point is before consistent recovery point/;
const MISSING_LIBRARY = /could not access file "([^"]+)": No such file/;

/**
 * Starts a restored PostgreSQL cluster and waits until it leaves recovery, then says what it
 * reached. PostgreSQL itself refuses to open short of a target (since 13): a time target is
 * only reached when recovery meets a commit after it, so an archive that ends before it fails
 * ("recovery ended before configured recovery target was reached") — the archive did not prove
 * the target. The server is then started again without the target, as an operator would, so
 * what did come back is still checked. A gap in the archive (a segment missing while later
 * ones are there) is named whether or not the target was reached: no later restore can pass it.
 */
async function recoverPostgres(context: PhysicalContext, settings: Record<string, string>, target: Target | undefined, source: WalSource | undefined): Promise<PhysicalOutcome> {
  const { instance } = context;
  const { settings: targeted, described } = targetSettings(target);
  const findings: VerificationFinding[] = [];
  const { wal, where } = source ?? {};
  const gapNamed = (what: string) => `WAL segment ${wal!.gap} is missing from ${where}${wal!.newest && wal!.newest > wal!.gap! ? ` (later segments up to ${wal!.newest} are there)` : ''}: ${what}`;
  if (wal?.gap && wal.newest && wal.newest > wal.gap) {
    findings.push({ code: 'wal-missing', message: gapNamed('recovery cannot replay past it, so nothing written after it can be restored. Find the segment (the archive_command failed, or the file was removed), or take a new base backup') });
  }
  const start = (extra: Record<string, string>) =>
    context.phase('recovery', async () => {
      const server = await instance.start({ settings: { ...settings, ...extra } });
      await server.waitWritable();
      return server;
    });
  let server: StartedInstance;
  /** Why the target was not reached: it is before the backup's end, or the archive ends first. */
  let shortOf: 'before' | 'end' | undefined;
  try {
    server = await start(targeted);
  } catch (error) {
    const log = logTail(await instance.serverLog(), 60);
    const library = MISSING_LIBRARY.exec(log)?.[1];
    if (library) {
      findings.push({ code: 'missing-extension', message: `the restored cluster loads ${library} (shared_preload_libraries), which this server does not have: install the same extensions where you restore` });
      return { findings };
    }
    if (NO_CONSISTENCY.test(log) && !TARGET_NOT_REACHED.test(log)) {
      const segment = wal?.gap ?? UNREADABLE.exec(log)?.slice(1).find(Boolean);
      const missing = segment ? `WAL segment ${segment}` : 'WAL it needs';
      const archive = where ? `is missing from ${where}` : 'is not in the backup, and no WAL archive was given (--wal DIR)';
      findings.splice(0, findings.length, {
        code: 'wal-missing',
        message: `recovery cannot reach a consistent state: ${missing}, which the base backup needs${source?.consistentAt ? ` (its WAL runs up to ${source.consistentAt})` : ''}, ${archive}. The backup does not restore; find the segment, or take a new base backup`,
      });
      return { findings, recovery: { target: described, reached: false, detail: /FATAL:\s+(.*)/.exec(log)?.[1] ?? 'the server did not start: see its log' } };
    }
    if (!target || !(TARGET_NOT_REACHED.test(log) || BEFORE_CONSISTENCY.test(log))) throw error;
    shortOf = BEFORE_CONSISTENCY.test(log) ? 'before' : 'end';
    server = await start(NO_TARGET);
  }
  const log = await server.serverLog();
  const stop = recoveryStop(log);
  const lastUs = (await replayedBy(server)).stoppedAtUs;
  const last = lastUs ? `the last commit replayed at ${formatServerTime(lastUs)}` : 'no commit replayed';
  // PostgreSQL says where it stopped for a target; without that line the target was not met, whatever opened.
  if (target && !shortOf && !/^recovery stopping (before|after)/.test(stop ?? '')) shortOf = 'end';
  if (shortOf) {
    const reason =
      shortOf === 'before'
        ? `the target is before the base backup's end, where it first is consistent: restore an older base backup to reach it`
        : wal?.gap
          ? `${gapNamed(`recovery stopped at it (${last})`)}`
          : target?.time !== undefined
            ? `recovery replayed the whole archive (${last}) and found no commit later than the target: a time target is only reached when the archive holds a commit after it, so this one did not prove it — archiving may have stopped or lag behind. Check that the archive still receives WAL`
            : `recovery replayed the whole archive (${last}) without reaching it: the archive ends before the target`;
    findings.push({ code: 'target-not-reached', message: `recovery did not reach ${described}: ${reason}. It was opened where the archive ends, and what came back is checked` });
  }
  const detail = `${stop ?? 'recovery ended'}; ${last}`;
  // Without a target, the end of the archive is reached unless a gap stopped recovery before it.
  const reached = shortOf ? false : target ? true : source ? !wal?.gap : null;
  return { server, findings, recovery: { target: described, reached, detail } };
}

/** The directories of a data directory that are empty in a base backup (initdb creates them; the server needs them there). */
const EMPTY_AT_START = ['pg_wal/archive_status', 'pg_commit_ts', 'pg_dynshmem', 'pg_notify', 'pg_serial', 'pg_snapshots', 'pg_subtrans', 'pg_twophase', 'pg_multixact/members', 'pg_multixact/offsets', 'pg_replslot', 'pg_tblspc', 'pg_stat', 'pg_stat_tmp', 'pg_xact', 'pg_logical/snapshots', 'pg_logical/mappings'];

/**
 * A base backup: copied (plain) or extracted (tar) into the empty data directory — the source
 * is only read — checked against its backup_manifest with pg_verifybackup, then recovered from
 * the WAL archive with a restore_command that only copies out of it, or from its own WAL.
 */
async function restoreBaseBackup(context: PhysicalContext, backup: Extract<PhysicalBackup, { type: 'pg-base-backup' }>): Promise<PhysicalOutcome> {
  const { instance, spec } = context;
  const data = instance.paths.data;
  if (spec.target && !spec.wal) throw new DrillSetupError('a recovery target needs the WAL archive to recover through', 'give the archive: --wal DIR (or `wal:` in the verification file)');
  const findings: VerificationFinding[] = [];
  await instance.claim(data);
  await context.phase('copy', async () => {
    if (backup.format === 'plain') {
      await instance.run('cp', ['-a', `${backup.data}/.`, data]);
      // cp -a gave the data directory the backup directory's mode; PostgreSQL wants 0700.
      await instance.run('chmod', ['0700', data]);
      // A copy that went through an object store (or a sync that skips them) has no empty directories, and the server does not start without these.
      await instance.run('sh', ['-c', `cd "$0" && mkdir -p ${EMPTY_AT_START.join(' ')}`, data]);
    } else {
      await instance.run('tar', ['-x', ...(backup.gzip ? ['-z'] : []), '-f', backup.data, '-C', data]);
      if (backup.walTar) {
        await instance.claim(`${data}/pg_wal`);
        await instance.run('tar', ['-x', ...(backup.gzip ? ['-z'] : []), '-f', backup.walTar, '-C', `${data}/pg_wal`]);
      }
    }
  });
  const manifest = backup.manifest ?? ((await instance.run('test', ['-f', `${data}/backup_manifest`], { allowFailure: true, quiet: true })).exitCode === 0 ? `${data}/backup_manifest` : undefined);
  let consistentAt: string | undefined;
  if (manifest) {
    await context.phase('verify-backup', async () => {
      // The WAL is judged by recovery itself, which reads the archive too.
      const problems = await checkManifest(instance, data, { parseWal: false, ...(backup.manifest ? { manifest } : {}) });
      if (problems) findings.push({ code: 'manifest-mismatch', message: `pg_verifybackup: the base backup's files do not match its backup_manifest: ${problems}. The backup was changed or damaged after it was taken; take a new one` });
    });
    const range = (JSON.parse((await instance.readFile(manifest)).toString('utf8')) as { 'WAL-Ranges'?: Array<{ Timeline: number; 'End-LSN': string }> })['WAL-Ranges']?.at(-1);
    if (range) consistentAt = walSegmentOf(range['End-LSN'], range.Timeline);
  }
  const settings = await ownSettings(instance, { keepAutoConf: false });
  let source: WalSource | undefined;
  if (backup.startWal) {
    const archived = spec.wal ? await readdir(spec.wal) : [];
    if (archived.some((name) => COMPRESSED_SEGMENT.test(name))) throw new DrillSetupError(`the WAL archive ${spec.wal} holds compressed segments: only an archive of plain segment files (as cp or rsync archive them) is read`, 'decompress a copy of the archive and give that');
    // Recovery reads a segment from the archive, else from the backup's own pg_wal (pg_basebackup -X stream): both count.
    const own = (await instance.run('ls', [`${data}/pg_wal`], { quiet: true })).stdout.split('\n');
    const where = spec.wal ? `the WAL archive ${spec.wal}` : "the backup's own pg_wal";
    source = { where, wal: walOfTimeline([...archived, ...own], backup.startWal, consistentAt), ...(consistentAt ? { consistentAt } : {}) };
  }
  if (spec.wal) {
    // Archive recovery: the segments are copied out of the archive, never into it.
    Object.assign(settings, { restore_command: `cp ${shellQuote(spec.wal)}/%f %p` });
    await instance.writeFile(`${data}/recovery.signal`, '');
  }
  const recovered = await recoverPostgres(context, settings, spec.target, source);
  return { ...recovered, findings: [...findings, ...recovered.findings] };
}

/** A WAL file in a pgBackRest archive: the segment, its checksum, a compression extension. */
const REPOSITORY_SEGMENT = /^([0-9A-F]{24})-[0-9a-f]{40}(\.\w+)?$/;

/**
 * A pgBackRest repository: `pgbackrest verify` of every file against its manifests first, then
 * `pgbackrest restore` of the newest set into the empty data directory with a configuration of
 * the verification's own (the repository named as it is; logs, locks and spool in the instance's
 * scratch directory). The restore writes a restore_command that reads through `archive-get`, and
 * --archive-mode=off: the restored server never runs archive-push into the repository.
 */
async function restorePgbackrest(context: PhysicalContext, backup: Extract<PhysicalBackup, { type: 'pgbackrest' }>): Promise<PhysicalOutcome> {
  const { instance, spec } = context;
  const dir = `${instance.paths.scratch}/pgbackrest`;
  await instance.claim(dir);
  const config = `${dir}/pgbackrest.conf`;
  // job-retry=0: a file that fails its checksum fails the same way again (pgBackRest retries twice, 15 s apart, by default).
  await instance.writeFile(config, ['[global]', `repo1-path=${backup.repo}`, `log-path=${dir}`, `lock-path=${dir}`, `spool-path=${dir}`, 'log-level-file=detail', 'job-retry=0', `[${backup.stanza}]`, `pg1-path=${instance.paths.data}`, ''].join('\n'));
  const pgbackrest = (command: string, ...args: string[]) => instance.run('pgbackrest', [`--config=${config}`, `--stanza=${backup.stanza}`, ...args, command], { allowFailure: true });
  const findings: VerificationFinding[] = [];
  await context.phase('verify-backup', async () => {
    const verified = await pgbackrest('verify', '--log-level-console=info');
    const output = `${verified.stdout}\n${verified.stderr}`;
    const damaged = verifyFindings(output, backup.chain);
    if (damaged.length > 0 || (verified.exitCode !== 0 && !/ status: /.test(output))) {
      findings.push({ code: 'manifest-mismatch', message: `pgbackrest verify finds ${damaged.join('; ') || `the repository unreadable (exit code ${verified.exitCode}): ${logTail(output, 2)}`}: the files of the backup differ from its manifest; take a new backup and find what changed the repository` });
    }
  });
  await instance.claim(instance.paths.data);
  const restored = await context.phase('copy', () => pgbackrest('restore', `--set=${backup.set}`, '--archive-mode=off', '--type=default'));
  if (restored.exitCode !== 0) {
    // What pgBackRest refuses to restore (a file that fails its checksum) does not restore for anyone.
    findings.push({ code: 'restore-errors', message: `pgbackrest restore of ${backup.set} failed: ${logTail(restored.stderr || restored.stdout, 3).replaceAll('\n', ' · ')}` });
    return { findings };
  }
  const settings = await ownSettings(instance, { keepAutoConf: true });
  const archive = join(backup.repo, 'archive', backup.stanza, backup.archiveId);
  const names = (await readdir(archive, { recursive: true }).catch(() => [] as string[])).map((path) => REPOSITORY_SEGMENT.exec(basename(path))?.[1]).filter((name): name is string => name !== undefined);
  const source = { where: `the repository's archive ${archive}`, wal: walOfTimeline(names, backup.archiveStart, backup.archiveStop), consistentAt: backup.archiveStop };
  const recovered = await recoverPostgres(context, settings, spec.target, source);
  return { ...recovered, findings: [...findings, ...recovered.findings] };
}

/** Settings of backup-my.cnf a server must start with to read the restored files at all: their page size, the system tablespace's files. */
const INNODB_LAYOUT = ['innodb_page_size', 'innodb_data_file_path'];

async function innodbLayout(instance: StoppedInstance, backup: string): Promise<Record<string, string>> {
  const cnf = (await instance.readFile(`${backup}/backup-my.cnf`).catch(() => Buffer.alloc(0))).toString('utf8');
  return Object.fromEntries([...cnf.matchAll(/^(\w+)=(\S+)$/gm)].filter(([, name]) => INNODB_LAYOUT.includes(name!)).map(([, name, value]) => [name!, value!]));
}

/**
 * A mariadb-backup directory: copied whole (a prepare writes into the directory it prepares, so
 * never the source's own), prepared unless it is already, moved into the empty data directory,
 * its page checksums read, and started without the grant tables (the restored accounts are the
 * team's, with passwords the verification has not got; the server listens on loopback only).
 * Binlogs, when given, are replayed onto it from the backup's position, to a time if asked.
 */
async function restoreMariadbBackup(context: PhysicalContext, backup: Extract<PhysicalBackup, { type: 'mariadb-backup' }>): Promise<PhysicalOutcome> {
  const { instance, spec, engine } = context;
  if (spec.target && spec.target.time === undefined) throw new DrillSetupError('a mariadb-backup with binlogs is recovered to a time only', 'give target.time (--target-time)');
  if (spec.target && !spec.binlogs) throw new DrillSetupError('a recovery target needs binlogs to replay up to it', 'give the binlogs: --binlogs DIR (or `binlogs:` in the verification file)');
  const copy = `${instance.paths.scratch}/backup`;
  await instance.claim(copy);
  const damaged = (message: string): VerificationFinding => ({ code: 'damaged-backup', message });
  await context.phase('copy', () => instance.run('cp', ['-a', `${backup.directory}/.`, copy]));
  if (!backup.prepared) {
    const prepared = await context.phase('prepare', () => instance.run('mariadb-backup', ['--no-defaults', '--prepare', `--target-dir=${copy}`], { allowFailure: true }));
    if (prepared.exitCode !== 0) return { findings: [damaged(`mariadb-backup --prepare cannot apply the backup's redo log: ${logTail(prepared.stderr, 3).replaceAll('\n', '; ')}. The backup does not restore; take a new one`)] };
  }
  await instance.claim(instance.paths.data);
  await context.phase('move-back', () => instance.run('mariadb-backup', ['--no-defaults', '--move-back', `--target-dir=${copy}`, `--datadir=${instance.paths.data}`]));
  const checked = await context.phase('verify-backup', () => instance.run('sh', ['-c', CHECK_PAGES, instance.paths.data], { allowFailure: true }));
  // Not started on damaged pages: InnoDB may stop the server on the first read of one, and the finding says it all.
  if (checked.exitCode !== 0) return { findings: [damaged(`innochecksum finds damaged pages in ${checked.stdout.trim().split('\n').join(', ')}: the backup holds corrupt data; take a new one, and check the disk it was read from`)] };
  const server = await context.phase('recovery', async () => instance.start({ settings: { ...(await innodbLayout(instance, backup.directory)), 'skip-grant-tables': 'ON' } }));
  if (!spec.binlogs) return { server, findings: [] };
  const position = binlogInfo((await instance.readFile(join(backup.directory, 'xtrabackup_info')).catch(() => Buffer.alloc(0))).toString('utf8'))?.position;
  if (!position) throw new DrillSetupError(`${backup.directory}/xtrabackup_info names no binlog position, so there is nowhere to start replaying the binlogs from`, 'take the backup with the binary log on (log-bin), or verify it without --binlogs');
  const storage = new LocalDirectoryStorage(spec.binlogs, dirname(spec.binlogs), 'local');
  const { recovery: replayed } = await replayBinlogs({ storage, engine, phase: context.phase }, server, position, spec.target?.time ? { kind: 'time', time: spec.target.time } : { kind: 'latest' }, { serverTimeUs: 0 }, basename(spec.binlogs));
  const findings: VerificationFinding[] = [];
  if (replayed.gap) findings.push({ code: 'binlog-missing', message: `${replayed.gap.what} is missing from ${spec.binlogs}: the replay stops before it, and every change after it is lost. Find the file, or take a new backup` });
  if (spec.target && !replayed.reached && !replayed.gap) {
    findings.push({ code: 'target-not-reached', message: `the binlogs did not reach ${spec.target.time}: ${replayed.detail}. A time is only reached when the binlogs hold a transaction after it; the binlogs given end first` });
  }
  return { server, findings, recovery: { target: replayed.method, reached: replayed.reached, detail: replayed.detail } };
}
