import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { renderConsoleSummary } from '../../src/report/console.js';
import { locateShortfall } from '../../src/report/format.js';
import { runbookMarkdown } from '../../src/report/runbook.js';
import { lsnBytes } from '../../src/strategies/postgres-wal.js';
import { drill, expectDumpLoss, expectLocatedRunbook, expectEqualToSource, expectPitrLoss, objective, shopScenario } from '../support/drills.js';

const shop = (strategy: string, fault: string, extra = '') => shopScenario('postgres', strategy, fault, extra);

describe('PostgreSQL drills (real servers)', () => {
  it('bad DELETE + pg-basebackup-wal: damage undone, exactly the writes acknowledged after the fault are lost, equal to the source', async () => {
    const outcome = await drill(shop('pg-basebackup-wal', '  kind: bad-delete\n  table: orders', 'objectives:\n  rto: 2m\n  rpo: 0s\n'));
    expectPitrLoss(outcome);
    const { journal } = outcome;
    expect(journal.recovery!.method).toContain(`recovery_target_xid=${journal.fault!.point.transaction}`);
    // Service came back after the detection delay, and the breakdown accounts for the time.
    expect(journal.measurements.rtoServiceMs).toBeGreaterThan(1500);
    expect(journal.measurements.rtoVerifiedMs).toBeGreaterThanOrEqual(journal.measurements.rtoServiceMs!);
    expect(Object.keys(journal.measurements.rtoBreakdown)).toEqual(expect.arrayContaining(['detect', 'archive', 'target', 'fetch', 'verify-backup', 'start', 'replay', 'service', 'verify']));
    // The replay rate: the WAL replayed, from the backup's start to just before the fault's
    // commit (its DELETE's records are replayed too), over the replay phase.
    const [, backupStart] = /^WAL (\S+) – /.exec(journal.backup!.consistentAt!.detail!)!;
    const toFault = Number(lsnBytes(journal.fault!.point.position!) - lsnBytes(backupStart!));
    expect(journal.volume!.logBytes).toBeGreaterThan(toFault);
    // Not the archive's whole segments (16 MiB each), which also hold what came after the target.
    expect(journal.volume!.logBytes! - toFault).toBeLessThan(8 * 2 ** 20);
    const replay = journal.replayThroughput!;
    expect(replay).toMatchObject({ bytes: journal.volume!.logBytes, ms: journal.measurements.rtoBreakdown.replay });
    expect(replay.bytesPerSecond).toBe(Math.round(replay.bytes / (replay.ms / 1000)));
    // Every drill calibrates the disk, and the restore's write rate is put against it.
    const disk = journal.calibration.diskWriteBytesPerSecond!;
    expect(disk).toBeGreaterThan(0);
    expect(journal.phases.map((phase) => phase.name)).toContain('calibrate');
    expect(journal.restoreThroughput!.efficiency).toBeCloseTo(journal.restoreThroughput!.bytesPerSecond / disk, 6);
    // The runbook holds the restore path's commands, in order: the checksum, tar, the manifest check, recovery.
    const restore = journal.commands.filter((command) => ['fetch', 'verify-backup', 'start'].includes(command.phase)).map((command) => command.command);
    expect(restore[0]).toMatch(/^sha256sum \S+\/storage\/primary\/pg-basebackup-wal\/backup-1\/base\.tar\.gz: compared with the checksum recorded at backup time/);
    expect(restore[1]).toMatch(/tar -x -z -f \S+\/base\.tar\.gz -C /);
    expect(restore.some((command) => /pg_verifybackup --no-parse-wal /.test(command))).toBe(true);
    expect(restore.some((command) => command.includes('recovery_target_xid='))).toBe(true);
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: true });
    expectLocatedRunbook(journal);
  });

  it('a bad DELETE larger than the WAL pg_wal keeps: the locate step finds nothing, says how far back it read, and the drill says the step would fail a responder', async () => {
    // Checkpoints every few megabytes of WAL: the DELETE of every order (and, by cascade, every
    // order line) writes far more, so its first records are recycled before it commits.
    const { journal } = await drill(`name: it-postgres-locate-recycled
target:
  engine: postgres
  dataset: { builtin: shop, scale: 30 }
  settings: { max_wal_size: 32MB, min_wal_size: 32MB }
workload: { writers: 2, rate: 50, warmup: 1s, resume: 0s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 2s, detectAfter: 1s }
`);
    const fault = journal.fault!;
    expect(fault.located).toMatchObject({ candidates: [], matches: false });
    const [, from] = /^pg_wal from (\S+) to \S+$/.exec(fault.located!.searched)!;
    expect(lsnBytes(from!)).toBeGreaterThan(lsnBytes(fault.point.position!));
    const said = locateShortfall(journal)!;
    expect(said).toContain(`found no transaction that made a delete on orders in ${fault.located!.searched} (the fault's transaction began writing at ${fault.point.position})`);
    expect(said).toContain('the RTO measured leaves that search out');
    expect(renderConsoleSummary([journal])).toContain(`! ${said}`);
    const runbook = runbookMarkdown(journal, { firedrill: '0.1.0', generatedAt: journal.finishedAt, journalPath: 'journal.json' }).text;
    expect(runbook).toContain(`in ${fault.located!.searched}: find it by hand`);
    expect(runbook).toContain("the locate step named none; in the drill, the fault's own");
  });

  it('bad DELETE + pg-dump: every write acknowledged after the dump is lost and counted; the rest is exactly the dump; no password reaches the copied logs', async () => {
    const outcome = await drill(shop('pg-dump', '  kind: bad-delete\n  table: orders', 'objectives:\n  rpo: 1s\n'), {
      hooks: {
        // A failed statement is logged with its text: a password in it must not reach the report folder.
        async beforeRestore({ engine, source }) {
          const session = await engine.connect(source.connection);
          await session.query("ALTER ROLE nobody PASSWORD 'hunter2-in-a-log'").catch(() => undefined);
          await session.close();
        },
      },
    });
    expectDumpLoss(outcome);
    const log = await readFile(join(outcome.dir, 'source-server.log'), 'utf8');
    expect(log).toContain(`ALTER ROLE nobody PASSWORD '[redacted]'`);
    expect(log).not.toContain('hunter2-in-a-log');
  });

  it('DROP TABLE + pg-basebackup: the end of the backup has the dropped table with every row', async () => {
    const { journal } = await drill(
      shop('pg-basebackup', '  kind: drop-table\n  table: customers', 'objectives:\n  checks:\n    - { name: customers, sql: "SELECT count(*) FROM customers", expect: 200 }\n'),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.damage).toMatchObject({ table: 'customers', affectedRows: 200, restoredRows: 200, tablePresent: true, undone: true });
    expect(journal.checks.find((check) => check.name === 'customers')).toMatchObject({ value: '200', passed: true });
    // Compared with the source just after the backup: the workload's rows are the ledger's to count.
    expectEqualToSource(journal, 'without workload rows');
    expect(journal.status).toBe('passed');
  });
});

