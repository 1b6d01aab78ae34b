import { describe, expect, it } from 'vitest';
import { parseBinlogPosition } from '../../src/engines/mariadb.js';
import { findMariadbInstallation } from '../../src/engines/mariadb-binaries.js';
import { drill, expectDumpLoss, expectLocatedRunbook, expectEqualToSource, expectPitrLoss, shopScenario } from '../support/drills.js';

const shop = (strategy: string, fault: string, extra = '') => shopScenario('mariadb', strategy, fault, extra);

const BINLOG_POSITION = /^binlog\.\d{6}:\d+$/;
const GTID = /^\d+-\d+-\d+$/;

describe('MariaDB drills (real servers)', () => {
  it('MariaDB is installed (these tests fail without it, they never skip)', async () => {
    expect((await findMariadbInstallation()).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('bad DELETE + mysqldump-binlog: damage undone, exactly the writes acknowledged after the fault are lost, equal to the source', async () => {
    const outcome = await drill(shop('mysqldump-binlog', '  kind: bad-delete\n  table: orders', 'objectives:\n  rto: 2m\n  rpo: 0s\n'));
    expectPitrLoss(outcome);
    const { journal } = outcome;
    const point = journal.fault!.point;
    expect(point.position).toMatch(BINLOG_POSITION);
    expect(point.transaction).toMatch(GTID);
    // Replayed from the dump's coordinates to the fault's position, where the fault's GTID begins.
    expect(journal.recovery!.method).toContain(`to ${point.position} exclusive`);
    expect(journal.recovery!.detail).toContain(`transaction ${point.transaction} begins`);
    const replay = journal.commands.filter((command) => command.phase === 'replay').map((command) => command.command);
    expect(replay.some((command) => command.includes(`--start-position=${parseBinlogPosition(journal.backup!.consistentAt!.position!).pos}`))).toBe(true);
    expect(replay.some((command) => command.includes(`--stop-position=${parseBinlogPosition(point.position!).pos}`))).toBe(true);
    // The binlog replayed is the stretch between the two, not the file's bytes (the seed before it, the fault after).
    const [from, to] = [journal.backup!.consistentAt!.position!, point.position!].map(parseBinlogPosition);
    expect(from!.file).toBe(to!.file);
    expect(journal.volume!.logBytes).toBe(to!.pos - from!.pos);
    expect(journal.replayThroughput!.bytes).toBe(to!.pos - from!.pos);
    expect(Object.keys(journal.measurements.rtoBreakdown)).toEqual(expect.arrayContaining(['detect', 'archive', 'target', 'fetch', 'verify-backup', 'restore', 'replay', 'service', 'verify']));
    expectLocatedRunbook(journal);
  });

  it('bad DELETE + mysqldump: every write acknowledged after the dump is lost, and none before it', async () => {
    const outcome = await drill(shop('mysqldump', '  kind: bad-delete\n  table: orders', 'objectives:\n  rpo: 1s\n'));
    expect(outcome.journal.backup!.consistentAt!.position).toMatch(BINLOG_POSITION);
    expectDumpLoss(outcome);
  });

  it('DROP TABLE + mariabackup: the physical restore passes its page checksums and CHECK TABLE, and the table is back', async () => {
    const { journal } = await drill(
      shop('mariabackup', '  kind: drop-table\n  table: customers', 'objectives:\n  checks:\n    - { name: customers, sql: "SELECT count(*) FROM customers", expect: 200 }\n'),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.checks.find((check) => check.name === 'CHECK TABLE')).toMatchObject({ passed: true });
    expect(journal.checks.find((check) => check.name === 'customers')).toMatchObject({ value: '200', passed: true });
    expect(journal.damage).toMatchObject({ table: 'customers', affectedRows: 200, restoredRows: 200, tablePresent: true, undone: true });
    expect(journal.backup!.consistentAt!.position).toMatch(BINLOG_POSITION);
    const commands = journal.commands.map((command) => `${command.phase}: ${command.command}`);
    expect(commands.some((command) => /^restore: .*mariadb-backup --no-defaults --prepare/.test(command))).toBe(true);
    expect(commands.some((command) => /^restore: .*mariadb-backup --no-defaults --move-back/.test(command))).toBe(true);
    expect(commands.some((command) => /^verify-backup: .*innochecksum/.test(command))).toBe(true);
    expectEqualToSource(journal, 'without workload rows');
    expect(journal.status).toBe('passed');
  });

  it('bad UPDATE + mariabackup-binlog: physical backup plus binlog replay stops just before the fault', async () => {
    const { journal, ledger } = await drill(shop('mariabackup-binlog', "  kind: bad-update\n  table: orders\n  set: \"status = 'cancelled'\""));
    expect(journal.errors).toEqual([]);
    const faultUs = journal.fault!.point.serverTimeUs;
    const ackedAfterFault = ledger.acked.filter((write) => write.serverTimeUs > faultUs).length;
    expect(journal.ledger).toMatchObject({ lost: ackedAfterFault, lostToDetection: ackedAfterFault, lostBeforeFault: 0, unexpected: 0 });
    expect(journal.damage).toMatchObject({ undone: true, missingRows: 0 });
    expect(journal.recovery).toMatchObject({ reached: true });
    expectEqualToSource(journal, 'exact');
    expect(journal.status).toBe('passed');
  });
});

describe('Sakila on MariaDB (real schema, third-party dump)', () => {
  it('loads the schema and the Sequel Pro dump, and a dump + binlog restore is the source exactly, triggers, views and routines included', async () => {
    const { journal } = await drill(`name: it-mariadb-sakila
target:
  engine: mariadb
  dataset:
    files: [../datasets/sakila-mysql/schema.sql, ../datasets/sakila-mysql/sequelpro-dump.sql]
workload:
  writers: 2
  rate: 100
  warmup: 1s
  resume: 0s
  statements:
    - INSERT INTO sakila_dojo.rental (rental_id, rental_date, inventory_id, customer_id, staff_id) VALUES ({id}, NOW(), 1 + {random} % 4581, 1 + {random} % 599, 1 + {random} % 2)
strategy: mysqldump-binlog
fault:
  kind: bad-delete
  table: sakila_dojo.payment
  at: 4s
  detectAfter: 2s
objectives:
  checks:
    - { name: payments, sql: "SELECT count(*) FROM sakila_dojo.payment", expect: 16049 }
`);
    expect(journal.errors).toEqual([]);
    expectEqualToSource(journal, 'exact');
    // The files as shipped: 3 + 6 triggers, 7 + 7 views, 6 + 6 routines (procedures and functions).
    expect(journal.equality!.inventory).toMatchObject({ trigger: 9, view: 14 });
    expect((journal.equality!.inventory!.procedure ?? 0) + (journal.equality!.inventory!.function ?? 0)).toBe(12);
    expect(journal.checks.find((check) => check.name === 'payments')).toMatchObject({ value: '16049', passed: true });
    expect(journal.checks.find((check) => check.name === 'CHECK TABLE')).toMatchObject({ passed: true });
    expect(journal.damage).toMatchObject({ table: 'sakila_dojo.payment', affectedRows: 16049, undone: true });
    expect(journal.ledger).toMatchObject({ lostBeforeFault: 0, unexpected: 0 });
    expect(journal.status).toBe('passed');
  });
});
