import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engines/engine.js';
import { findMariadbBinaries } from '../../src/engines/mariadb-binaries.js';
import { parseBinlogPosition } from '../../src/engines/mariadb.js';
import type { StartedDatabaseInstance } from '../../src/providers/provider.js';
import { drill, expectDumpLoss, expectPitrLoss, shopScenario } from '../support/drills.js';

const shop = (strategy: string, fault: string, extra = '') => shopScenario('mariadb', strategy, fault, extra);

const BINLOG_POSITION = /^binlog\.\d{6}:\d+$/;
const GTID = /^\d+-\d+-\d+$/;

describe('MariaDB drills (real servers)', () => {
  it('MariaDB is installed (these tests fail without it, they never skip)', async () => {
    const binaries = await findMariadbBinaries();
    expect(binaries.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('bad DELETE + mysqldump-binlog: damage undone, exactly the writes acknowledged after the fault are lost', async () => {
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
    expect(Object.keys(journal.measurements.rtoBreakdown)).toEqual(expect.arrayContaining(['detect', 'archive', 'fetch', 'start', 'restore', 'replay', 'service', 'verify']));
  });

  it('bad DELETE + mysqldump: every write acknowledged after the dump is lost, and none before it', async () => {
    const outcome = await drill(shop('mysqldump', '  kind: bad-delete\n  table: orders', 'objectives:\n  rpo: 1s\n'));
    expect(outcome.journal.backup!.consistentAt!.position).toMatch(BINLOG_POSITION);
    expectDumpLoss(outcome);
  });

  it('DROP TABLE + mariabackup: the physical restore passes CHECK TABLE and the table is back with every row', async () => {
    const { journal } = await drill(
      shop('mariabackup', '  kind: drop-table\n  table: customers', 'objectives:\n  checks:\n    - { name: customers, sql: "SELECT count(*) FROM customers", expect: 200 }\n'),
    );
    expect(journal.errors).toEqual([]);
    expect(journal.checks.find((check) => check.name === 'CHECK TABLE')).toMatchObject({ passed: true });
    expect(journal.checks.find((check) => check.name === 'CHECK TABLE')!.detail).toMatch(/^\d+ tables and views OK$/);
    expect(journal.checks.find((check) => check.name === 'customers')).toMatchObject({ value: '200', passed: true });
    expect(journal.damage).toMatchObject({ table: 'customers', affectedRows: 200, restoredRows: 200, tablePresent: true, undone: true });
    expect(journal.backup!.consistentAt!.position).toMatch(BINLOG_POSITION);
    const restore = journal.commands.filter((command) => command.phase === 'restore').map((command) => command.command);
    expect(restore.some((command) => command.includes('mariadb-backup --no-defaults --prepare'))).toBe(true);
    expect(restore.some((command) => command.includes('mariadb-backup --no-defaults --copy-back'))).toBe(true);
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
    expect(journal.status).toBe('passed');
  });

  it("a restore whose archive lacks the fault's binlog says it stopped early and counts the real loss", async () => {
    const { journal, ledger } = await drill(shop('mysqldump-binlog', '  kind: bad-delete\n  table: orders', 'objectives:\n  rpo: 0s\n'), {
      hooks: {
        // Lose the archived binlog that holds the fault, as a broken archive would.
        async beforeRestore({ storage }, fault) {
          await storage.remove(`mysql-binlog/${parseBinlogPosition(fault.point.position!).file}`);
        },
      },
    });
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ reached: false });
    expect(journal.recovery!.detail).toContain('opened at the end of the backup');
    // Nothing could be replayed: the restore holds exactly the dump.
    const dumpUs = journal.backup!.consistentAt!.serverTimeUs!;
    const faultUs = journal.fault!.point.serverTimeUs;
    const betweenDumpAndFault = ledger.acked.filter((write) => write.serverTimeUs > dumpUs && write.serverTimeUs <= faultUs).length;
    expect(betweenDumpAndFault).toBeGreaterThan(0);
    expect(journal.ledger!.lostBeforeFault).toBe(betweenDumpAndFault);
    expect(journal.ledger!.unexpected).toBe(0);
    expect(journal.status).toBe('failed');
  });
});

// Every trigger, view and routine of the Sakila databases: how many (the files as shipped:
// 3 + 6 triggers, 7 + 7 views, 6 + 6 routines) and a digest of their names and bodies, as a
// number (48 bits of an MD5) so it can be a check's value. "Intact" means the same objects with
// the same bodies, not only as many of them.
const SAKILA = `('sakila', 'sakila_dojo')`;
const OBJECTS = {
  triggers: { count: 9, from: 'TRIGGERS', schema: 'TRIGGER_SCHEMA', name: 'TRIGGER_NAME', body: 'ACTION_STATEMENT' },
  views: { count: 14, from: 'VIEWS', schema: 'TABLE_SCHEMA', name: 'TABLE_NAME', body: 'VIEW_DEFINITION' },
  routines: { count: 12, from: 'ROUTINES', schema: 'ROUTINE_SCHEMA', name: 'ROUTINE_NAME', body: 'ROUTINE_DEFINITION' },
};
type Objects = (typeof OBJECTS)[keyof typeof OBJECTS];
const countSql = ({ from, schema }: Objects) => `SELECT COUNT(*) FROM information_schema.${from} WHERE ${schema} IN ${SAKILA}`;
const digestSql = ({ from, schema, name, body }: Objects) =>
  `SELECT CONV(LEFT(MD5(GROUP_CONCAT(${schema}, '.', ${name}, '=', ${body} ORDER BY ${schema}, ${name} SEPARATOR '|')), 12), 16, 10) FROM information_schema.${from} WHERE ${schema} IN ${SAKILA}`;

async function digestsOn(engine: Engine, instance: StartedDatabaseInstance): Promise<Record<string, string>> {
  const session = await engine.connect(instance.connection);
  try {
    const found: Record<string, string> = {};
    for (const [kind, objects] of Object.entries(OBJECTS)) {
      const [row] = await session.query<Record<string, string>>(digestSql(objects));
      found[kind] = Object.values(row!)[0]!;
    }
    return found;
  } finally {
    await session.close();
  }
}

describe('Sakila on MariaDB (real schema, third-party dump)', () => {
  it('loads the schema and the Sequel Pro dump, and a dump + binlog restore keeps every trigger, view and routine', async () => {
    // Counts are checked by the drill; digests are compared with the source's below (">= 0" only says "a number").
    const checks = Object.entries(OBJECTS)
      .map(([kind, objects]) => `    - { name: ${kind}, sql: ${JSON.stringify(countSql(objects))}, expect: ${objects.count} }\n    - { name: ${kind} digest, sql: ${JSON.stringify(digestSql(objects))}, expect: ">= 0" }`)
      .join('\n');
    let source: Record<string, string> | undefined;
    const { journal } = await drill(
      `name: it-mariadb-sakila
target:
  engine: mariadb
  dataset:
    files: [../../shared/datasets/sakila-mysql/schema.sql, ../../shared/datasets/sakila-mysql/sequelpro-dump.sql]
workload:
  writers: 2
  rate: 100
  warmup: 1s
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
    - { name: rentals, sql: "SELECT count(*) FROM sakila_dojo.rental", expect: ">= 16044" }
${checks}
`,
      { hooks: { beforeRestore: async ({ engine, source: instance }) => void (source = await digestsOn(engine, instance)) } },
    );
    expect(journal.errors).toEqual([]);
    for (const [kind, { count }] of Object.entries(OBJECTS)) {
      expect(journal.checks.find((check) => check.name === kind), kind).toMatchObject({ value: String(count), passed: true });
      expect(journal.checks.find((check) => check.name === `${kind} digest`), kind).toMatchObject({ value: source![kind] });
    }
    expect(journal.checks.find((check) => check.name === 'payments')).toMatchObject({ value: '16049', passed: true });
    expect(journal.checks.find((check) => check.name === 'CHECK TABLE')).toMatchObject({ passed: true });
    expect(journal.damage).toMatchObject({ table: 'sakila_dojo.payment', affectedRows: 16049, undone: true });
    expect(journal.ledger).toMatchObject({ lostBeforeFault: 0, unexpected: 0 });
    expect(journal.status).toBe('passed');
  });
});
