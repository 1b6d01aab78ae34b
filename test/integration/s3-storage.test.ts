import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { s3Options, S3Storage } from '../../src/storage/s3.js';
import { ObjectNotFoundError, StorageError } from '../../src/storage/storage.js';
import { loadScenario } from '../../src/scenario/loader.js';
import { runDrill } from '../../src/runner/drill.js';
import { lastWalSegmentBefore } from '../../src/strategies/postgres-wal.js';
import { cli, drill, expectPitrLoss, objective, privateTmp, shopWith } from '../support/drills.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3Server } from '../../scripts/s3rver.js';
import { startFaultyProxy, type FaultyProxy } from '../support/s3.js';

/**
 * The s3 storage type against a real S3 API server (s3rver on loopback), directly and behind a
 * proxy that answers 503 and drops connections mid-body; then drills that keep their backups
 * in a bucket, and leave nothing there afterwards.
 */

let server: S3Server;
let proxy: FaultyProxy;
const saved = { ...process.env };

beforeAll(async () => {
  server = await startS3rver();
  proxy = await startFaultyProxy(server.endpoint);
  Object.assign(process.env, S3RVER_CREDENTIALS);
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
  for (const key of Object.keys(S3RVER_CREDENTIALS)) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

const location = (root: string, endpoint = server.endpoint, extra: Record<string, unknown> = {}) =>
  new S3Storage('primary', s3Options.parse({ type: 's3', bucket: server.bucket, endpoint, pathStyle: true, checksums: 'when-required', ...extra }), root);

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const client = () => new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });

/** Every key in the bucket under `prefix`, read with a client of the test's own. */
async function keysUnder(prefix: string): Promise<string[]> {
  const answer = await client().send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
  return (answer.Contents ?? []).map((object) => object.Key!);
}

/** Waits until the off-site copy holds every one of these files. */
async function untilCopied(files: string[]): Promise<void> {
  for (const started = performance.now(); ; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const keys = await keysUnder('offsite/');
    if (files.every((file) => keys.some((key) => key.endsWith(`/${file}`)))) return;
    if (performance.now() - started > 60_000) throw new Error(`the off-site copy never held ${files.join(', ')}: it holds ${keys.join(', ')}`);
  }
}

/** The bytes the server holds for a key, as stored. */
async function rawObject(key: string): Promise<Buffer> {
  return read((await client().send(new GetObjectCommand({ Bucket: server.bucket, Key: key }))).Body as Readable);
}

describe('s3 storage on a real S3 API server', () => {
  it('streams objects in and out byte for byte, lists past a page, and removes only its own prefix', async () => {
    const mine = location('t1/mine');
    const neighbour = location('t1/neighbour');
    await mine.open();
    // Over three 5 MiB parts: a multipart upload.
    const big = randomBytes(17 * 1024 * 1024 + 123);
    const stored = await mine.put('backup/base.tar', Readable.from([big.subarray(0, 5_000_000), big.subarray(5_000_000)]));
    expect(stored).toMatchObject({ location: 'primary', key: 'backup/base.tar', sizeBytes: big.length, sha256: sha(big) });
    expect(sha(await read(await mine.get('backup/base.tar')))).toBe(sha(big));
    expect(await mine.stat('backup/base.tar')).toMatchObject({ sizeBytes: big.length, modifiedAt: expect.any(Date) });
    expect(await mine.stat('backup/absent')).toBeUndefined();
    await expect(mine.get('backup/absent')).rejects.toBeInstanceOf(ObjectNotFoundError);

    // More keys than one list page (1000) holds.
    const names = Array.from({ length: 1005 }, (_, index) => `wal/${String(index).padStart(6, '0')}`);
    for (let start = 0; start < names.length; start += 50) {
      await Promise.all(names.slice(start, start + 50).map((name) => mine.put(name, Readable.from([Buffer.from(name)]))));
    }
    expect(await mine.list('wal/')).toEqual(names);
    expect(await mine.list('')).toHaveLength(1006);
    await neighbour.put('keep.me', Readable.from([Buffer.from('x')]));

    await mine.delete('wal/000000');
    expect(await mine.stat('wal/000000')).toBeUndefined();
    await mine.destroy();
    expect(await keysUnder('t1/mine/')).toEqual([]);
    expect(await keysUnder('t1/neighbour/')).toEqual(['t1/neighbour/keep.me']);
    await neighbour.destroy();
  });

  it('a bucket that does not exist is an error naming the location and what to do, not an empty archive', async () => {
    const missing = new S3Storage('offsite', s3Options.parse({ type: 's3', bucket: 'no-such-bucket', endpoint: server.endpoint, pathStyle: true, checksums: 'when-required' }), 'x');
    const error = await missing.open().then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/^storage "offsite": cannot open \(root\): .*bucket no-such-bucket does not exist/);
  });

  it('through 503 answers and connections dropped mid-body, every object arrives intact (by content hash)', async () => {
    const before = { ...proxy.counts };
    const flaky = location('t2', proxy.endpoint);
    await flaky.open();
    const objects = [randomBytes(9 * 1024 * 1024), randomBytes(300_000), randomBytes(1_000), randomBytes(2 * 1024 * 1024)];
    const stored = [];
    for (const [index, data] of objects.entries()) stored.push(await flaky.put(`o/${index}`, Readable.from([data])));
    for (const [index, data] of objects.entries()) {
      expect(stored[index]!.sha256).toBe(sha(data));
      expect(sha(await read(await flaky.get(`o/${index}`)))).toBe(sha(data));
      // And what the server holds, read past the proxy.
      expect(sha(await read(await location('t2').get(`o/${index}`)))).toBe(sha(data));
    }
    expect(await flaky.list('o/')).toEqual(['o/0', 'o/1', 'o/2', 'o/3']);
    expect(proxy.counts.refused - before.refused).toBeGreaterThan(0);
    expect(proxy.counts.cut - before.cut).toBeGreaterThan(0);
    await flaky.destroy();
    expect(await keysUnder('t2/')).toEqual([]);
  });
});

