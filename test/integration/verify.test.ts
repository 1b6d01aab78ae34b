import { TEST_IMAGE } from '../support/provider-matrix.js';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlFilesDataset } from '../../src/datasets/sql-files.js';
import type { Engine } from '../../src/engines/engine.js';
import { mariadb } from '../../src/engines/mariadb.js';
import { postgres } from '../../src/engines/postgres.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import type { StartedInstance } from '../../src/providers/provider.js';
import { CommandRunner } from '../../src/util/exec.js';
import { makeRunTempDir } from '../../src/util/os-user.js';
import { ResourceStack } from '../../src/util/resources.js';
import { loadVerification } from '../../src/verify/spec.js';
import { renderVerificationMarkdown } from '../../src/verify/report.js';
import { verifyBackup, type VerificationRecord } from '../../src/verify/verify.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, startS3rver } from '../../scripts/s3rver.js';
import { cli, leftovers, privateTmp } from '../support/drills.js';
import { bucketClient } from '../support/verify.js';
import pino from 'pino';

const SAKILA_PG = ['datasets/sakila-postgres/schema.sql', 'datasets/sakila-postgres/data.sql'];
const SAKILA_MYSQL = ['datasets/sakila-mysql/schema.sql', 'datasets/sakila-mysql/sequelpro-dump.sql'];

let work: string;
const resources = new ResourceStack();

/** A throwaway server of the engine, loaded with the files, from which the test takes its dumps the way a team would. */
async function source(engine: Engine, files: readonly string[]): Promise<StartedInstance> {
  const exec = new CommandRunner({ now: () => performance.now() });
  const instance = await localProvider.create({ name: `source-${engine.name}`, engine }, { exec, resources, workDir: work, log: pino({ level: 'silent' }), runId: 'verify-test', saveLog: () => undefined });
  await instance.initialize();
  const server = await instance.start();
  const connection = { ...server.connection, database: engine.databaseName };
  const admin = await engine.connect(server.connection);
  await engine.createDatabase(admin, engine.databaseName);
  await admin.close();
  const session = await engine.connect(connection);
  try {
    await new SqlFilesDataset(files, []).load({ engine, instance: server, connection, session });
  } finally {
    await session.close();
  }
  return server;
}

/** A dump by the engine's own dump tool, into `file` on this machine. */
async function dump(server: StartedInstance, program: string, args: string[], file: string): Promise<string> {
  await server.run(program, [...server.engine.clientArgs(server.localConnection), ...args], { stdout: { file }, env: server.engine.clientEnv(server.localConnection) });
  return file;
}

/** Objects by kind, as the inventory counts them. */
async function inventoryOf(server: StartedInstance): Promise<Record<string, number>> {
  const snapshot = await server.engine.openSnapshot({ ...server.connection, database: server.engine.databaseName });
  try {
    const counts: Record<string, number> = {};
    for (const object of await snapshot.inventory()) counts[object.kind] = (counts[object.kind] ?? 0) + 1;
    return counts;
  } finally {
    await snapshot.close();
  }
}

const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

/** Runs SQL in one database of a server. */
async function sqlIn(server: StartedInstance, database: string, text: string): Promise<void> {
  const session = await server.engine.connect({ ...server.connection, database });
  try {
    await session.query(text);
  } finally {
    await session.close();
  }
}

