import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, startS3rver, type S3Server } from '../../scripts/s3rver.js';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import type { StorageLocation } from '../../src/storage/storage.js';
import { drill, objective, shopWith } from '../support/drills.js';

/**
 * pgBackRest on real PostgreSQL: a full and an incremental backup while the workload runs,
 * every WAL segment pushed by archive-push, pgbackrest verify before the restore, and a restore
 * through the chain to just before the fault — then with the newest backup damaged.
 */
const scenario = (latent: string[] = []): string =>
  shopWith('postgres', '{ name: pgbackrest, schedule: [full, incr] }', { incident: 'kind: bad-delete, table: orders', latent, backups: '{ count: 2, every: 2s }' }).replace('at: 4s', 'at: 6s');

describe('pgbackrest (real pgBackRest and PostgreSQL)', () => {
  it('restores the incremental chain to just before the fault: the DELETE undone, exactly the writes after it lost, the repository untouched by the restored server', async () => {
    let archived: string[] = [];
    let location: StorageLocation | undefined;
    const { journal, ledger } = await drill(scenario(), {
      hooks: {
        // After the restored server has run: what it could have pushed is there by now.
        afterRecovery: async () => {
          archived = await location!.list('pgbackrest/archive/');
        },
        beforeRestore: async (context) => {
          location = context.storage;
        },
      },
    });
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(journal.backups!.map((backup) => backup.consistentAt!.detail)).toEqual([
      expect.stringMatching(/^full backup \d{8}-\d{6}F; WAL /),
      expect.stringMatching(/^incr backup \d{8}-\d{6}F_\d{8}-\d{6}I, based on \d{8}-\d{6}F; WAL /),
    ]);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 2, point: 'fault' });
    expect(journal.recovery!.detail).toMatch(/recovery stopping before commit of transaction \d+.*restored incr backup \S+ \(chain \S+F → \S+I\)/);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(journal.ledger!.lostBeforeFault).toBe(0);
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(true);
    // The runbook: verify, then a restore that keeps the restored server from archiving.
    const commands = journal.commands.map((command) => command.command);
    expect(commands.some((command) => / verify$/.test(command))).toBe(true);
    expect(commands.find((command) => / restore$/.test(command))).toMatch(/--set=\S+I --archive-mode=off --type=xid --target=\d+ --target-exclusive --target-action=promote restore$/);
    // Only the source's timeline reached the repository.
    expect(archived.length).toBeGreaterThan(0);
    expect(archived.filter((key) => /\/00000002/.test(key))).toEqual([]);
  });

  it('a damaged backup.manifest in the newest backup, which pgBackRest itself restores past: the checksums catch it, the full backup is restored, and the drill fails', async () => {
    const { journal, ledger } = await drill(scenario(['kind: corrupt-backup, object: backup.manifest']));
    expect(journal.errors).toEqual([]);
    expect(journal.latentFaults![0]!.description).toMatch(/backup\.manifest in "primary" flipped/);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 1, attempts: [{ backup: 2 }] });
    expect(journal.recovery!.attempts![0]!.defect).toMatch(/^backup file pgbackrest\/backup\/firedrill\/\S+I\/backup\.manifest in "primary" was changed after it was taken: sha256 /);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });
});

/**
 * pgBackRest writing its repository into an S3 bucket with its own client: s3rver over HTTPS
 * with a certificate of its own, trusted through the location's caFile.
 */