describe('PostgreSQL drills on Sakila (a real third-party schema)', () => {
  // Sakila has enum types, a domain, triggers, rules, inheritance and functions; the additions
  // give it what it lacks: declarative partitions and a materialized view.
  const sakila = (strategy: string) => `name: it-sakila-${strategy}
target:
  engine: postgres
  dataset:
    files: [../datasets/sakila-postgres/schema.sql, ../datasets/sakila-postgres/data.sql, ../test/fixtures/sql/sakila-postgres-additions.sql]
workload:
  writers: 2
  rate: 100
  warmup: 1s
  resume: 0s
  statements:
    - INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, staff_id) VALUES ({id}, clock_timestamp(), 1 + {random} % 4581, 1 + {random} % 599, 1)
strategy: ${strategy}
fault: { kind: bad-delete, table: payment, at: 4s, detectAfter: 1s }
objectives:
  checks:
    - { name: payments, sql: "SELECT count(*) FROM payment", expect: 16049 }
`;

  // The custom-format dump that drill took, for the next test to load as a dataset.
  let customDump: string | undefined;

  it('pg-dump restores every object and row of Sakila, as the inventory and the digests prove', async () => {
    const { journal, ledger } = await drill(sakila('pg-dump'), {
      hooks: {
        beforeRestore: async (context) => {
          const key = (await context.storage.list('pg-dump')).find((name) => name.endsWith('.dump'))!;
          customDump = join(await mkdtemp(join(tmpdir(), 'firedrill-sakila-dump-')), 'sakila.dump');
          await pipeline(await context.storage.get(key), createWriteStream(customDump));
        },
      },
    });
    expect(journal.errors).toEqual([]);
    expectEqualToSource(journal, 'exact');
    // Every kind of object was inventoried and compared, not just counted.
    expect(journal.equality!.inventory).toMatchObject({ domain: 1, type: 1, rule: expect.any(Number), trigger: expect.any(Number), 'materialized view': 1, view: expect.any(Number), function: expect.any(Number) });
    expect(journal.equality!.inventory!.rule).toBeGreaterThanOrEqual(6);
    expect(journal.equality!.inventory!.table).toBeGreaterThan(20);
    expect(journal.damage).toMatchObject({ table: 'payment', affectedRows: 16049, restoredRows: 16049, undone: true });
    // Rentals the workload wrote after the dump are lost, each one counted.
    const afterDump = ledger.acked.filter((write) => write.serverTimeUs > journal.backup!.consistentAt!.serverTimeUs!).length;
    expect(journal.ledger!.lost).toBe(afterDump);
    expect(journal.status).toBe('passed');
  });

  it('a dataset given as a pg_dump custom-format file is loaded with pg_restore, and the drill runs on it', async () => {
    expect(customDump, 'the pg-dump drill above keeps its dump').toBeDefined();
    try {
      const text = sakila('pg-basebackup-wal').replace(/ {4}files: \[[^\]]+\]/, `    files: [${customDump}]`);
      const { journal } = await drill(text);
      expect(journal.errors).toEqual([]);
      expect(journal.commands.find((command) => command.phase === 'seed' && /\/pg_restore /.test(command.command))!.command).toMatch(/pg_restore --exit-on-error --single-transaction --no-owner --no-privileges .* < \S+sakila\.dump$/);
      expect(journal.checks.find((check) => check.name === 'payments')).toMatchObject({ passed: true, value: '16049' });
      expect(journal.equality!.inventory).toMatchObject({ domain: 1, type: 1, 'materialized view': 1 });
      expect(journal.status).toBe('passed');
    } finally {
      await rm(dirname(customDump!), { recursive: true, force: true });
    }
  });

  it('pg-basebackup-wal brings Sakila back exactly as it was just before the fault', async () => {
    const { journal } = await drill(sakila('pg-basebackup-wal'));
    expect(journal.errors).toEqual([]);
    expectEqualToSource(journal, 'exact');
    expect(journal.status).toBe('passed');
  });
});