async function verify(paths: string[], spec: string | Record<string, unknown> = {}): Promise<VerificationRecord> {
  const file = join(work, `verify-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(file, typeof spec === 'string' ? spec : JSON.stringify(spec));
  return verifyBackup({ paths, spec: await loadVerification(file), runId: 'verify-test' });
}

const codes = (record: VerificationRecord) => record.findings.filter((finding) => !finding.ignored).map((finding) => finding.code);

beforeAll(async () => {
  work = await makeRunTempDir('firedrill-it-verify-');
});

afterAll(async () => {
  await resources[Symbol.asyncDispose]();
  await rm(work, { recursive: true, force: true });
});

describe('firedrill verify: PostgreSQL backups (real servers)', () => {
  let pg: StartedInstance;
  let custom: string;
  let sourceInventory: Record<string, number>;

  beforeAll(async () => {
    pg = await source(postgres, SAKILA_PG);
    sourceInventory = await inventoryOf(pg);
    // A table owned by a role that only the source has: a dump restored without the roles misses it.
    const session = await postgres.connect({ ...pg.connection, database: postgres.databaseName });
    await session.query("CREATE ROLE reporting; CREATE TABLE report_notes (id int PRIMARY KEY, note text); INSERT INTO report_notes SELECT g, 'n' || g FROM generate_series(1, 50) g; ALTER TABLE report_notes OWNER TO reporting");
    await session.close();
    custom = await dump(pg, 'pg_dump', ['--format=custom', `--dbname=${postgres.databaseName}`], join(work, 'sakila.dump'));
  }, 120_000);

  it("Sakila's dump files in datasets/ verify, with the objects and rows of loading them directly; the files are unchanged", async () => {
    const before = await Promise.all(SAKILA_PG.map(sha));
    const record = await verify(SAKILA_PG, { tables: { payment: 16049, film: { minRows: 1000 } }, checks: [{ name: 'films with actors', sql: 'SELECT count(DISTINCT film_id) FROM film_actor', expect: '>= 997' }] });
    expect(record.errors).toEqual([]);
    expect(codes(record)).toEqual([]);
    expect(record.status).toBe('passed');
    expect(record.kind).toBe('pg-plain-dump');
    expect(record.contents).toEqual([
      { table: 'payment', rows: 16049, minRows: 16049 },
      { table: 'film', rows: 1000, minRows: 1000 },
    ]);
    // The same objects, kind by kind, as the files loaded into a server directly.
    expect(record.inventory.objects).toEqual(sourceInventory);
    expect(record.inventory.objects).toMatchObject({ domain: 1, trigger: expect.any(Number), view: expect.any(Number) });
    expect(record.inventory.tables.find((table) => table.name === 'public.rental')?.rows).toBe(16044);
    expect(record.sourceFiles.every((file) => file.sha256After === file.sha256)).toBe(true);
    expect(await Promise.all(SAKILA_PG.map(sha))).toEqual(before);
    expect(record.restoreMs).toBeGreaterThan(0);
    // Every heap page and B-tree index read by the server's own checker, after the inventory (its extension is not counted).
    expect(record.integrity.find((check) => check.name === 'pg_amcheck')).toMatchObject({ passed: true });
    expect(record.phases.map((phase) => phase.name).slice(-2)).toEqual(['inventory', 'deep-checks']);
  });

  it('a custom-format dump restored without its roles fails with missing-role, and passes once it is ignored with a reason; its header gives the version and time', async () => {
    const record = await verify([custom], { tables: { payment: 16049 } });
    expect(record.kind).toBe('pg-custom-dump');
    expect(record.backup).toMatchObject({ database: 'firedrill', major: pg.major });
    expect(Math.abs(Date.parse(record.backupTakenAt!) - Date.now())).toBeLessThan(10 * 60_000);
    expect(codes(record)).toEqual(['missing-role']);
    expect(record.findings[0]!.message).toContain('"reporting"');
    // Readable where it is by the server's tools: restored in place, with parallel jobs.
    const restored = record.commands.find((command) => command.phase === 'restore' && command.command.includes('pg_restore'))!.command;
    expect(restored).toContain(' --jobs=');
    expect(restored.endsWith(` ${custom}`)).toBe(true);
    expect(record.status).toBe('failed');
    // Everything else did restore: the same objects as loading the files, plus the table the role owns.
    expect(record.inventory.objects.table).toBe(sourceInventory.table! + 1);

    const accepted = await verify([custom], { ignore: { 'missing-role': 'the reporting role is created by our IAM, not by the dump' } });
    expect(accepted.status).toBe('passed');
    expect(accepted.findings).toEqual([expect.objectContaining({ code: 'missing-role', ignored: 'the reporting role is created by our IAM, not by the dump' })]);
    // The Markdown summary says what was ignored, and why.
    const markdown = renderVerificationMarkdown(accepted);
    expect(markdown).toMatch(/^## firedrill verify: VERIFIED sakila\.dump\n/);
    expect(markdown).toContain(`- **source**: ${custom.replaceAll('_', '\\_')}\n- **kind**: pg-custom-dump\n`);
    expect(markdown).toContain('### Findings\n\n- **IGNORED** `missing-role`: the dump needs role "reporting", which the restored server lacks');
    expect(markdown).toContain(' Ignored: the reporting role is created by our IAM, not by the dump\n');
    expect(markdown).toMatch(/\*\*\d+\. restore\*\* as postgres, [^\n]+, exit 1\n\n {4}[^\n]*pg_restore [^\n]*--jobs=/);
  });

  it('a directory-format dump with its roles (globals) verifies', async () => {
    const globals = join(work, 'globals.sql');
    await dump(pg, 'pg_dumpall', ['--globals-only'], globals);
    const inside = `${pg.paths.scratch}/sakila.dir`;
    await pg.run('pg_dump', ['--format=directory', '-f', inside, ...postgres.clientArgs({ ...pg.localConnection, database: postgres.databaseName }), `--dbname=${postgres.databaseName}`]);
    const here = join(work, 'sakila.dir');
    await mkdir(here);
    for (const name of (await pg.run('ls', [inside], { quiet: true })).stdout.trim().split('\n')) await writeFile(join(here, name), await pg.readFile(`${inside}/${name}`));
    const record = await verify([here], { globals, tables: { report_notes: 50 } });
    expect(record.kind).toBe('pg-directory-dump');
    expect(codes(record)).toEqual([]);
    expect(record.status).toBe('passed');
  });

  it('a truncated dump and a dump with a flipped byte each fail with the finding that names them', async () => {
    const cut = join(work, 'cut.dump');
    await copyFile(custom, cut);
    await truncate(cut, Math.floor((await stat(cut)).size * 0.6));
    const truncated = await verify([cut], { ignore: { 'missing-role': 'the reporting role is not part of this test' } });
    expect(codes(truncated), JSON.stringify(truncated.findings)).toContain('truncated-backup');
    expect(truncated.status).toBe('failed');

    const flipped = join(work, 'flipped.dump');
    const bytes = await readFile(custom);
    // Inside the compressed data of the largest table, past the table of contents.
    bytes[Math.floor(bytes.length * 0.7)] ^= 0xff;
    await writeFile(flipped, bytes);
    const damaged = await verify([flipped], { ignore: { 'missing-role': 'the reporting role is not part of this test' } });
    expect(damaged.status).toBe('failed');
    expect(codes(damaged).some((code) => ['damaged-backup', 'restore-errors', 'truncated-backup'].includes(code))).toBe(true);
  });

  it('stale data fails the freshness check; the rows dropping against the last good verification is a finding', async () => {
    const stale = await verify([custom], { freshness: { sql: 'SELECT max(payment_date) FROM payment', maxAge: '720h' }, ignore: { 'missing-role': 'the reporting role is not part of this test' } });
    expect(codes(stale)).toEqual(['stale-backup']);
    expect(stale.freshness!.ageMs).toBeGreaterThan(365 * 24 * 3600_000);

    const previous = [{ name: 'public.payment', rows: 20_000 }, { name: 'public.gone', rows: 10 }];
    const file = join(work, 'drift.yaml');
    await writeFile(file, JSON.stringify({ ignore: { 'missing-role': 'the reporting role is not part of this test' } }));
    const drifted = await verifyBackup({ paths: [custom], spec: await loadVerification(file), runId: 'verify-test', previous });
    expect(codes(drifted).sort()).toEqual(['row-count-drop', 'table-dropped']);
  });

  it('the CLI verifies the newest backup under an s3:// prefix, and tells a webhook and a textfile collector; the bucket is only read', async () => {
    const s3 = await startS3rver('backups');
    const hooks: unknown[] = [];
    const hook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        hooks.push(JSON.parse(body));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const client = bucketClient(s3.endpoint);
      const cut = (await readFile(custom)).subarray(0, 4096);
      await client.send(new PutObjectCommand({ Bucket: 'backups', Key: 'nightly/app-1.dump', Body: cut }));
      // LastModified has a resolution of a second: the good dump is the newer one.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await client.send(new PutObjectCommand({ Bucket: 'backups', Key: 'nightly/app-2.dump', Body: await readFile(custom) }));
      const out = join(work, 'reports');
      const metrics = join(work, 'firedrill.prom');
      const tmp = await privateTmp();
      const run = await cli(
        ['verify', 's3://backups/nightly/', '--newest', '--s3-endpoint', s3.endpoint, '--s3-path-style', '--set', 'ignore.missing-role=the reporting role is created by our IAM', '--set', 'tables.payment=16049', '--notify-webhook-env', 'VERIFY_HOOK', '--notify-on', 'always', '--metrics-file', metrics, '--out', out, '--json'],
        { tmp, env: { ...S3RVER_CREDENTIALS, VERIFY_HOOK: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` } },
      );
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const result = JSON.parse(run.stdout) as { command: string; status: string; name: string; delivered: Array<{ sink: string; status: string }>; lastVerified: string };
      expect(result).toMatchObject({ command: 'verify', status: 'passed', name: 'nightly' });
      expect(result.delivered.map((outcome) => [outcome.sink, outcome.status])).toEqual([['webhook', 'sent'], ['textfile', 'sent']]);
      expect(hooks).toEqual([expect.objectContaining({ verdict: 'passed', summaries: [expect.objectContaining({ source: 's3://backups/nightly/app-2.dump', kind: 'pg-custom-dump' })] })]);
      expect(await readFile(metrics, 'utf8')).toMatch(/^firedrill_verify_success\{source="s3:\/\/backups\/nightly\/app-2\.dump",kind="pg-custom-dump"\} 1$/m);
      const history = (await readFile(join(out, 'verifications.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { name: string; status: string });
      expect(history).toEqual([expect.objectContaining({ name: 'nightly', status: 'passed' })]);
      // Read, never written: the two objects are there as they were, and nothing else.
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'backups' }));
      expect(listed.Contents!.map((object) => [object.Key, object.Size])).toEqual([['nightly/app-1.dump', 4096], ['nightly/app-2.dump', (await stat(custom)).size]]);
      expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    } finally {
      await new Promise((resolve) => hook.close(resolve));
      await s3.stop();
    }
  });

  it('a dump whose sequence is behind the column it feeds fails with sequence-behind', async () => {
    await sqlIn(pg, 'postgres', 'CREATE DATABASE seqs');
    await sqlIn(pg, 'seqs', "CREATE TABLE tickets (id serial PRIMARY KEY); INSERT INTO tickets SELECT generate_series(1, 10); SELECT setval('tickets_id_seq', 3)");
    const file = await dump(pg, 'pg_dump', ['--format=custom', '--dbname=seqs'], join(work, 'seqs.dump'));
    const record = await verify([file]);
    expect(codes(record)).toEqual(['sequence-behind']);
    expect(record.findings[0]!.message).toMatch(/public\.tickets_id_seq would hand out 4, but public\.tickets\.id already holds 10: the next insert collides/);
    expect(record.status).toBe('failed');
  });

  it("a dump is restored into a database of its own encoding; a locale this host lacks is collation-mismatch, text not in the dump's declared encoding encoding-mismatch", async () => {
    await sqlIn(pg, 'postgres', "CREATE DATABASE latin TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C'");
    await sqlIn(pg, 'latin', "CREATE TABLE words (id int PRIMARY KEY, word text NOT NULL); INSERT INTO words VALUES (1, 'café'), (2, 'naïve')");
    const custom = await dump(pg, 'pg_dump', ['--format=custom', '--dbname=latin'], join(work, 'latin.dump'));
    const kept = await verify([custom], { checks: [{ name: 'accents', sql: "SELECT count(*) FROM words WHERE word IN ('café', 'naïve')", expect: 2 }] });
    expect(codes(kept)).toEqual([]);
    expect(kept.backup!.charset).toMatchObject({ encoding: 'LATIN1', collation: 'C' });
    expect(kept.restoredCharset).toMatchObject({ encoding: 'LATIN1', collation: 'C' });

    // The same database dumped on a host whose locale this one does not have (the file is LATIN1: edited as bytes).
    const created = join(work, 'latin-create.sql');
    await dump(pg, 'pg_dump', ['--create', '--dbname=latin'], created);
    await writeFile(created, (await readFile(created, 'latin1')).replace("LOCALE = 'C'", "LOCALE = 'en_US.UTF-8'"), 'latin1');
    const unsorted = await verify([created]);
    expect(codes(unsorted)).toContain('collation-mismatch');
    expect(unsorted.findings.find((finding) => finding.code === 'collation-mismatch')!.message).toContain('en_US.UTF-8');
    expect(unsorted.status).toBe('failed');

    // A dump that says UTF8 and holds LATIN1 bytes.
    const mislabeled = join(work, 'latin-mislabeled.sql');
    await dump(pg, 'pg_dump', ['--dbname=latin'], mislabeled);
    await writeFile(mislabeled, (await readFile(mislabeled, 'latin1')).replace("SET client_encoding = 'LATIN1';", "SET client_encoding = 'UTF8';"), 'latin1');
    const garbled = await verify([mislabeled]);
    expect(codes(garbled)).toContain('encoding-mismatch');
    expect(garbled.status).toBe('failed');
  });

  it('a verification that cannot run is an error, never a pass, and leaves nothing behind', async () => {
    const record = await verify([join(work, 'no-such.dump')]);
    expect(record.status).toBe('error');
    expect(record.errors[0]!.message).toContain('no backup at');
    expect((await leftovers(work)).processes.filter((process) => !process.includes(`source-`))).toEqual([]);
  });
});