describe('pgbackrest with its repository in S3 (real pgBackRest, an S3 server over HTTPS)', () => {
  let server: S3Server;
  const saved = { ...process.env };
  beforeAll(async () => {
    server = await startS3rver('firedrill', { tls: true });
    Object.assign(process.env, S3RVER_CREDENTIALS);
  });
  afterAll(async () => {
    await server?.stop();
    for (const key of Object.keys(S3RVER_CREDENTIALS)) if (saved[key] === undefined) delete process.env[key];
  });
  const inBucket = (latent: string[] = []) => scenario(latent).replace('strategy:', `storage:\n  primary: { type: s3, bucket: firedrill, prefix: rest, endpoint: "${server.endpoint}", pathStyle: true, checksums: when-required, caFile: "${server.caFile}" }\nstrategy:`);
  const keys = async () => {
    const client = new S3Client({ region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, requestHandler: { httpsAgent: new Agent({ ca: await readFile(server.caFile!) }) } });
    const found: string[] = [];
    for await (const page of paginateListObjectsV2({ client }, { Bucket: server.bucket, Prefix: 'rest/' })) found.push(...(page.Contents ?? []).map((object) => object.Key!));
    return found;
  };

  it('point-in-time recovery through pgBackRest from S3: full + incremental restored, exactly the writes after the fault lost, nothing left in the bucket', async () => {
    let stored: string[] = [];
    const { journal, ledger } = await drill(inBucket(), {
      hooks: {
        beforeRestore: async () => {
          stored = await keys();
        },
      },
    });
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 2, point: 'fault' });
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(journal.ledger!.lost).toBeGreaterThan(100);
    expect(journal.ledger!.lostBeforeFault).toBe(0);
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(true);
    // pgBackRest wrote the repository into the bucket itself: backup sets and the WAL archive.
    expect(stored.some((key) => /\/pgbackrest\/backup\/firedrill\/\d{8}-\d{6}F_\d{8}-\d{6}I\/backup\.manifest$/.test(key))).toBe(true);
    // Bundled: a few objects per set, not one per data file.
    expect(stored.some((key) => /\/pgbackrest\/backup\/firedrill\/\d{8}-\d{6}F\/bundle\/1$/.test(key))).toBe(true);
    expect(stored.some((key) => /\/pgbackrest\/archive\/firedrill\/15-1\/0000000100000000\/[0-9A-F]{24}-[0-9a-f]{40}\.lz4$/.test(key))).toBe(true);
    // The credentials reached pgBackRest's private configuration only.
    expect(JSON.stringify(journal)).not.toContain('S3RVER');
    expect(journal.commands.find((command) => /write \S+pgbackrest\.conf/.test(command.command))!.command).toMatch(/repo1-type=s3 .*repo1-s3-uri-style=path repo1-storage-ca-file=\S+ repo1-bundle=y repo1-s3-key=… repo1-s3-key-secret=… /);
    expect(await keys()).toEqual([]);
  });

  it('a damaged backup.manifest in the bucket: the checksums catch it, the full backup is restored, and the drill fails', async () => {
    const { journal } = await drill(inBucket(['kind: corrupt-backup, object: backup.manifest']));
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, backupUsed: 1, attempts: [{ backup: 2 }] });
    expect(journal.recovery!.attempts![0]!.defect).toMatch(/backup\.manifest in "primary" was changed after it was taken: sha256 /);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
    expect(await keys()).toEqual([]);
  });

  it('an S3 endpoint over plain HTTP is refused before a backup is taken, saying what to do', async () => {
    const plain = await startS3rver();
    try {
      const { journal } = await drill(inBucket().replace(server.endpoint, plain.endpoint));
      expect(journal.status).toBe('error');
      expect(journal.errors[0]!.message).toMatch(/^pgBackRest reaches S3 over HTTPS only, and storage "primary" is at http:\/\/127\.0\.0\.1:\d+/);
      expect(journal.errors[0]!.hint).toMatch(/https:\/\/… \(with caFile/);
      expect(journal.backups ?? []).toEqual([]);
    } finally {
      await plain.stop();
    }
  });
});

/**
 * Barman on real PostgreSQL: backups with backup_method postgres, WAL streamed by pg_receivewal
 * through a replication slot, barman recover to just before the fault — then with a backup file
 * damaged.
 */
const withBarman = (latent: string[] = []) =>
  shopWith('postgres', 'barman', { incident: 'kind: bad-delete, table: orders', latent, backups: '{ count: 2, every: 2s }' }).replace('at: 4s', 'at: 7s');

