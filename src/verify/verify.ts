import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pino, { type Logger } from 'pino';
import { copyBeside } from '../datasets/sql-files.js';
import type { ConnectionInfo, DatabaseCharset, Engine, IntegrityResult, SqlSession } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import { withConnection } from '../engines/session.js';
import type { CheckResult, PhaseRecord } from '../journal/types.js';
import { meetsExpectation } from '../measure/verdict.js';
import { resolveProvider } from '../providers/index.js';
import type { StartedInstance } from '../providers/provider.js';
import { Timeline, type PhaseListener } from '../runner/timeline.js';
import { DrillClock } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { DrillSetupError, errorMessage } from '../util/errors.js';
import { CommandRunner, type CommandRecord } from '../util/exec.js';
import { makeRunTempDir } from '../util/os-user.js';
import type { RunRegistry } from '../util/registry.js';
import { ResourceStack } from '../util/resources.js';
import { scrubSecrets } from '../util/secrets.js';
import { BACKUP_EXTRAS, detectBackup, KIND_EXTRAS, restoreCommand, type DetectedBackup, type PhysicalKind } from './detect.js';
import { restorePhysical, type RecoveryOutcome } from './physical.js';
import type { FetchedSource } from './source.js';
import type { VerificationSpec } from './spec.js';
import type { VerificationFinding, VerificationSummary } from './summary.js';

/** What `firedrill verify` did to one backup and found: the record its reports render. */
export interface VerificationRecord extends VerificationSummary {
  formatVersion: 1;
  type: 'verification';
  /** The name of the source in reports and history. */
  name: string;
  runId: string;
  backup?: Omit<DetectedBackup, 'paths'>;
  provider?: string;
  /** The server the backup was restored into (`15.18`). */
  serverVersion?: string;
  /** sha256 of every file of the source as it was verified, and after: a verification never writes to what it verifies (a file written to since is hashed again). */
  sourceFiles: Array<{ path: string; sizeBytes: number; sha256: string; sha256After?: string }>;
  phases: PhaseRecord[];
  commands: CommandRecord[];
  /** The restored database's own checks (every table readable, checksums, sequences). */
  integrity: CheckResult[];
  /** Each expected table: rows found against the fewest allowed. */
  contents: Array<{ table: string; rows: number | null; minRows: number }>;
  freshness?: { sql: string; newest: string | null; againstAt: string; against: 'backup' | 'now'; ageMs: number | null; maxAgeMs: number };
  checks: CheckResult[];
  /** Objects restored, by kind, and the rows of every table. */
  inventory: { objects: Record<string, number>; tables: Array<{ name: string; rows: number }> };
  /** The database a physical backup was checked in (a cluster can hold several). */
  database?: string;
  /** A physical backup's recovery: the target asked for, and where it stopped. */
  recovery?: RecoveryOutcome;
  /** The encoding and collation of the database a dump was restored into, beside what the dump declares (`backup.charset`). */
  restoredCharset?: DatabaseCharset;
  errors: Array<{ phase: string; message: string; hint?: string }>;
}

export interface VerifyOptions {
  /** The backup's files (one dump, a dump directory, or SQL files in restore order). */
  paths: readonly string[];
  /** The source as the user named it (an s3:// URL fetched into `paths`); default: the paths. */
  source?: string;
  /** Local copies of `s3://` objects and prefixes among the paths, the WAL archive and the binlogs: the record names their files by URL. */
  fetched?: readonly FetchedSource[];
  spec: VerificationSpec;
  /** Rows per table of the last good verification of the same source: what `drift` compares with. */
  previous?: Array<{ name: string; rows: number }>;
  runId: string;
  onPhase?: PhaseListener;
  log?: Logger;
  signal?: AbortSignal;
  registry?: RunRegistry;
}

/** The source's name in reports, history and metrics: the verification file's `name`, or the backup's file name. */
export function sourceName(paths: readonly string[], spec: VerificationSpec): string {
  return spec.name ?? basename(paths[0] ?? 'backup').replace(/[^\w.-]+/g, '-');
}

/** Database a dump that names none is restored into. */
const RESTORED_DATABASE = 'restored';

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Every file of the source (a directory's, all the way down: a base backup, a WAL archive, a
 * repository): its path, and what says whether it was written to (size, mtime, ctime).
 */