describe('firedrill verify: MariaDB backups (real servers)', () => {
  it('a mariadb-dump file verifies, on this machine and in a container alike; the same file cut short fails with truncated-backup', async () => {
    const server = await source(mariadb, SAKILA_MYSQL);
    // Sakila's schema is `sakila`; the Sequel Pro dump fills `sakila_dojo`.
    const file = await dump(server, 'mariadb-dump', ['--single-transaction', '--routines', '--triggers', '--databases', 'sakila', 'sakila_dojo'], join(work, 'sakila.sql'));
    const record = await verify([file], { tables: { 'sakila_dojo.payment': 16049 } });
    expect(record.kind).toBe('mysqldump');
    expect(record.contents).toEqual([{ table: 'sakila_dojo.payment', rows: 16049, minRows: 16049 }]);
    expect(record.inventory.tables.find((table) => table.name === 'sakila_dojo.rental')?.rows).toBe(16044);
    expect(record.backup).toMatchObject({ complete: true, major: server.major });
    expect(codes(record)).toEqual([]);
    expect(record.status).toBe('passed');
    // The same restore in a container of the dump's version: the same objects and rows.
    const contained = await verify([file], { tables: { 'sakila_dojo.payment': 16049 }, provider: 'docker', image: TEST_IMAGE });
    expect(contained).toMatchObject({ status: 'passed', provider: 'docker', inventory: record.inventory });

    const text = await readFile(file, 'utf8');
    const cut = join(work, 'cut.sql');
    await writeFile(cut, text.slice(0, Math.floor(text.length * 0.8)).replace(/\n[^\n]*$/, '\n'));
    const truncated = await verify([cut]);
    expect(codes(truncated)).toContain('truncated-backup');
    expect(truncated.status).toBe('failed');
    expect(await readdir(work)).toContain('sakila.sql');
  });
});
