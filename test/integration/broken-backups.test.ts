import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import type { Journal } from '../../src/journal/types.js';
import { walSegmentOf } from '../../src/strategies/postgres-wal.js';
import { BINLOG_PREFIX } from '../../src/strategies/binlog-archive.js';
import type { StorageLocation } from '../../src/storage/storage.js';
import type { BackupResult } from '../../src/strategies/strategy.js';
import { drill, objective, shopWith } from '../support/drills.js';

/**
 * Every way a backup breaks between backup and restore must end in a failing drill that says
 * what broke, in words: a wrong PASS is worse than no drill. None of these scenarios sets an
 * RPO objective, so nothing but the breakage itself can fail them.
 */

async function readAll(storage: StorageLocation, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Replaces a stored backup file and records the new bytes' checksum as the backup's own: damage
 * that happened before the checksum was taken (a bug in the tool, a disk that lied), which the
 * checksum cannot see and the other checks must.
 */
async function rewriteBeforeChecksum(storage: StorageLocation, backup: BackupResult, name: string, change: (bytes: Buffer) => Buffer): Promise<void> {
  const object = backup.objects.find((candidate) => candidate.name === name)!;
  const changed = change(await readAll(storage, object.key));
  const stored = await storage.put(object.key, Readable.from([changed]));
  object.sha256 = stored.sha256;
  object.sizeBytes = stored.sizeBytes;
  expect(createHash('sha256').update(changed).digest('hex')).toBe(stored.sha256);
}

/** The offset of the tar header of `name` in an uncompressed tar: everything before it is whole files. */
function tarEntryOffset(tar: Buffer, name: string): number {
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const entry = tar.subarray(offset, offset + 100).toString('utf8').replace(/\0.*$/s, '');
    if (entry === '') break;
    if (entry === name) return offset;
    const size = parseInt(tar.subarray(offset + 124, offset + 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} is not in the tar`);
}

const badDelete = 'kind: bad-delete, table: orders';
const pg = (strategy: string, options: { latent?: string[]; backups?: string } = {}) => shopWith('postgres', strategy, { incident: badDelete, ...options });
const maria = (strategy: string, options: { latent?: string[]; backups?: string } = {}) => shopWith('mariadb', strategy, { incident: badDelete, ...options });

describe('broken backups fail the drill, with the reason in words (PostgreSQL)', () => {
  it('an archive_command that always fails: the base backup, which waits for its WAL to be archived, is given up naming the segment, not waited on for ever', async () => {
    const started = performance.now();
    const { journal } = await drill(shopWith('postgres', 'pg-basebackup-wal', { incident: badDelete, target: `settings: { archive_command: 'exit 3' }` }));
    expect(journal.status).toBe('error');
    expect(journal.errors.map((error) => error.message).join('\n')).toMatch(/the base backup waited for WAL segment [0-9A-F]{24} to be archived, and archive_command has failed on it since .+ without archiving anything \(server log: .*archive command failed with exit code 3.*\); fix archive_command/);
    expect(journal.backups ?? []).toEqual([]);
    // Fifteen seconds of failures, not the hour a CI job would wait before its own timeout.
    expect(performance.now() - started).toBeLessThan(60_000);
  });

  it('a WAL segment missing from the archive: recovery stops early and the drill fails, naming the segment and the loss', async () => {
    const { journal, ledger } = await drill(pg('pg-basebackup-wal', { latent: ['kind: wal-gap, file: fault'] }));
    expect(journal.errors).toEqual([]);
    expect(journal.latentFaults![0]!.description).toMatch(/^WAL segment [0-9A-F]{24} removed from archive "primary"$/);
    const segment = /segment ([0-9A-F]{24})/.exec(journal.latentFaults![0]!.description)![1]!;
    expect(journal.recovery).toMatchObject({ reached: false, gap: { what: `WAL segment ${segment}`, location: 'primary' } });
    const reached = objective(journal, OBJECTIVE.recoveryReached);
    expect(reached.passed).toBe(false);
    expect(reached.reason).toContain(`WAL segment ${segment} is missing from archive "primary"`);
    expect(reached.reason).toMatch(/before the target/);
    expect(reached.reason).toContain(`${journal.ledger!.lost} acknowledged writes lost`);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    // Recovery stopped at the end of the segment before the gap: every write after it is lost, counted one by one.
    const faultUs = journal.fault!.point.serverTimeUs;
    const ackedBeforeFault = ledger.acked.filter((write) => write.serverTimeUs <= faultUs).length;
    expect(journal.ledger!.lostBeforeFault).toBe(ackedBeforeFault - journal.ledger!.present);
    expect(journal.ledger!.lostBeforeFault).toBeGreaterThan(0);
    expect(journal.ledger!.unexpected).toBe(0);
    expect(journal.status).toBe('failed');
  });

  it('the WAL segment where the base backup ended missing from the archive: the backup cannot become consistent, and the drill fails naming the segment, not with the server\'s refusal to start', async () => {
    // A throttled backup while a segment is switched every second: it spans several segments, so the one it ended in is not its first.
    const { journal } = await drill(
      shopWith('postgres', '{ name: pg-basebackup-wal, maxRate: 8M }', { incident: badDelete, target: 'settings: { archive_timeout: 1s }', latent: ['kind: wal-gap, file: backup-end'] }),
    );
    expect(journal.errors).toEqual([]);
    const segment = /segment ([0-9A-F]{24})/.exec(journal.latentFaults![0]!.description)![1]!;
    const [start, end] = /WAL (\S+) – (\S+)/.exec(journal.backups![0]!.consistentAt!.detail!)!.slice(1);
    expect(segment).toBe(walSegmentOf(end!));
    expect(segment > walSegmentOf(start!)).toBe(true);
    expect(journal.recovery).toMatchObject({ restored: false });
    const intact = objective(journal, OBJECTIVE.backupsIntact);
    expect(intact.passed).toBe(false);
    expect(intact.reason).toMatch(new RegExp(`WAL segment ${segment}, which base backup \\S+ needs to be consistent( \\(its WAL [0-9A-F]{24} – ${segment}\\))?, is missing from archive "primary"`));
    expect(objective(journal, OBJECTIVE.restored).passed).toBe(false);
    expect(journal.status).toBe('failed');
  });

  it('a flipped byte in a stored pg_dump file is caught by its checksum before anything is restored', async () => {
    const { journal } = await drill(pg('pg-dump'), {
      hooks: {
        // The same damage the corrupt-backup fault does, by hand: one byte in the middle of the dump.
        async beforeRestore({ storage }, _fault, backups) {
          const dump = backups[0]!.objects.find((object) => object.name === 'dump')!;
          const bytes = await readAll(storage, dump.key);
          bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
          await storage.put(dump.key, Readable.from([bytes]));
        },
      },
    });
    expect(journal.errors).toEqual([]);
    const intact = objective(journal, OBJECTIVE.backupsIntact);
    expect(intact.passed).toBe(false);
    expect(intact.reason).toMatch(/backup file pg-dump\/backup-1\/database\.dump in "primary" was changed after it was taken: sha256 [0-9a-f]{16}… \(\d+ bytes\), recorded at backup time [0-9a-f]{16}…/);
    expect(objective(journal, OBJECTIVE.restored)).toMatchObject({ passed: false });
    expect(journal.recovery).toMatchObject({ restored: false, attempts: [{ backup: 1 }] });
    // Nothing came back: every acknowledged write is lost, and the report says so instead of crashing.
    expect(journal.ledger!.lost).toBe(journal.ledger!.acked);
    expect(journal.commands.some((command) => command.phase === 'restore')).toBe(false);
    expect(journal.status).toBe('failed');
  });

  it('a byte flipped in the dump\'s table of contents before its checksum: pg_restore exits 0 and the schema comparison names the change', async () => {
    const { journal } = await drill(pg('pg-dump'), {
      hooks: {
        async beforeRestore({ storage }, _fault, backups) {
          await rewriteBeforeChecksum(storage, backups[0]!, 'dump', (bytes) => {
            const table = bytes.indexOf('CREATE TABLE public.order_items');
            const at = bytes.indexOf('numeric(10,2)', table) + 'numeric(10,'.length;
            expect(table).toBeGreaterThan(0);
            bytes[at] = '3'.charCodeAt(0);
            return bytes;
          });
        },
      },
    });
    expect(journal.errors).toEqual([]);
    // The restore itself succeeded: exit codes prove nothing.
    expect(journal.commands.filter((command) => command.phase === 'restore').every((command) => command.exitCode === 0)).toBe(true);
    expect(objective(journal, OBJECTIVE.restored)).toMatchObject({ passed: true });
    const equal = objective(journal, OBJECTIVE.equalToSource);
    expect(equal.passed).toBe(false);
    expect(journal.equality!.differences.map((difference) => difference.message)).toContain('column public.order_items.price is numeric(10,3), was numeric(10,2)');
    expect(equal.reason).toContain('column public.order_items.price is numeric(10,3), was numeric(10,2)');
    expect(journal.status).toBe('failed');
  });

  it('an uncompressed base backup cut at a file boundary: tar is happy, pg_verifybackup is not, and the drill says the backup is incomplete', async () => {
    const { journal } = await drill(pg('{ name: pg-basebackup, compression: none }'), {
      hooks: {
        async beforeRestore({ storage }, _fault, backups) {
          await rewriteBeforeChecksum(storage, backups[0]!, 'base', (bytes) => bytes.subarray(0, tarEntryOffset(bytes, 'global/pg_control')));
        },
      },
    });
    expect(journal.errors).toEqual([]);
    // tar extracted what was there and exited 0.
    expect(journal.commands.find((command) => command.phase === 'fetch' && / tar -x /.test(` ${command.command}`))).toMatchObject({ exitCode: 0 });
    const intact = objective(journal, OBJECTIVE.backupsIntact);
    expect(intact.passed).toBe(false);
    expect(intact.reason).toContain('has no backup_manifest: it was cut short');
    expect(objective(journal, OBJECTIVE.restored)).toMatchObject({ passed: false });
    // Nothing was started on the incomplete data directory.
    expect(journal.phases.some((phase) => phase.name === 'start')).toBe(false);
    expect(journal.status).toBe('failed');
  });

  it('a base backup altered before its checksum, manifest intact: pg_verifybackup names the file that differs', async () => {
    const { journal } = await drill(pg('{ name: pg-basebackup, compression: none }'), {
      hooks: {
        async beforeRestore({ storage }, _fault, backups) {
          await rewriteBeforeChecksum(storage, backups[0]!, 'base', (bytes) => {
            // One byte inside the first data page of pg_control's neighbour: the file's size stays, its content changes.
            const header = tarEntryOffset(bytes, 'global/pg_control');
            bytes[header + 512 + 100]! ^= 0xff;
            return bytes;
          });
        },
      },
    });
    expect(journal.errors).toEqual([]);
    const intact = objective(journal, OBJECTIVE.backupsIntact);
    expect(intact.passed).toBe(false);
    expect(intact.reason).toContain('does not match its manifest: checksum mismatch for file "global/pg_control"');
    expect(journal.status).toBe('failed');
  });

  it('with two backups and the newest deleted, the older one is restored: recovery reaches the target, and the drill still fails on the missing backup', async () => {
    const { journal, ledger } = await drill(
      pg('pg-basebackup-wal', { latent: ['kind: missing-backup'], backups: '{ count: 2, every: 1500ms }' }),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.backups).toHaveLength(2);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 1, attempts: [{ backup: 2 }] });
    expect(journal.recovery!.attempts![0]!.defect).toMatch(/missing from "primary"/);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });
});

describe('broken backups fail the drill, with the reason in words (MariaDB)', () => {
  it('the binlog holding the fault missing from the archive: the replay cannot start, the drill fails and counts the loss', async () => {
    const { journal, ledger } = await drill(maria('mysqldump-binlog', { latent: ['kind: binlog-gap, file: fault'] }));
    expect(journal.errors).toEqual([]);
    expect(journal.latentFaults![0]!.description).toMatch(/^binlog binlog\.\d{6} removed from archive "primary"$/);
    const reached = objective(journal, OBJECTIVE.recoveryReached);
    expect(reached.passed).toBe(false);
    expect(reached.reason).toMatch(/^binlog binlog\.\d{6} is missing from archive "primary"( \(later files up to binlog\.\d{6} are there\))?; nothing can be replayed from binlog\.\d{6}:\d+, where the backup ends/);
    // Nothing could be replayed: the restore holds exactly the dump.
    const dumpUs = journal.backup!.consistentAt!.serverTimeUs!;
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lostBeforeFault).toBe(ledger.acked.filter((write) => write.serverTimeUs > dumpUs && write.serverTimeUs <= faultUs).length);
    expect(journal.ledger!.lostBeforeFault).toBeGreaterThan(0);
    expect(journal.ledger!.unexpected).toBe(0);
    expect(journal.status).toBe('failed');
  });

  it('every binlog from the one the dump ends in gone from the archive: a gap named, not an archive that merely ends early', async () => {
    let removed: string[] = [];
    const { journal } = await drill(maria('mysqldump-binlog'), {
      hooks: {
        async beforeRestore({ storage }, _fault, backups) {
          const from = Number(/\.(\d+):/.exec(backups[0]!.startPosition!)![1]);
          removed = (await storage.list(BINLOG_PREFIX)).filter((key) => Number(/\.(\d+)$/.exec(key)?.[1] ?? -1) >= from);
          for (const key of removed) await storage.delete(key);
        },
      },
    });
    expect(removed.length).toBeGreaterThan(0);
    expect(journal.errors).toEqual([]);
    const reached = objective(journal, OBJECTIVE.recoveryReached);
    expect(reached.passed).toBe(false);
    expect(reached.reason).toMatch(/^binlog binlog\.\d{6} is missing from archive "primary"; nothing can be replayed from binlog\.\d{6}:\d+, where the backup ends/);
    expect(journal.recovery!.gap).toMatchObject({ what: expect.stringMatching(/^binlog binlog\.\d{6}$/), location: 'primary' });
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });

  it('a damaged mariadb-backup stream is caught by its checksum; nothing is prepared from it', async () => {
    const { journal } = await drill(maria('mariabackup', { latent: ['kind: corrupt-backup, bytes: 8'] }));
    expect(journal.errors).toEqual([]);
    expect(journal.latentFaults![0]!.description).toMatch(/8 byte\(s\) at offset \d+ of mariabackup\/backup-1\/backup\.mbstream in "primary" flipped/);
    const intact = objective(journal, OBJECTIVE.backupsIntact);
    expect(intact.reason).toMatch(/backup\.mbstream in "primary" was changed after it was taken/);
    expect(journal.commands.some((command) => command.command.includes('--prepare'))).toBe(false);
    expect(objective(journal, OBJECTIVE.restored)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });

  it('a dump cut short before its checksum: the missing "Dump completed" line says so before anything is loaded', async () => {
    const { journal } = await drill(maria('mysqldump'), {
      hooks: {
        async beforeRestore({ storage }, _fault, backups) {
          await rewriteBeforeChecksum(storage, backups[0]!, 'dump', (bytes) => bytes.subarray(0, Math.floor(bytes.length * 0.7)));
        },
      },
    });
    expect(journal.errors).toEqual([]);
    expect(objective(journal, OBJECTIVE.backupsIntact).reason).toContain('is cut short: it does not end with mariadb-dump\'s "-- Dump completed" line');
    expect(journal.commands.some((command) => command.phase === 'restore')).toBe(false);
    expect(journal.status).toBe('failed');
  });

  it('with two dumps and the newest damaged, the older is restored and the loss is counted from it', async () => {
    const { journal, ledger } = await drill(
      maria('mysqldump', { latent: ['kind: corrupt-backup'], backups: '{ count: 2, every: 1500ms }' }),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, backupUsed: 1, attempts: [{ backup: 2 }] });
    const first = journal.backups![0]!.consistentAt!.serverTimeUs!;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > first).length);
    expect(journal.equality).toMatchObject({ against: 'backup', mode: 'exact', differences: [] });
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  });
});

describe('broken archives a replay cannot see, recovering to the latest', () => {
  // With a target of "the latest", recovery ends where the archive ends; only the record of what
  // was archived tells a shortened or damaged archive from a whole one.
  const latest = 'recovery:\n  target: latest\n';
  const reachedNot = (journal: Journal, what: RegExp) => {
    expect(journal.errors).toEqual([]);
    const reached = objective(journal, OBJECTIVE.recoveryReached);
    expect(reached.passed).toBe(false);
    expect(reached.reason).toMatch(what);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: false });
    expect(journal.status).toBe('failed');
  };

  it.each([
    ['postgres', 'pg-basebackup-wal', 'wal-gap', /^WAL segment [0-9A-F]{24} is missing from archive "primary", so replay ended before the end of what was archived/],
    // When the newest binlog is the one the dump ends in (no rotation came after it: timing), the gap is that file.
    ['mariadb', 'mysqldump-binlog', 'binlog-gap', /^binlog binlog\.\d{6} is missing from archive "primary"(, so replay ended before the end of what was archived|; nothing can be replayed from binlog\.\d{6}:\d+, where the backup ends)/],
  ] as const)('%s: the newest archived file gone looks like the end of the archive, and the drill still fails (%s)', async (engine, strategy, gap, reason) => {
    const { journal } = await drill(shopWith(engine, strategy, { incident: badDelete, latent: [`kind: ${gap}, file: newest`], extra: latest }));
    expect(journal.latentFaults![0]!.description).toMatch(/removed from archive "primary"$/);
    reachedNot(journal, reason);
    expect(journal.recovery!.gap!.location).toBe('primary');
    // The newest WAL segment holds the last writes; the newest binlog may be the one just
    // opened by the flush after detection, holding none: the loss is what it is, the verdict is not.
    if (engine === 'postgres') expect(journal.ledger!.lost).toBeGreaterThan(0);
  });

  it('a byte flipped in an archived WAL segment ends replay like the end of the WAL: the archive\'s checksums catch it', async () => {
    let damaged = '';
    const { journal } = await drill(shopWith('postgres', 'pg-basebackup-wal', { incident: badDelete, extra: latest }), {
      hooks: {
        async beforeRestore({ storage }, _fault, backups) {
          // The segment after the base backup's first: replay must pass through it to reach the end.
          const first = backups[0]!.startPosition!;
          const segments = (await storage.list('pg-wal')).filter((key) => /\/[0-9A-F]{24}$/.test(key)).sort();
          const index = segments.findIndex((key) => key.endsWith(walSegmentOf(first)));
          damaged = segments[index + 1]!;
          const bytes = await readAll(storage, damaged);
          for (let at = 8192; at < 8192 + 64; at++) bytes[at]! ^= 0xff;
          await storage.put(damaged, Readable.from([bytes]));
        },
      },
    });
    const name = damaged.slice(damaged.lastIndexOf('/') + 1);
    expect(objective(journal, OBJECTIVE.backupsIntact).reason).toContain(`WAL segment ${name} in archive "primary" was changed after it was archived`);
    expect(journal.status).toBe('failed');
  });
});

describe('broken backups with nothing left to break', () => {
  it('a region loss took the only backups: the latent fault is not applied, and the drill fails on the total loss, not with an error', async () => {
    const { journal, ledger } = await drill(
      shopWith('postgres', 'pg-basebackup', { incident: 'kind: region-loss', latent: ['kind: corrupt-backup'], target: 'region: eu', storage: '  primary: { type: local, region: eu }' }),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.latentFaults).toEqual([{ kind: 'corrupt-backup', description: 'not applied: no stored backup survived the fault' }]);
    expect(journal.ledger!.lost).toBe(ledger.acked.length);
    expect(objective(journal, OBJECTIVE.restored).passed).toBe(false);
    expect(journal.status).toBe('failed');
  });

  it('the mariadb-backup info file damaged: the restore reads its binlog coordinates from it and its checksum catches the damage', async () => {
    const { journal } = await drill(shopWith('mariadb', 'mariabackup-binlog', { incident: badDelete, latent: ['kind: corrupt-backup, object: info'] }));
    expect(journal.errors).toEqual([]);
    expect(objective(journal, OBJECTIVE.backupsIntact).reason).toMatch(/backup file mariabackup-binlog\/backup-1\/xtrabackup_info in "primary" was changed after it was taken/);
    expect(journal.status).toBe('failed');
  });
});