async function sourceStats(paths: readonly string[]): Promise<Array<{ path: string; sizeBytes: number; written: string }>> {
  const files: string[] = [];
  for (const path of paths) {
    if (!(await stat(path)).isDirectory()) {
      files.push(path);
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    files.push(...entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)).sort());
  }
  return inBatches(files, async (path) => ({ path, sizeBytes: (await stat(path)).size, written: await writtenStamp(path) }));
}

/** A base backup has a thousand files and more: a few at a time, not as many open files as it has. */
export async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, width = 8): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await fn(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return results;
}

/** A write to a file changes its size, mtime or ctime (ctime cannot be set back by a writer). */
async function writtenStamp(path: string): Promise<string> {
  const info = await stat(path, { bigint: true });
  return `${info.size}/${info.mtimeNs}/${info.ctimeNs}`;
}

/**
 * What a restore tool's errors mean, named: a role or an extension the dump needs and the
 * server lacks, a file cut short or damaged. Anything else is a restore error, quoted.
 */
export function classifyRestoreErrors(stderr: string, exitCode: number | null): VerificationFinding[] {
  const lines = stderr.split('\n').filter((line) => /\bERROR\b|error:|FATAL/i.test(line));
  const findings: VerificationFinding[] = [];
  const named = (code: string, pattern: RegExp, message: (names: string[]) => string) => {
    const names = [...new Set(lines.flatMap((line) => [...line.matchAll(pattern)].map((match) => match[1]!)))];
    if (names.length > 0) findings.push({ code, message: message(names) });
    return (line: string) => pattern.test(line);
  };
  const matched = [
    named('missing-role', /role "([^"]+)" does not exist/g, (names) => `the dump needs role${names.length > 1 ? 's' : ''} ${names.map((name) => `"${name}"`).join(', ')}, which the restored server lacks: objects owned by or granted to ${names.length > 1 ? 'them' : 'it'} failed. Restore the roles first (pg_dumpall --globals-only, \`globals:\` in the verification file), or ignore the finding with the reason`),
    named('missing-extension', /extension "([^"]+)" (?:is not available|does not exist)|could not open extension control file "[^"]*\/([^"/]+)\.control"/g, (names) => `the dump needs extension ${names.join(', ')}, which the restore server does not have: install it where you restore (the same packages as production)`),
    named('truncated-backup', /(unexpected end of file|could not read (?:from )?input file: end of file|invalid record length)/g, () => 'the backup ends early: it was cut short (a copy or an upload that did not finish); it restores only in part'),
    named('damaged-backup', /(could not uncompress data[^\n]*|invalid distance too far back|incorrect header check|invalid (?:stored|code) block|invalid block type)/g, () => 'the backup\'s data is damaged (it does not decompress): take a new backup and find where this one was corrupted'),
    named('collation-mismatch', /invalid (?:\w+ )?locale name:? "([^"]+)"/g, (names) => `the backup creates databases with locale ${names.join(', ')}, which this server's host does not have: they were not created, and what belongs in them is missing. Install the locale (locale-gen) on every host you restore to`),
    named('encoding-mismatch', /(?:invalid byte sequence for encoding|has no equivalent in encoding) "([^"]+)"/g, (names) => `the backup holds text that is not valid in the ${names.join(', ')} encoding it is restored as: those rows failed. The dump's encoding (SET client_encoding) is not the one its data is in; restore into a database of the data's own encoding, or dump again with the right -E`),
  ];
  const other = lines.filter((line) => !matched.some((test) => test(line)) && !/errors ignored on restore/.test(line));
  if (other.length > 0) findings.push({ code: 'restore-errors', message: `the restore reported ${other.length} error${other.length > 1 ? 's' : ''}: ${other.slice(0, 3).map((line) => line.replace(/^.*?(ERROR|error):\s*/, '')).join(' · ')}` });
  if (exitCode !== 0 && findings.length === 0) findings.push({ code: 'restore-tool-failed', message: `the restore tool exited ${exitCode ?? 'on a signal'} without saying why: see the report's commands` });
  return findings;
}