describe('barman (real Barman and PostgreSQL)', () => {
  it('recovers to just before the fault from streamed WAL: the DELETE undone, exactly the writes after it lost', async () => {
    const { journal, ledger } = await drill(withBarman());
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(journal.backups!.map((backup) => backup.consistentAt!.detail)).toEqual([expect.stringMatching(/^Barman backup \d{8}T\d{6}; WAL [0-9A-F]{24} – [0-9A-F]{24} /), expect.stringMatching(/^Barman backup \d{8}T\d{6}; /)]);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 2, point: 'fault' });
    expect(journal.recovery!.detail).toMatch(/recovery stopping before commit of transaction \d+.*restored Barman backup \d{8}T\d{6}/);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(true);
    expect(journal.commands.map((command) => command.command).find((command) => / recover /.test(command))).toMatch(/recover --target-xid \d+ --exclusive --target-action promote firedrill \d{8}T\d{6} \S+$/);
  });

  it('with WAL pushed by archive_command instead: the DELETE undone the same way, from segments Barman moved out of its incoming directory', async () => {
    const { journal, ledger } = await drill(withBarman().replace('strategy: barman', 'strategy: { name: barman, wal: archive }'));
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 2, point: 'fault' });
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(true);
    expect(journal.commands.some((command) => /archiver = on/.test(command.command))).toBe(true);
  });

  it('archive_command ships only closed segments: a lost disk takes the open one, and the drill reports the writes it held as lost', async () => {
    const { journal, ledger } = await drill(
      shopWith('postgres', '{ name: barman, wal: archive }', { incident: 'kind: disk-loss', extra: 'objectives: { rpo: 1s }\n' }).replace('at: 4s', 'at: 6s'),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true });
    // Writes acknowledged before the disk went, in the segment no archive had: lost, and counted.
    expect(journal.ledger!.lostBeforeFault).toBeGreaterThan(0);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBeGreaterThan(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.dataLoss)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });

  it('a byte flipped in a data file of the newest backup: its checksum catches it, the older backup is recovered to the same point, and the drill fails', async () => {
    const { journal, ledger } = await drill(withBarman(['kind: corrupt-backup, object: data/global/pg_control']));
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 1, attempts: [{ backup: 2 }] });
    expect(journal.recovery!.attempts![0]!.defect).toMatch(/^backup file barman\/firedrill\/base\/\d{8}T\d{6}\/data\/global\/pg_control in "primary" was changed after it was taken/);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });
});

/** mariadb-backup incrementals: a full backup and incrementals on it, restored as a chain. */
const incrementals = (latent: string[] = []) =>
  shopWith('mariadb', '{ name: mariabackup-binlog, schedule: [full, incr] }', { incident: 'kind: bad-delete, table: orders', latent, backups: '{ count: 3, every: 2s }' }).replace('at: 4s', 'at: 8s');

describe('mariabackup incrementals (real MariaDB)', () => {
  it('restores full + 2 incrementals applied in order, then replays to just before the fault: exactly the writes after it lost', async () => {
    const { journal, ledger } = await drill(incrementals());
    expect(journal.errors).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(journal.backups!.map((backup) => backup.consistentAt!.detail!.split(';')[0])).toEqual(['full backup', 'incremental on backup 1', 'incremental on backup 2']);
    // An incremental holds the changed pages only.
    expect(journal.backups![1]!.sizeBytes).toBeLessThan(journal.backups![0]!.sizeBytes);
    const prepares = journal.commands.filter((command) => command.phase === 'restore' && / --prepare /.test(command.command)).map((command) => /--incremental-dir=\S*?(incremental-\d)?$/.exec(command.command)?.[1] ?? 'full');
    expect(prepares).toEqual(['full', 'incremental-1', 'incremental-2']);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 3, point: 'fault' });
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(true);
  });

  it('the newest incremental damaged: its checksum catches it, the chain up to the one before restores to the same point, and the drill fails', async () => {
    const { journal, ledger } = await drill(incrementals(['kind: corrupt-backup']));
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 2, attempts: [{ backup: 3 }] });
    expect(journal.recovery!.attempts![0]!.defect).toMatch(/^backup file mariabackup-binlog\/backup-3\/backup\.mbstream in "primary" was changed after it was taken/);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });
});