const s3Primary = (endpoint: () => string, prefix: string) => `  primary: { type: s3, bucket: firedrill, prefix: ${prefix}, endpoint: "${endpoint()}", pathStyle: true, checksums: when-required }`;

describe('drills keeping their backups in S3', () => {
  it('pg-dump to a bucket behind a flaky network: the restore undoes the DELETE, and the drill leaves nothing in the bucket', async () => {
    const before = { ...proxy.counts };
    const outcome = await drill(shopWith('postgres', 'pg-dump', { incident: 'kind: bad-delete, table: orders', storage: s3Primary(() => proxy.endpoint, 'pg') }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(objective(journal, OBJECTIVE.backupsIntact).passed).toBe(true);
    expect(objective(journal, OBJECTIVE.equalToSource).passed).toBe(true);
    expect(journal.storage![0]).toMatchObject({ name: 'primary', type: 's3', address: expect.stringMatching(/^s3:\/\/firedrill\/pg\/.+ at http:\/\/127\.0\.0\.1:\d+$/) });
    expect(JSON.stringify(journal)).not.toContain('S3RVER');
    expect(proxy.counts.refused - before.refused).toBeGreaterThan(0);
    expect(await keysUnder('pg/')).toEqual([]);
  });

  it('mariabackup to a bucket: restored from the stream read back from S3, page checksums verified', async () => {
    const outcome = await drill(shopWith('mariadb', 'mariabackup', { incident: 'kind: bad-delete, table: orders', storage: s3Primary(() => server.endpoint, 'maria') }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(journal.artifacts.filter((artifact) => artifact.kind === 'backup').map((artifact) => artifact.key).sort()).toEqual(['mariabackup/backup-1/backup.mbstream', 'mariabackup/backup-1/xtrabackup_info']);
    expect(await keysUnder('maria/')).toEqual([]);
  });

  it('region lost with the archive host: pg-basebackup-wal restores from the off-site copy in S3, losing what it had not copied', async () => {
    const outcome = await drill(
      shopWith('postgres', 'pg-basebackup-wal', {
        incident: 'kind: region-loss',
        target: 'region: eu\n  settings: { archive_timeout: 1s }',
        storage: `  primary: { type: local, region: eu }\n  offsite: { type: s3, region: us, bucket: firedrill, prefix: offsite, endpoint: "${server.endpoint}", pathStyle: true, checksums: when-required, copy: { from: primary, every: 500ms } }`,
      }),
      // On a busy machine the copy can still be behind the backup at the fault, and the drill then
      // rightly fails (no restorable backup off-site; see broken-backups): here it has caught up.
      { hooks: { beforeFault: ([backup]) => untilCopied(['pg-basebackup-wal/backup-1/base.tar.gz', `pg-wal/${lastWalSegmentBefore(backup!.consistentAt!.position!)}`]) } },
    );
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, location: 'offsite' });
    expect(objective(journal, OBJECTIVE.restored).passed).toBe(true);
    expect(journal.ledger!.lost).toBeGreaterThan(0);
    expect(await keysUnder('offsite/')).toEqual([]);
  });

  it('WAL archived into the bucket through the spool: point-in-time recovery from S3 loses exactly the writes after the fault', async () => {
    let archived: string[] = [];
    const outcome = await drill(shopWith('postgres', 'pg-basebackup-wal', { incident: 'kind: bad-delete, table: orders', storage: `${s3Primary(() => server.endpoint, 'walpitr')}` }), {
      hooks: {
        beforeRestore: async () => {
          archived = await keysUnder('walpitr/');
        },
      },
    });
    expectPitrLoss(outcome);
    const { journal } = outcome;
    // The server archived into the spool on its host; every segment reached the bucket.
    expect(journal.storage!.map((location) => [location.name, location.type])).toEqual([
      ['primary', 's3'],
      ['spool', 'local'],
    ]);
    const upload = journal.storage![0]!.copy!;
    expect(upload).toMatchObject({ from: 'spool', everyMs: 1000, behind: [] });
    expect(upload.objects).toBeGreaterThan(0);
    expect(upload.maxLagMs).toBeGreaterThanOrEqual(1000);
    expect(archived.filter((key) => key.includes('/pg-wal/')).length).toBe(upload.objects);
    expect(archived.filter((key) => /\/pg-wal\/[0-9A-F]{24}$/.test(key)).length).toBeGreaterThan(0);
    expect(journal.phases.map((phase) => phase.name)).toContain('upload');
    expect(await keysUnder('walpitr/')).toEqual([]);
  });

  it('binlogs streamed into an encrypted bucket through the spool: the PITR restore decrypts them and loses exactly the writes after the fault', async () => {
    const key = 'FIREDRILL_IT_BINLOG_KEY';
    process.env[key] = randomBytes(32).toString('hex');
    try {
      const storage = `  primary: { type: s3, bucket: firedrill, prefix: sealedlog, endpoint: "${server.endpoint}", pathStyle: true, checksums: when-required, encryption: { keyEnv: ${key} }, spool: { every: 300ms } }`;
      const outcome = await drill(shopWith('mariadb', 'mysqldump-binlog', { incident: 'kind: bad-delete, table: orders', storage }));
      expectPitrLoss(outcome);
      expect(outcome.journal.storage![0]!.copy).toMatchObject({ from: 'spool', everyMs: 300, behind: [] });
      expect(outcome.journal.storage![0]!.copy!.objects).toBeGreaterThan(0);
    } finally {
      delete process.env[key];
    }
  });

  it('region lost before the spool was uploaded: the base backup\'s WAL never reached the bucket, and the drill fails saying so', async () => {
    const outcome = await drill(
      shopWith('postgres', 'pg-basebackup-wal', {
        incident: 'kind: region-loss',
        target: 'settings: { archive_timeout: 1s }',
        storage: `  primary: { type: s3, region: us, bucket: firedrill, prefix: slowspool, endpoint: "${server.endpoint}", pathStyle: true, checksums: when-required, spool: { every: 10m } }`,
      }),
    );
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('failed');
    expect(journal.fault!.destroyedLocations).toEqual(['spool']);
    // What the spool held is named as never uploaded.
    expect(journal.storage![0]!.copy!.behind.some((name) => /^pg-wal\/[0-9A-F]{24}$/.test(name))).toBe(true);
    expect(objective(journal, OBJECTIVE.restored)).toMatchObject({ passed: false });
    expect(objective(journal, OBJECTIVE.restored).reason).toMatch(/WAL segment [0-9A-F]{24}, which base backup .* needs to be consistent( \(its WAL [0-9A-F]{24} – [0-9A-F]{24}\))?, is missing from archive "primary"/);
    expect(await keysUnder('slowspool/')).toEqual([]);
  });

  it('encrypted in the bucket: no plaintext canary is stored, the restore decrypts and passes; another key fails the drill in words', async () => {
    const key = 'FIREDRILL_IT_S3_KEY';
    process.env[key] = randomBytes(32).toString('hex');
    const storage = `  primary: { type: s3, bucket: firedrill, prefix: sealed, endpoint: "${server.endpoint}", pathStyle: true, checksums: when-required, encryption: { keyEnv: ${key} } }`;
    const scenario = shopWith('mariadb', 'mysqldump', { incident: 'kind: bad-delete, table: orders', storage });
    let stored: Buffer[] = [];
    const sealed = await drill(scenario, {
      hooks: {
        beforeRestore: async () => {
          stored = await Promise.all((await keysUnder('sealed/')).map(rawObject));
        },
      },
    });
    expect(sealed.journal.errors).toEqual([]);
    expect(sealed.journal.status).toBe('passed');
    expect(sealed.journal.storage![0]!.address).toMatch(/\(encrypted, AES-256-GCM\)$/);
    expect(JSON.stringify(sealed.journal)).not.toContain(process.env[key]);
    // The dump is SQL text: its statements and the dataset's names are the canaries.
    expect(stored.length).toBeGreaterThan(0);
    for (const bytes of stored) for (const canary of ['CREATE TABLE', 'INSERT INTO', 'order_items', 'Dump completed']) expect(bytes.includes(canary), canary).toBe(false);

    // The key rotated without re-encrypting: the backups are as good as lost, and the drill says so.
    const rotated = await drill(scenario, {
      hooks: {
        beforeRestore: async () => {
          process.env[key] = randomBytes(32).toString('hex');
        },
      },
    });
    delete process.env[key];
    expect(rotated.journal.status).toBe('failed');
    expect(objective(rotated.journal, OBJECTIVE.restored)).toMatchObject({ passed: false });
    expect(objective(rotated.journal, OBJECTIVE.restored).reason).toMatch(/^no backup could be restored: backup 1: mysqldump\/backup-1\/dump\.sql in "primary" cannot be decrypted: the key is not the one it was encrypted with/);
    expect(objective(rotated.journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(await keysUnder('sealed/')).toEqual([]);
  });

  it.each(['pg-region-loss-s3-offsite', 'mariadb-s3-encrypted'])('the shipped scenario %s runs as its comments say, with the endpoint from the environment', async (name) => {
    const env = { AWS_ENDPOINT_URL_S3: server.endpoint, FIREDRILL_BACKUP_KEY: randomBytes(32).toString('hex') };
    Object.assign(process.env, env);
    const runDir = await mkdtemp(join(tmpdir(), 'firedrill-test-reports-'));
    try {
      const scenario = await loadScenario(join(process.cwd(), 'scenarios', `${name}.yaml`));
      const { journal } = await runDrill(scenario, { runId: 'test', runDir });
      expect(journal.errors).toEqual([]);
      expect(journal.status).toBe('passed');
      expect(journal.storage!.find((location) => location.type === 's3')!.address).toMatch(/^s3:\/\/firedrill\/.+ \(encrypted, AES-256-GCM\)$/);
      expect(await keysUnder('')).toEqual([]);
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
      await rm(runDir, { recursive: true, force: true });
    }
  });

  it('after kill -9 of firedrill mid-drill, cleanup removes what it had stored in the bucket', async () => {
    const tmp = await privateTmp();
    const file = join(tmp, 'kill.yaml');
    await writeFile(file, shopWith('postgres', 'pg-dump', { incident: 'kind: bad-delete, table: orders, at: 30s', storage: s3Primary(() => server.endpoint, 'killed') }).replace(', at: 4s', ''));
    const env = { ...S3RVER_CREDENTIALS };
    let killed = false;
    await cli(['run', file, '--out', join(tmp, 'out')], {
      tmp,
      env,
      onStderr: (text, child) => {
        if (!killed && text.includes('✓ backup')) {
          killed = true;
          child.kill('SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    const left = await keysUnder('killed/');
    expect(left.some((key) => key.includes('/pg-dump/backup-1/'))).toBe(true);
    const doctor = await cli(['doctor'], { tmp, env });
    expect(doctor.stdout).toMatch(/objects: primary: s3:\/\/firedrill\/killed\//);
    const cleanup = await cli(['cleanup'], { tmp, env });
    expect(cleanup.code).toBe(0);
    expect(await keysUnder('killed/')).toEqual([]);
  });
});