/**
 * Restores a team's backup into a throwaway server and checks what came back: integrity,
 * expected contents, freshness, smoke queries, inventory, against the last good verification.
 * Each step is timed; every problem is a named finding. The source is read, never written.
 */
export async function verifyBackup(options: VerifyOptions): Promise<VerificationRecord> {
  const { spec, runId } = options;
  const clock = new DrillClock();
  const exec = new CommandRunner({ now: () => clock.now() });
  const log = options.log ?? pino({ level: 'silent' });
  const timeline = new Timeline(clock, exec, log, options.onPhase);
  const resources = new ResourceStack({ log, ...(options.registry ? { registry: options.registry } : {}) });
  const name = sourceName(options.paths, spec);
  const record: VerificationRecord = {
    formatVersion: 1,
    type: 'verification',
    name,
    runId,
    source: options.source ?? options.paths.join(' '),
    kind: spec.kind ?? 'unknown',
    status: 'error',
    startedAt: new Date().toISOString(),
    finishedAt: '',
    restoreMs: null,
    findings: [],
    sourceFiles: [],
    phases: [],
    commands: [],
    integrity: [],
    contents: [],
    checks: [],
    inventory: { objects: {}, tables: [] },
    errors: [],
  };
  const finding = (code: string, message: string) => record.findings.push({ code, message });
  try {
    const backup = await timeline.phase('inspect', async () => {
      const detected = await detectBackup(options.paths, spec.kind, spec.stanza ? { stanza: spec.stanza } : {});
      const takes = KIND_EXTRAS[detected.kind];
      const misplaced = BACKUP_EXTRAS.filter((extra) => spec[extra] !== undefined && !takes.includes(extra));
      if (misplaced.length > 0) {
        throw new DrillSetupError(`${misplaced.join(', ')} ${misplaced.length > 1 ? 'do' : 'does'} not apply to a ${detected.kind}`, takes.length > 0 ? `a ${detected.kind} takes ${takes.join(', ')}; leave out the rest` : `a ${detected.kind} takes none of ${BACKUP_EXTRAS.join(', ')}: leave them out`);
      }
      return detected;
    });
    // The WAL archive and the binlogs are part of what is verified, and read as the backup is.
    const archives = [spec.wal, spec.binlogs].filter((dir): dir is string => dir !== undefined);
    // Hashed while the restore reads the same bytes (the page cache serves both): the record
    // names exactly what was verified without adding a second pass before the restore.
    const stats = await sourceStats([...options.paths, ...archives]);
    const hashing = inBatches(stats, async (file) => ({ ...file, sha256: await sha256Of(file.path) }));
    hashing.catch(() => undefined);
    const { paths: _paths, ...described } = backup;
    record.backup = described;
    record.kind = backup.kind;
    if (backup.takenAt) record.backupTakenAt = backup.takenAt;
    if (backup.complete === false) finding('truncated-backup', 'the dump has no closing line ("dump complete"): it was cut short, and restores only in part');
    const engine = engines[backup.engine];
    const version = spec.version ?? backup.major;
    const provider = await resolveProvider({ name: spec.provider, engine, ...(version ? { version } : {}), image: spec.image });
    record.provider = provider.name;
    const workDir = await makeRunTempDir('firedrill-verify-');
    resources.add('directory', workDir, () => rm(workDir, { recursive: true, force: true }), { handle: { type: 'path', path: workDir }, remove: [`rm -rf ${workDir}`] });
    const physical = backup.physical;
    // A physical backup is read where it lies, by tools beside the server: a container sees it (and its archive) read-only.
    const readOnly = physical ? [...options.paths, ...archives].map((path) => resolve(path)) : [];
    const instance = await timeline.phase('provision', async () => {
      const created = await provider.create({ name: 'restore', engine, ...(version ? { version } : {}), ...(spec.image ? { image: spec.image } : {}), ...(readOnly.length ? { readOnly } : {}) }, { exec, resources, workDir, log, runId, ...(options.signal ? { signal: options.signal } : {}), saveLog: () => undefined });
      if (physical) return created;
      await created.initialize();
      return created.start();
    });
    record.serverVersion = instance.version;
    let server: StartedInstance | undefined;
    let database: string;
    if (instance.state === 'stopped') {
      const restored = await timeline.phase('restore', () => restorePhysical({ instance, engine, spec: withAbsolutePaths(spec), phase: (name, fn) => timeline.phase(name, fn) }, physical!));
      record.findings.push(...restored.findings);
      if (restored.recovery) record.recovery = restored.recovery;
      server = restored.server;
      // A wrong pass is the worst outcome: a server that is not there must be explained by a finding.
      if (!server && restored.findings.length === 0) throw new Error('the restored server did not come up, and nothing says why: see its log in the report\'s commands');
      database = server ? await checkedDatabase(engine, server, spec) : engine.server.admin.database;
      record.database = database;
    } else {
      server = instance;
      database = backup.database ?? RESTORED_DATABASE;
      await timeline.phase('restore', () => restore(engine, instance, backup as DetectedBackup & { kind: Exclude<DetectedBackup['kind'], PhysicalKind> }, database, spec, record));
    }
    // A server that could not be brought up has nothing to check: the restore's findings say why.
    if (server) await checkRestored(engine, server, { ...server.connection, database: backup.kind === 'pg-dumpall' ? engine.databaseName : database }, backup, spec, record, timeline, clock);
    judgeDrift(record, options.previous, spec.drift);
    if (spec.objectives.restoreTime !== undefined && record.restoreMs !== null && record.restoreMs > spec.objectives.restoreTime) {
      finding('restore-too-slow', `the restore took ${formatDuration(record.restoreMs)}, over the ${formatDuration(spec.objectives.restoreTime)} allowed: a real restore of this backup misses its objective`);
    }
    // The source is read, never written: not one of its files written to since the start. Only
    // a file whose size or times moved is hashed again, to say whether its bytes changed.
    for (const file of await hashing) {
      const unwritten = (await writtenStamp(file.path)) === file.written;
      const sha256After = unwritten ? file.sha256 : await sha256Of(file.path);
      record.sourceFiles.push({ path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256, sha256After });
      if (!unwritten) finding('source-changed', `${file.path} was written to while it was verified${sha256After === file.sha256 ? ' (its bytes are the same)' : ''}: something else writes to it; verify a copy that nothing writes to`);
    }
    for (const item of record.findings) {
      const reason = spec.ignore[item.code];
      if (reason) item.ignored = reason;
    }
    record.status = record.findings.some((item) => !item.ignored) ? 'failed' : 'passed';
  } catch (error) {
    record.status = 'error';
    record.errors.push({ phase: timeline.failedPhase ?? timeline.current ?? 'inspect', message: scrubSecrets(errorMessage(error)), ...(error instanceof DrillSetupError && error.hint ? { hint: error.hint } : {}) });
  } finally {
    await resources[Symbol.asyncDispose]();
    record.phases = timeline.phases;
    record.commands = exec.records.map((command) => ({ ...command, command: scrubSecrets(command.command) }));
    // A fetched copy is gone after the run: what the record says of its files, it says of the objects they came from.
    const named = byUrl(options.fetched ?? []);
    for (const file of record.sourceFiles) file.path = named(file.path);
    for (const item of record.findings) item.message = named(item.message);
    for (const error of record.errors) error.message = named(error.message);
    record.finishedAt = new Date().toISOString();
    const newest = record.freshness?.newest ? Date.parse(record.freshness.newest) : record.backupTakenAt ? Date.parse(record.backupTakenAt) : undefined;
    record.dataAgeMs = newest !== undefined && Number.isFinite(newest) ? Date.parse(record.finishedAt) - newest : null;
  }
  return record;
}

