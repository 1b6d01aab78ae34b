import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine, SqlSession } from '../../src/engines/engine.js';
import { mariadb } from '../../src/engines/mariadb.js';
import { postgres } from '../../src/engines/postgres.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import type { StartedInstance } from '../../src/providers/provider.js';
import { LocalDirectoryStorage } from '../../src/storage/local-directory.js';
import { takeMariabackup } from '../../src/strategies/mariabackup.js';
import { BINLOG_SETTINGS } from '../../src/strategies/mariadb-tools.js';
import { takeBaseBackup } from '../../src/strategies/pg-basebackup.js';
import { pgbackrestStrategy } from '../../src/strategies/pgbackrest.js';
import { copyArchiveCommand, switchAndArchive } from '../../src/strategies/postgres-wal.js';
import { CommandRunner } from '../../src/util/exec.js';
import { makeRunTempDir } from '../../src/util/os-user.js';
import { ResourceStack } from '../../src/util/resources.js';
import { loadVerification } from '../../src/verify/spec.js';
import { verifyBackup, type VerificationRecord } from '../../src/verify/verify.js';
import { cli, leftovers, privateTmp } from '../support/drills.js';
import { TEST_IMAGE } from '../support/provider-matrix.js';
import { backupContext, bucketClient, bucketListing, uploadTree } from '../support/verify.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../../scripts/s3rver.js';

/**
 * `firedrill verify` of physical backups taken by firedrill's own strategies or by the tools
 * themselves, on tiny databases: each restore is a copy, a recovery and the checks, seconds each.
 */
let work: string;
const resources = new ResourceStack();
const exec = new CommandRunner({ now: () => performance.now() });

async function server(engine: Engine, name: string, settings: Record<string, string>, writable: string[] = []): Promise<StartedInstance> {
  const instance = await localProvider.create({ name, engine, settings, writable }, { exec, resources, workDir: work, log: pino({ level: 'silent' }), runId: 'verify-test', saveLog: () => undefined });
  await instance.initialize();
  const started = await instance.start();
  const admin = await engine.connect(started.connection);
  await engine.createDatabase(admin, engine.databaseName);
  await admin.close();
  return started;
}

async function sql<T = Record<string, unknown>>(instance: StartedInstance, text: string, database = instance.engine.databaseName): Promise<T[]> {
  const session: SqlSession = await instance.engine.connect({ ...instance.connection, database });
  try {
    return await session.query<T>(text);
  } finally {
    await session.close();
  }
}

async function verify(paths: string[], spec: Record<string, unknown> = {}): Promise<VerificationRecord> {
  const file = join(work, `verify-${Math.random().toString(16).slice(2)}.json`);
  await writeFile(file, JSON.stringify(spec));
  return verifyBackup({ paths, spec: await loadVerification(file), runId: 'verify-test' });
}

const codes = (record: VerificationRecord) => record.findings.filter((finding) => !finding.ignored).map((finding) => finding.code);

/** sha256 of every file under the directories, by path: hashed by the test itself, before and after a verification. */
async function hashes(...dirs: string[]): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const dir of dirs) {
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) sums.set(join(entry.parentPath, entry.name), createHash('sha256').update(await readFile(join(entry.parentPath, entry.name))).digest('hex'));
    }
  }
  return sums;
}

/** The record's own account of the source: every file hashed, and the same bytes after the verification. */
function expectUnchanged(record: VerificationRecord, before: Map<string, string>): void {
  expect(record.sourceFiles.length).toBe(before.size);
  for (const file of record.sourceFiles) expect([file.path, file.sha256, file.sha256After]).toEqual([file.path, before.get(file.path), before.get(file.path)]);
}

/** Flips a byte inside a file, as a bad disk or a bad copy would. */
async function flipByte(path: string, at: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

/** A copy of a directory, as root, readable by the servers' accounts like the original. */
async function copyTree(from: string, to: string): Promise<string> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { recursive: true, withFileTypes: true })) {
    const relative = join(entry.parentPath, entry.name).slice(from.length);
    if (entry.isDirectory()) await mkdir(join(to, relative), { recursive: true });
    else if (entry.isFile()) await copyFile(join(from, relative), join(to, relative));
  }
  await chmodTree(to);
  return to;
}

async function chmodTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
}

beforeAll(async () => {
  work = await makeRunTempDir('firedrill-it-verify-physical-');
});

afterAll(async () => {
  await resources[Symbol.asyncDispose]();
  await rm(work, { recursive: true, force: true });
});

