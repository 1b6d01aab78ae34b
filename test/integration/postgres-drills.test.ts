import { describe, expect, it } from 'vitest';
import { drill, expectDumpLoss, expectPitrLoss, shopScenario } from '../support/drills.js';

const shop = (strategy: string, fault: string, extra = '') => shopScenario('postgres', strategy, fault, extra);

describe('PostgreSQL drills (real servers)', () => {
  it('bad DELETE + pg-basebackup-wal: damage undone, exactly the writes acknowledged after the fault are lost', async () => {
    const outcome = await drill(shop('pg-basebackup-wal', '  kind: bad-delete\n  table: orders', 'objectives:\n  rto: 2m\n  rpo: 0s\n'));
    expectPitrLoss(outcome);
    const { journal } = outcome;
    expect(journal.recovery!.method).toContain(`recovery_target_xid=${journal.fault!.point.transaction}`);
    // Service came back after the detection delay, and the breakdown accounts for the time.
    expect(journal.measurements.rtoServiceMs).toBeGreaterThan(2000);
    expect(journal.measurements.rtoVerifiedMs).toBeGreaterThanOrEqual(journal.measurements.rtoServiceMs!);
    expect(Object.keys(journal.measurements.rtoBreakdown)).toEqual(expect.arrayContaining(['detect', 'archive', 'fetch', 'restore', 'start', 'replay', 'service', 'verify']));
    // The runbook holds the restore path's commands, in order.
    const restoreCommands = journal.commands.filter((command) => ['restore', 'start'].includes(command.phase)).map((command) => command.command);
    expect(restoreCommands.some((command) => /tar -x -z -f .*base\.tar\.gz/.test(command))).toBe(true);
    expect(restoreCommands.some((command) => command.includes('recovery_target_xid='))).toBe(true);
  });

  it('bad DELETE + pg-dump: every write acknowledged after the dump is lost and counted', async () => {
    expectDumpLoss(await drill(shop('pg-dump', '  kind: bad-delete\n  table: orders', 'objectives:\n  rpo: 1s\n')));
  });

  it('DROP TABLE + pg-basebackup-wal: the dropped table is back with every row', async () => {
    const { journal } = await drill(
      shop('pg-basebackup-wal', '  kind: drop-table\n  table: customers', 'objectives:\n  checks:\n    - { name: customers, sql: "SELECT count(*) FROM customers", expect: 200 }\n'),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.damage).toMatchObject({ table: 'customers', affectedRows: 200, restoredRows: 200, tablePresent: true, undone: true });
    expect(journal.checks.find((check) => check.name === 'customers')).toMatchObject({ value: '200', passed: true });
    expect(journal.status).toBe('passed');
  });

  it('a restore whose archive lacks the fault\'s WAL segment says it stopped early and counts the real loss', async () => {
    const { journal, ledger } = await drill(shop('pg-basebackup-wal', '  kind: bad-delete\n  table: orders', 'objectives:\n  rpo: 0s\n'), {
      hooks: {
        // Lose the archived segment that holds the fault, as a broken archive would.
        async beforeRestore({ engine, source, storage }, fault) {
          const session = await engine.connect(source.connection);
          const [row] = await session.query<{ segment: string }>(`SELECT pg_walfile_name('${fault.point.position}') AS segment`);
          await session.close();
          await storage.remove(`pg-wal/${row!.segment}`);
        },
      },
    });
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ reached: false });
    expect(journal.recovery!.detail).toContain('before the target');
    const faultUs = journal.fault!.point.serverTimeUs;
    const ackedBeforeFault = ledger.acked.filter((write) => write.serverTimeUs <= faultUs).length;
    expect(journal.ledger!.unexpected).toBe(0);
    expect(journal.ledger!.lostBeforeFault).toBe(ackedBeforeFault - journal.ledger!.present);
    expect(journal.ledger!.lostBeforeFault).toBeGreaterThan(0);
    expect(journal.measurements.dataLossMs).toBeGreaterThan(0);
    expect(journal.status).toBe('failed');
  });
});

describe('PostgreSQL drills on Sakila (a real third-party schema)', () => {
  it('pg-dump restores Sakila with its views, functions, triggers and rules intact, and the deleted payments back', async () => {
    // Sakila's catalog: 7 views, 9 functions + the group_concat aggregate, 15 triggers, 6 rules.
    const catalog = (kind: string, sql: string, expect: number) => `    - { name: ${kind}, sql: "${sql}", expect: ${expect} }\n`;
    const { journal, ledger } = await drill(`name: it-sakila-dump
target:
  engine: postgres
  dataset:
    files: [../../shared/datasets/sakila-postgres/schema.sql, ../../shared/datasets/sakila-postgres/data.sql]
workload:
  writers: 2
  rate: 100
  warmup: 1s
  statements:
    - INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, staff_id) VALUES ({id}, clock_timestamp(), 1 + {random} % 4581, 1 + {random} % 599, 1)
strategy: pg-dump
fault: { kind: bad-delete, table: payment, at: 4s, detectAfter: 1s }
objectives:
  checks:
${catalog('views', "SELECT count(*) FROM pg_views WHERE schemaname = 'public'", 7)}${catalog('functions', "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'", 10)}${catalog('triggers', 'SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal', 15)}${catalog('rules', "SELECT count(*) FROM pg_rules WHERE schemaname = 'public'", 6)}${catalog('payments', 'SELECT count(*) FROM payment', 16049)}${catalog('rentals', 'SELECT count(*) FROM rental WHERE rental_id < 1000000000', 16044)}`);
    expect(journal.errors).toEqual([]);
    expect(journal.checks.filter((check) => !check.passed)).toEqual([]);
    expect(journal.damage).toMatchObject({ table: 'payment', affectedRows: 16049, restoredRows: 16049, undone: true });
    // Rentals the workload wrote after the dump are lost, each one counted.
    const afterDump = ledger.acked.filter((write) => write.serverTimeUs > journal.backup!.consistentAt!.serverTimeUs!).length;
    expect(journal.ledger!.lost).toBe(afterDump);
    expect(journal.status).toBe('passed');
  });
});