/** Text with each fetched copy's path in it put back as the `s3://` URL it was fetched from. */
function byUrl(fetched: readonly FetchedSource[]): (text: string) => string {
  return (text) => fetched.reduce((named, { path, url }) => named.replaceAll(path, url.replace(/\/$/, '')), text);
}

/** The database a physical backup is checked in: the one named, else the first of its own by name, else the server's admin database. */
async function checkedDatabase(engine: Engine, server: StartedInstance, spec: VerificationSpec): Promise<string> {
  if (spec.database) return spec.database;
  const [first] = await withConnection(engine, server.connection, (session) => engine.listDatabases(session));
  return first ?? engine.server.admin.database;
}

/** The paths the verification file names, absolute: the restored server runs its restore_command in its own directory. */
const withAbsolutePaths = (spec: VerificationSpec): VerificationSpec => ({ ...spec, ...(spec.wal ? { wal: resolve(spec.wal) } : {}), ...(spec.binlogs ? { binlogs: resolve(spec.binlogs) } : {}) });

/** What a failed engine check means, said once for every engine, where the check's own detail does not say what to do. */
const ADVICE: Readonly<Record<string, string>> = {
  'sequence-behind': 'the next insert collides with a restored row (duplicate key). After a restore, set each one past its column (PostgreSQL: SELECT setval(…, max(…)); MariaDB: ALTER TABLE … AUTO_INCREMENT = …), and find why the backup has it behind',
};