describe('firedrill verify: a PostgreSQL base backup and its WAL archive (real pg_basebackup and recovery)', () => {
  let pg: StartedInstance;
  let backups: string;
  let wal: string;
  let plain: string;
  let startSegment: string;
  /** Between the second and the third batch of rows: a commit after it is in the archive. */
  let between: string;

  beforeAll(async () => {
    backups = join(work, 'pg-backups');
    wal = join(backups, 'wal');
    // The archive_command of firedrill's own WAL strategies.
    pg = await server(postgres, 'pg-source', { archive_mode: 'on', archive_command: copyArchiveCommand(wal) }, [backups, wal]);
    const batch = (n: number) => sql(pg, `INSERT INTO orders (note) SELECT 'batch ${n}' FROM generate_series(1, 100)`);
    await sql(pg, 'CREATE TABLE orders (id serial PRIMARY KEY, note text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp())');
    await batch(1);
    plain = join(backups, 'base');
    await pg.run('pg_basebackup', ['-D', plain, '-Fp', '-X', 'none', '--checkpoint=fast', '--no-password', ...postgres.clientArgs(pg.localConnection)]);
    startSegment = /\(file ([0-9A-F]{24})\)/.exec(await readFile(join(plain, 'backup_label'), 'utf8'))![1]!;
    await batch(2);
    await sql(pg, 'SELECT pg_switch_wal()');
    between = (await sql<{ t: Date }>(pg, 'SELECT clock_timestamp() AS t'))[0]!.t.toISOString();
    await batch(3);
    await switchAndArchive(backupContext(pg, new LocalDirectoryStorage('primary', backups, 'local'), exec));
    await chmodTree(backups);
  }, 60_000);

  it('the CLI verifies a plain base backup with its archive to a time between two commits: rows of that time, the commit after it proving it; backup and archive unchanged, nothing left behind', async () => {
    const before = await hashes(plain, wal);
    const tmp = await privateTmp();
    const run = await cli(['verify', plain, '--wal', wal, '--target-time', between, '--set', 'tables.orders=200', '--out', join(tmp, 'reports'), '--json'], { tmp });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const record = JSON.parse(await readFile(join((JSON.parse(run.stdout) as { dir: string }).dir, 'verification.json'), 'utf8')) as VerificationRecord;
    expect(record.errors).toEqual([]);
    expect(record.inventory.tables).toContainEqual({ name: 'public.orders', rows: 200 });
    expect(codes(record)).toEqual([]);
    expect(record.status).toBe('passed');
    expect(record).toMatchObject({ kind: 'pg-base-backup', database: 'firedrill', backup: { major: pg.major, physical: { format: 'plain', startWal: startSegment } } });
    expect(record.recovery).toMatchObject({ reached: true });
    expect(record.recovery!.detail).toMatch(/^recovery stopping before commit of transaction \d+, time /);
    // Recovered with the backup's manifest checked, and a restore_command that only reads the archive.
    const commands = record.commands.map((command) => command.command);
    expect(commands.some((command) => /pg_verifybackup --no-parse-wal /.test(command))).toBe(true);
    expect(commands.find((command) => command.includes('restore_command='))).toMatch(/archive_mode=off .*restore_command=.*cp \S+\/wal\/%f %p/);
    expect(record.integrity.find((check) => check.name === 'pg_amcheck')).toMatchObject({ passed: true });
    expectUnchanged(record, before);
    expect(await hashes(plain, wal)).toEqual(before);
    await rm(join(tmp, 'reports'), { recursive: true });
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('the same base backup and archive verify in a container of the backup\'s version, bound read-only: the rows of the archive\'s end, backup and archive unchanged', async () => {
    const before = await hashes(plain, wal);
    const record = await verify([plain], { wal, provider: 'docker', image: TEST_IMAGE, tables: { orders: 300 } });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual([]);
    expect(record).toMatchObject({ status: 'passed', provider: 'docker', kind: 'pg-base-backup', recovery: { reached: true } });
    expect(record.inventory.tables).toContainEqual({ name: 'public.orders', rows: 300 });
    expectUnchanged(record, before);
    expect(await hashes(plain, wal)).toEqual(before);
  });

  it('the CLI verifies a base backup directory and its archive from s3:// prefixes, fetched with reads only: the rows of the archive\'s end, the fetched files hashed under their URLs, the bucket listing unchanged; a Markdown summary beside the others', async () => {
    // Tar format: a plain backup is a thousand objects, each a request to upload and to fetch (about 10 s more here).
    const tar = join(backups, 'base-tar');
    await pg.run('pg_basebackup', ['-D', tar, '-Ft', '-z', '-X', 'none', '--checkpoint=fast', '--no-password', ...postgres.clientArgs(pg.localConnection)]);
    await switchAndArchive(backupContext(pg, new LocalDirectoryStorage('primary', backups, 'local'), exec));
    await chmodTree(backups);
    const s3 = await startS3rver('backups');
    try {
      const client = bucketClient(s3.endpoint);
      await uploadTree(client, 'backups', 'nightly/base/', tar);
      await uploadTree(client, 'backups', 'nightly/wal/', wal);
      const listed = await bucketListing(client, 'backups');
      const tmp = await privateTmp();
      const run = await cli(['verify', 's3://backups/nightly/base/', '--wal', 's3://backups/nightly/wal', '--s3-endpoint', s3.endpoint, '--s3-path-style', '--set', 'tables.orders=300', '--out', join(tmp, 'reports'), '--json'], { tmp, env: S3RVER_CREDENTIALS });
      expect(run.stderr).toBe('');
      expect(run.code, run.stdout).toBe(0);
      const { dir } = JSON.parse(run.stdout) as { dir: string };
      const record = JSON.parse(await readFile(join(dir, 'verification.json'), 'utf8')) as VerificationRecord;
      expect(record.errors).toEqual([]);
      expect(codes(record)).toEqual([]);
      expect(record).toMatchObject({ status: 'passed', name: 'base', source: 's3://backups/nightly/base/', kind: 'pg-base-backup', backup: { physical: { format: 'tar', gzip: true } }, recovery: { reached: true } });
      expect(record.inventory.tables).toContainEqual({ name: 'public.orders', rows: 300 });
      // What was verified is what was uploaded: every object, by its URL, with the bytes of the file it was made from.
      const uploaded = new Map([...(await hashes(tar, wal))].map(([path, sha256]) => [path.startsWith(tar) ? `s3://backups/nightly/base${path.slice(tar.length)}` : `s3://backups/nightly/wal${path.slice(wal.length)}`, sha256]));
      expect(uploaded.size).toBe(listed.length);
      expectUnchanged(record, uploaded);
      expect(await bucketListing(client, 'backups')).toEqual(listed);

      const markdown = await readFile(join(dir, 'verification.md'), 'utf8');
      expect(markdown).toMatch(/^## firedrill verify: VERIFIED base\n\nrestored in .+; every check held\n/);
      expect(markdown).toContain('- **source**: s3://backups/nightly/base/\n- **kind**: pg-base-backup\n');
      expect(markdown).toContain(`- **restored into**: ${record.serverVersion} (local)\n`);
      expect(markdown).toMatch(/- \*\*recovery\*\*: to the end of the archive: reached — /);
      expect(markdown).toContain(`- **files verified**: ${uploaded.size.toLocaleString('en-US')} (`);
      expect(markdown).toContain('### Findings\n\nNo finding.\n');
      expect(markdown).toContain('- **PASS** pg\\_amcheck: ');
      expect(markdown).toContain('- **PASS** orders: 300 rows, at least 300\n');
      expect(markdown).toMatch(/### Inventory\n\n- \*\*tables\*\*: 1\n- \*\*rows\*\*: 300\n(- \w+: \d+\n)*- table: 1\n/);
      // Each command as it ran, a literal code block: the restore_command reads the fetched copy of the archive.
      expect(markdown).toMatch(/\*\*\d+\. recovery\*\* as postgres, [^\n]+, in the background\n\n {4}[^\n]*\/postgres -D [^\n]*'restore_command=cp \S+\/wal\/%f %p'/);
      expect(markdown.split('\n').filter((line) => /^\*\*\d+\. /.test(line))).toHaveLength(record.commands.length);
      await rm(join(tmp, 'reports'), { recursive: true });
      expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    } finally {
      await s3.stop();
    }
  });

  it('the same backup with one WAL segment gone from a copy of the archive fails with wal-missing, naming it', async () => {
    const gap = await copyTree(wal, join(work, 'wal-gap'));
    const missing = `${startSegment.slice(0, 16)}${(Number.parseInt(startSegment.slice(16), 16) + 1).toString(16).toUpperCase().padStart(8, '0')}`;
    await rm(join(gap, missing));
    const record = await verify([plain], { wal: gap });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual(['wal-missing']);
    expect(record.findings[0]!.message).toContain(`WAL segment ${missing} is missing`);
    expect(record.status).toBe('failed');
    // Recovery stopped at the gap: only the rows of the backup itself came back.
    expect(record.inventory.tables).toContainEqual({ name: 'public.orders', rows: 100 });

    // Without the segment the backup starts in, it is never consistent: no server, and the finding says which segment.
    await rm(join(gap, startSegment));
    const unusable = await verify([plain], { wal: gap });
    expect(unusable.errors).toEqual([]);
    expect(codes(unusable)).toEqual(['wal-missing']);
    expect(unusable.findings[0]!.message).toMatch(new RegExp(`cannot reach a consistent state: WAL segment ${startSegment}, which the base backup needs`));
    expect(unusable).toMatchObject({ status: 'failed', restoreMs: null });
  });

  it('a time past the last commit in the archive is not reached: target-not-reached, because no later commit proves it', async () => {
    const record = await verify([plain], { wal, target: { time: new Date(Date.now() + 3600_000).toISOString() } });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual(['target-not-reached']);
    expect(record.findings[0]!.message).toMatch(/found no commit later than the target/);
    expect(record.recovery).toMatchObject({ reached: false });
    expect(record.status).toBe('failed');
    // Opened where the archive ends, and checked: every row the archive holds.
    expect(record.inventory.tables).toContainEqual({ name: 'public.orders', rows: 300 });
  });

  it('a data file of the backup changed after it was taken fails with manifest-mismatch', async () => {
    const damaged = await copyTree(plain, join(work, 'base-damaged'));
    const [{ path }] = await sql<{ path: string }>(pg, "SELECT pg_relation_filepath('orders') AS path");
    await flipByte(join(damaged, path), 100);
    const record = await verify([damaged], { wal });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toContain('manifest-mismatch');
    expect(record.findings.find((finding) => finding.code === 'manifest-mismatch')!.message).toContain(path);
    expect(record.status).toBe('failed');
  });

  it("firedrill's own base backup (one tar stream) restores; a database whose recorded collation version this host's ICU does not have is collation-mismatch", async () => {
    // Last in this file: it changes the source, whose archive the tests before read to its end.
    await sql(pg, "CREATE DATABASE icu TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'");
    await sql(pg, "UPDATE pg_database SET datcollversion = '1.0' WHERE datname = 'icu'");
    const storage = new LocalDirectoryStorage('primary', backups, 'local');
    const context = backupContext(pg, storage, exec);
    const { objects } = await takeBaseBackup(context, 'pg-basebackup-wal/backup-1/base', { compression: 'gzip' }, 'none');
    await switchAndArchive(context);
    await chmodTree(backups);
    const tar = join(backups, objects[0]!.key);
    const record = await verify([tar], { wal, tables: { orders: 300 } });
    expect(record.errors).toEqual([]);
    expect(record).toMatchObject({ kind: 'pg-base-backup', backup: { physical: { format: 'tar', gzip: true } } });
    expect(codes(record)).toEqual(['collation-mismatch']);
    expect(record.findings[0]!.message).toMatch(/icu was built with collation version 1\.0, this host has \d+/);
    expect(record.status).toBe('failed');
  });
});

describe("firedrill verify: a pgBackRest repository (firedrill's pgbackrest strategy, real pgBackRest)", () => {
  let repo: string;

  beforeAll(async () => {
    const storage = new LocalDirectoryStorage('primary', join(work, 'pgbackrest-storage'), 'local');
    await storage.open();
    const strategy = pgbackrestStrategy.create(pgbackrestStrategy.options.parse({ processMax: 1 }));
    const setup = strategy.sourceSetup!({ storage, archive: storage, engine: postgres });
    const pg = await server(postgres, 'pgbackrest-source', setup.settings!, setup.writable);
    await sql(pg, "CREATE TABLE orders (id serial PRIMARY KEY, note text NOT NULL); INSERT INTO orders (note) SELECT 'before' FROM generate_series(1, 100)");
    const context = backupContext(pg, storage, exec);
    await strategy.prepare!(context);
    await strategy.backup(context);
    await sql(pg, "INSERT INTO orders (note) SELECT 'after' FROM generate_series(1, 50)");
    await strategy.afterDetection!(context);
    repo = join(storage.root, 'pgbackrest');
  }, 60_000);

  it('verifies: pgbackrest verify, a restore of the newest set with the WAL after it, the repository unchanged', async () => {
    const before = await hashes(repo);
    const record = await verify([repo], { tables: { orders: 150 } });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual([]);
    expect(record.status).toBe('passed');
    expect(record).toMatchObject({ kind: 'pgbackrest', backup: { physical: { stanza: 'firedrill' } } });
    const commands = record.commands.map((command) => command.command);
    expect(commands.some((command) => / verify$/.test(command))).toBe(true);
    expect(commands.find((command) => / restore$/.test(command))).toMatch(/--archive-mode=off --type=default restore$/);
    expectUnchanged(record, before);
    expect(await hashes(repo)).toEqual(before);
  });

  it('a damaged file in a copy of the repository fails with manifest-mismatch', async () => {
    const damaged = await copyTree(repo, join(work, 'pgbackrest-damaged'));
    const sets = join(damaged, 'backup', 'firedrill');
    const set = (await readdir(sets)).find((name) => /F$/.test(name))!;
    const files = (await readdir(join(sets, set, 'pg_data', 'base'), { recursive: true })).filter((name) => name.endsWith('.lz4'));
    await flipByte(join(sets, set, 'pg_data', 'base', files[0]!), 20);
    const record = await verify([damaged]);
    expect(record.errors).toEqual([]);
    expect(codes(record)[0]).toBe('manifest-mismatch');
    expect(record.findings[0]!.message).toMatch(/backup set \S+F invalid/);
    expect(record.status).toBe('failed');
  });
});

describe("firedrill verify: a mariadb-backup directory (firedrill's mariabackup strategy, real mariadb-backup)", () => {
  let backup: string;
  let binlogs: string;

  beforeAll(async () => {
    const maria = await server(mariadb, 'mariadb-source', BINLOG_SETTINGS);
    await sql(maria, "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, note varchar(20) NOT NULL); INSERT INTO orders (note) SELECT 'before' FROM seq_1_to_100");
    const storage = new LocalDirectoryStorage('primary', join(work, 'mariabackup-storage'), 'local');
    await storage.open();
    const { objects } = await takeMariabackup(backupContext(maria, storage, exec), 'mariabackup/backup-1', 1);
    // The directory a team's `mariadb-backup --backup --target-dir` leaves: the stream unpacked, not prepared.
    backup = join(work, 'mariabackup-dir');
    await maria.claim(backup);
    await maria.run('mbstream', ['-x', '-C', backup], { stdinFile: join(storage.root, objects[0]!.key) });
    await sql(maria, "INSERT INTO orders (note) SELECT 'after' FROM seq_1_to_50; FLUSH BINARY LOGS");
    binlogs = join(work, 'binlogs');
    await mkdir(binlogs);
    for (const { Log_name: name } of await sql<{ Log_name: string }>(maria, 'SHOW BINARY LOGS')) await copyFile(join(maria.paths.data, name), join(binlogs, name));
    await chmodTree(binlogs);
    await chmodTree(backup);
  }, 60_000);

  it('an unprepared backup verifies, prepared in a copy, with the binlogs after it replayed — here and in a container, bound read-only; the directory and the binlogs unchanged', async () => {
    const before = await hashes(backup, binlogs);
    const record = await verify([backup], { binlogs, tables: { 'firedrill.orders': 150 } });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual([]);
    expect(record.status).toBe('passed');
    expect(record).toMatchObject({ kind: 'mariadb-backup', database: 'firedrill', backup: { major: '10.11', physical: { prepared: false } } });
    expect(record.recovery).toMatchObject({ reached: true });
    expect(record.commands.some((command) => command.command.includes('--prepare --target-dir=') && !command.command.includes(backup))).toBe(true);
    expectUnchanged(record, before);
    expect(await hashes(backup, binlogs)).toEqual(before);
    const contained = await verify([backup], { binlogs, tables: { 'firedrill.orders': 150 }, provider: 'docker', image: TEST_IMAGE });
    expect(contained).toMatchObject({ status: 'passed', provider: 'docker', findings: [], recovery: { reached: true } });
    expect(await hashes(backup, binlogs)).toEqual(before);

    const later = await verify([backup], { binlogs, target: { time: new Date(Date.now() + 3600_000).toISOString() } });
    expect(codes(later)).toEqual(['target-not-reached']);
    expect(later.findings[0]!.message).toMatch(/the archive's last transaction is before/);
  });

  it('a damaged page in a copy of the backup fails with damaged-backup', async () => {
    const damaged = await copyTree(backup, join(work, 'mariabackup-damaged'));
    // Page 3 of a table's file is its first index page. Not a table the backup's redo log
    // rewrites as it is prepared (a table created just before the backup is initialized from
    // the log, damaged or not): one that has not changed since the server was installed.
    await flipByte(join(damaged, 'mysql', 'transaction_registry.ibd'), 3 * 16384 + 1000);
    const record = await verify([damaged]);
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual(['damaged-backup']);
    expect(record.findings[0]!.message).toContain('transaction_registry.ibd');
    expect(record.status).toBe('failed');
  });
});