const checkResult = ({ name, passed, value, detail }: IntegrityResult) => ({ name, passed, ...(value === undefined ? {} : { value }), detail });

/**
 * The restored database, checked: service, integrity (the engine's checks, and whether its
 * databases can be used as built on this host), expected contents, freshness, checks, the
 * inventory, the deep checks. Each failed engine check is the finding it names.
 */
async function checkRestored(engine: Engine, server: StartedInstance, connection: ConnectionInfo, backup: DetectedBackup, spec: VerificationSpec, record: VerificationRecord, timeline: Timeline, clock: DrillClock): Promise<void> {
  const failed: IntegrityResult[] = [];
  const keep = (results: IntegrityResult[]) => {
    failed.push(...results.filter((result) => !result.passed));
    record.integrity.push(...results.map(checkResult));
  };
  await withConnection(engine, connection, async (session) => {
    await timeline.phase('service', () => session.query('SELECT 1'));
    record.restoreMs = clock.now();
    await timeline.phase('integrity', async () => {
      keep(await engine.integrityChecks(session));
      keep(await engine.localeChecks(server.connection));
    });
    await timeline.phase('contents', () => checkContents(engine, session, spec, record));
    if (spec.freshness) await timeline.phase('freshness', () => checkFreshness(session, spec.freshness!, record, backup));
    if (spec.checks.length > 0) await timeline.phase('checks', () => runChecks(engine, session, spec, record));
    await timeline.phase('inventory', () => takeInventory(engine, session, connection, record));
  });
  // Last: it may install an extension into the database (pg_amcheck's amcheck), which the inventory must not count.
  await timeline.phase('deep-checks', async () => keep(await engine.deepChecks(server, { ...server.localConnection, database: connection.database })));
  for (const check of failed) {
    const advice = check.finding ? ADVICE[check.finding] : undefined;
    record.findings.push({ code: check.finding ?? 'integrity', message: `${check.name}: ${check.detail || check.value || 'failed'}${advice ? `: ${advice}` : ''}` });
  }
}

/**
 * What a dump declares about its database's encoding and collation against what the database it
 * was restored into has: each difference is a finding, with what to do.
 */
export function charsetFindings(declared: DatabaseCharset | undefined, restored: DatabaseCharset): VerificationFinding[] {
  if (!declared) return [];
  const differs = (field: keyof DatabaseCharset) => declared[field] !== undefined && declared[field]!.toLowerCase() !== (restored[field] ?? '').toLowerCase();
  const findings: VerificationFinding[] = [];
  if (differs('encoding')) {
    findings.push({ code: 'encoding-mismatch', message: `the dump's database is in ${declared.encoding}, but it was restored into one in ${restored.encoding ?? 'an unknown encoding'}: text was converted on the way, and characters ${restored.encoding ?? 'it'} cannot hold fail to restore. Create the database with ENCODING '${declared.encoding}' (from template0) where you restore` });
  }
  const locale = (['collation', 'ctype', 'icuLocale'] as const).filter(differs);
  if (locale.length > 0) {
    const names: Record<(typeof locale)[number], string> = { collation: 'LC_COLLATE', ctype: 'LC_CTYPE', icuLocale: 'ICU_LOCALE' };
    findings.push({
      code: 'collation-mismatch',
      message: `the dump's database sorts and classifies text by ${locale.map((field) => `${names[field]} ${declared[field]}`).join(', ')}, which this server's host could not give it (restored with ${locale.map((field) => `${names[field]} ${restored[field] ?? 'none'}`).join(', ')}): ORDER BY, unique indexes and comparisons on text can differ from production. Install the locale where you restore (locale-gen) so the database is created as it was`,
    });
  }
  return findings;
}


/**
 * The backup through the engine's own tools, as a person restoring it would, without stopping
 * at the first error: every error is collected and named, and what did restore is checked.
 */
async function restore(engine: Engine, server: StartedInstance, backup: DetectedBackup & { kind: Exclude<DetectedBackup['kind'], PhysicalKind> }, database: string, spec: VerificationSpec, record: VerificationRecord): Promise<void> {
  const admin = server.localConnection;
  const env = engine.clientEnv(admin);
  if (spec.globals) {
    // Roles as pg_dumpall writes them: the admin role is there already, and says so; the rest are created.
    const client = restoreCommand('pg-dumpall', engine, admin);
    const { stderr, exitCode } = await server.run(client.program, client.args, { stdin: { file: spec.globals }, env, allowFailure: true });
    record.findings.push(...classifyRestoreErrors(withoutAdminExists(stderr, admin.user), exitCode));
  }
  if (backup.kind !== 'pg-dumpall') {
    // As the dump's own database was: a restore into another encoding or collation is not the same database.
    record.restoredCharset = await withConnection(engine, server.connection, async (session) => {
      await (backup.charset ? engine.createDatabaseAs(session, database, backup.charset) : engine.createDatabase(session, database));
      return engine.databaseCharset(session, database);
    });
    record.findings.push(...charsetFindings(backup.charset, record.restoredCharset));
  }
  const target = { ...admin, database: backup.kind === 'pg-dumpall' ? admin.database : database };
  const archive = backup.kind === 'pg-custom-dump' || backup.kind === 'pg-directory-dump';
  // As many jobs as this machine has cores: what a person restoring in a hurry would give it.
  const jobs = Math.min(8, availableParallelism());
  for (const path of backup.paths) {
    // An archive the server's tools can read where it is (the local provider) is restored in
    // place, in parallel; a directory they cannot see (a container) is copied beside them first;
    // a file they cannot see is streamed to stdin.
    const inPlace = archive && (await server.run('test', ['-r', backup.kind === 'pg-directory-dump' ? join(path, 'toc.dat') : path], { allowFailure: true, quiet: true })).exitCode === 0;
    const beside = inPlace ? path : backup.kind === 'pg-directory-dump' ? await copyBeside(server, path) : undefined;
    const client = restoreCommand(backup.kind, engine, target, beside, jobs);
    const { stderr, exitCode } = await server.run(client.program, client.args, { ...(beside ? {} : { stdin: { file: path } }), env, allowFailure: true });
    record.findings.push(...classifyRestoreErrors(backup.kind === 'pg-dumpall' ? withoutAdminExists(stderr, admin.user) : stderr, exitCode));
  }
}

/** A cluster dump (or its globals) creates the admin role again; that one "already exists" is expected, not a finding. */
function withoutAdminExists(stderr: string, admin: string): string {
  return stderr
    .split('\n')
    .filter((line) => !line.includes(`role "${admin}" already exists`))
    .join('\n');
}

async function checkContents(engine: Engine, session: SqlSession, spec: VerificationSpec, record: VerificationRecord): Promise<void> {
  for (const [table, expected] of Object.entries(spec.tables)) {
    const minRows = typeof expected === 'number' ? expected : expected.minRows;
    if (!(await engine.tableExists(session, table))) {
      record.contents.push({ table, rows: null, minRows });
      record.findings.push({ code: 'table-missing', message: `table ${table} is not in the restored database: the backup does not hold it, or its restore failed (see the restore's findings)` });
      continue;
    }
    const [row] = await session.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${qualified(engine, table)}`);
    const rows = Number(row!.n);
    record.contents.push({ table, rows, minRows });
    if (rows < minRows) record.findings.push({ code: 'too-few-rows', message: `table ${table} has ${rows} rows, fewer than the ${minRows} expected: the backup is missing data` });
  }
}

const qualified = (engine: Engine, table: string) => table.split('.').map((part) => engine.quoteIdent(part)).join('.');

async function checkFreshness(session: SqlSession, freshness: NonNullable<VerificationSpec['freshness']>, record: VerificationRecord, backup: DetectedBackup): Promise<void> {
  const [row] = await session.query<Record<string, unknown>>(freshness.sql);
  const value = row ? Object.values(row)[0] : null;
  const newest = value === null || value === undefined ? null : value instanceof Date ? value.toISOString() : String(value);
  const against = freshness.against ?? (backup.takenAt ? 'backup' : 'now');
  const againstAt = against === 'backup' && backup.takenAt ? backup.takenAt : new Date().toISOString();
  const parsed = newest === null ? NaN : Date.parse(newest.includes('T') || newest.includes('Z') ? newest : `${newest.replace(' ', 'T')}Z`);
  const ageMs = Number.isFinite(parsed) ? Date.parse(againstAt) - parsed : null;
  record.freshness = { sql: freshness.sql, newest, againstAt, against, ageMs, maxAgeMs: freshness.maxAge };
  if (ageMs === null) {
    record.findings.push({ code: 'freshness-unknown', message: `the freshness query returned ${newest === null ? 'no value' : `"${newest}", not a time`}: the newest data's age is unknown; make it return a timestamp (SELECT max(created_at) FROM …)` });
  } else if (ageMs > freshness.maxAge) {
    record.findings.push({ code: 'stale-backup', message: `the newest data is ${formatDuration(ageMs)} older than ${against === 'backup' ? 'the backup' : 'now'} (at most ${formatDuration(freshness.maxAge)} allowed): the backup is stale — a restore would lose everything since; check that backups still run and capture recent data` });
  }
}

async function runChecks(engine: Engine, session: SqlSession, spec: VerificationSpec, record: VerificationRecord): Promise<void> {
  for (const check of spec.checks) {
    try {
      const value = await engine.readOnlyValue(session, check.sql);
      const passed = meetsExpectation(value, check.expect);
      record.checks.push({ name: check.name, sql: check.sql, expect: String(check.expect), value: value ?? 'NULL', passed });
      if (!passed) record.findings.push({ code: 'check-failed', message: `check "${check.name}" returned ${value ?? 'NULL'}, expected ${String(check.expect)}` });
    } catch (error) {
      record.checks.push({ name: check.name, sql: check.sql, expect: String(check.expect), passed: false, detail: errorMessage(error) });
      record.findings.push({ code: 'check-failed', message: `check "${check.name}" could not run: ${errorMessage(error)}` });
    }
  }
}

async function takeInventory(engine: Engine, session: SqlSession, connection: ConnectionInfo, record: VerificationRecord): Promise<void> {
  const snapshot = await engine.openSnapshot(connection);
  let objects;
  try {
    objects = await snapshot.inventory();
  } finally {
    await snapshot.close();
  }
  for (const object of objects) record.inventory.objects[object.kind] = (record.inventory.objects[object.kind] ?? 0) + 1;
  // Every table the backup brought, in every database it created (a dump of several has them all).
  for (const table of objects.filter((object) => object.kind === 'table')) {
    const [row] = await session.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${qualified(engine, table.name)}`);
    record.inventory.tables.push({ name: table.name, rows: Number(row!.n) });
  }
}

/** A table whose rows dropped beyond `drift` percent since the last good verification of the same source, or that is gone. */
function judgeDrift(record: VerificationRecord, previous: VerificationOptionsPrevious, drift: number): void {
  if (!previous) return;
  const now = new Map(record.inventory.tables.map((table) => [table.name, table.rows]));
  for (const table of previous) {
    const rows = now.get(table.name);
    if (rows === undefined) record.findings.push({ code: 'table-dropped', message: `table ${table.name}, in the last good verification with ${table.rows} rows, is not in this backup` });
    else if (table.rows > 0 && rows < table.rows * (1 - drift / 100)) {
      record.findings.push({ code: 'row-count-drop', message: `table ${table.name} has ${rows} rows, ${Math.round((1 - rows / table.rows) * 100)} % fewer than the ${table.rows} of the last good verification (${drift} % allowed): data went missing between the backups` });
    }
  }
}

type VerificationOptionsPrevious = VerifyOptions['previous'];
