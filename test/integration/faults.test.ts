import { describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { drillCounting, isTail, type CountedOutcome } from '../support/counting.js';
import { objective, shopWith } from '../support/drills.js';

/**
 * The faults that take the server, its disk, its pages or its region, on real servers. Every
 * loss is counted twice: by the drill, and here, from the recovered database's own ledger table
 * against the writes the client saw acknowledged.
 */

type Engine = 'postgres' | 'mariadb';

/** The drill's count equals the test's, write for write. */
function expectCountedExactly(outcome: CountedOutcome): void {
  expect(outcome.journal.errors).toEqual([]);
  expect(outcome.lostByTest).toBeDefined();
  expect(outcome.journal.ledger!.lost).toBe(outcome.lostByTest!.length);
  // Present besides the acknowledged: writes in flight when the server died, committed without an answer.
  expect(outcome.journal.ledger!.present).toBe(outcome.ledger.acked.length - outcome.lostByTest!.length + outcome.journal.ledger!.recovered);
  expect(outcome.journal.ledger!.recovered).toBeLessThanOrEqual(outcome.ledger.indeterminate.length);
  expect(outcome.journal.ledger!.unexpected).toBe(0);
}

const cases: Array<{ engine: Engine; archive: string; durableOff: string; corruptSeen: RegExp }> = [
  {
    engine: 'postgres',
    archive: 'pg-basebackup-wal',
    // The WAL writer wakes for a full page of WAL or its delay: commits in between are only in memory.
    durableOff: "settings: { synchronous_commit: 'off', wal_writer_delay: 10s }",
    corruptSeen: /a full read of orders failed: .*(invalid page in block|checksum)/,
  },
  {
    engine: 'mariadb',
    archive: 'mariabackup-binlog',
    // 0 (not 2): with 2 every commit reaches the OS, which a process crash does not lose.
    durableOff: 'settings: { innodb_flush_log_at_trx_commit: 0 }',
    corruptSeen: /a full read of orders failed: .*(corrupt|Got error|doesn't exist in engine)/i,
  },
];

describe.each(cases)('faults on $engine (real servers)', ({ engine, archive, durableOff, corruptSeen }) => {
  it('kill-primary with durable settings: crash recovery on restart loses not one acknowledged write', async () => {
    const outcome = await drillCounting(shopWith(engine, archive, { incident: 'kind: kill-primary', extra: 'objectives:\n  rpo: 0s\n' }));
    expectCountedExactly(outcome);
    const { journal } = outcome;
    expect(outcome.lostByTest).toEqual([]);
    expect(journal.fault!.sourceAfter).toBe('stopped');
    expect(journal.recovery).toMatchObject({ method: expect.stringContaining('crash recovery'), reached: true, restored: true });
    expect(journal.fault!.notes![0]).toMatch(/a crash loses nothing acknowledged/);
    expect(journal.fault!.notes![1]).toMatch(/not of the machine/);
    expect(journal.measurements.rtoServiceMs).toBeGreaterThan(1500);
    expect(journal.status).toBe('passed');
  });

  it('kill-primary with a relaxed commit: the drill counts exactly what the setting costs, and says what it does not show', async () => {
    const outcome = await drillCounting(shopWith(engine, archive, { incident: 'kind: kill-primary', target: durableOff, extra: 'objectives:\n  rpo: 0s\n' }));
    expectCountedExactly(outcome);
    const { journal } = outcome;
    expect(journal.fault!.notes![0]).toMatch(/(synchronous_commit=off|innodb_flush_log_at_trx_commit=0).*loses/);
    expect(isTail(outcome.ledger.acked, outcome.lostByTest!)).toBe(true);
    // Whatever was lost breaches the 0 s RPO, and a loss of nothing passes it: the verdict follows the count.
    expect(objective(journal, OBJECTIVE.dataLoss).passed).toBe(outcome.lostByTest!.length === 0);
  });

  it('disk-loss: the data directory destroyed under load; restored from backups, losing exactly what was not yet archived', async () => {
    const outcome = await drillCounting(shopWith(engine, archive, { incident: 'kind: disk-loss' }));
    expectCountedExactly(outcome);
    const { journal } = outcome;
    expect(journal.fault!.sourceAfter).toBe('gone');
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 1, location: 'primary' });
    // Only a tail can be lost: the archive holds everything up to some instant, and nothing after.
    expect(isTail(outcome.ledger.acked, outcome.lostByTest!)).toBe(true);
    if (engine === 'postgres') {
      // The segment being written when the disk went was never archived.
      expect(outcome.lostByTest!.length).toBeGreaterThan(0);
      expect(journal.status).toBe('passed'); // no RPO objective set: the loss is reported, not judged
    }
    expect(journal.measurements.dataLossMs === null || journal.measurements.dataLossMs >= 0).toBe(true);
  });

  it('corrupt-page: bytes overwritten in a table file are found on read, and the restore from backup loses nothing', async () => {
    const outcome = await drillCounting(shopWith(engine, archive, { incident: 'kind: corrupt-page, table: orders' }));
    expectCountedExactly(outcome);
    const { journal } = outcome;
    expect(journal.fault!.description).toMatch(/64 bytes overwritten in page \d+ of orders \(.+\) with the server stopped/);
    expect(journal.fault!.detection).toMatch(corruptSeen);
    expect(outcome.lostByTest).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, reached: true });
    expect(journal.checks.every((check) => check.passed)).toBe(true);
    expect(journal.status).toBe('passed');
  });

  it('region-loss with an off-site copy: the restore comes from the other region, its copy lag part of the loss', async () => {
    const outcome = await drillCounting(
      shopWith(engine, archive, {
        incident: 'kind: region-loss',
        target: 'region: eu',
        storage: '  primary: { type: local, region: eu }\n  offsite: { type: local, region: us, copy: { from: primary, every: 500ms } }',
      }),
    );
    expectCountedExactly(outcome);
    const { journal } = outcome;
    expect(journal.fault!.description).toBe('region "eu" lost: the source and storage "primary" destroyed');
    expect(journal.fault!.destroyedLocations).toEqual(['primary']);
    expect(journal.recovery).toMatchObject({ restored: true, location: 'offsite' });
    expect(isTail(outcome.ledger.acked, outcome.lostByTest!)).toBe(true);
    const offsite = journal.storage!.find((location) => location.name === 'offsite')!;
    expect(offsite.region).toBe('us');
  });
});

describe('region-loss without an off-site copy', () => {
  it('loses everything: the drill reports total loss in words and fails, it does not crash', async () => {
    const outcome = await drillCounting(
      shopWith('postgres', 'pg-basebackup-wal', { incident: 'kind: region-loss', target: 'region: eu', storage: '  primary: { type: local, region: eu }' }),
    );
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(outcome.lostByTest).toBeUndefined(); // nothing came back to read
    expect(journal.ledger!.lost).toBe(outcome.ledger.acked.length);
    expect(journal.recovery).toMatchObject({ restored: false, reached: false });
    const restored = objective(journal, OBJECTIVE.restored);
    expect(restored.passed).toBe(false);
    expect(restored.reason).toMatch(/no backup survived: every location holding them \(primary\) was destroyed with region "eu"/);
    expect(journal.status).toBe('failed');
  });
});

describe.each([
  ['postgres', 'pg-basebackup-wal', 100],
  // Binlog event times have whole seconds: --stop-datetime cuts at the second.
  ['mariadb', 'mysqldump-binlog', 1000],
] as const)('a restore to a time before the fault on %s (%s)', (engine, strategy, resolutionMs) => {
  it('brings back every write acknowledged before that time and none after it, and says the time was reached', async () => {
    const outcome = await drillCounting(shopWith(engine, strategy, { incident: 'kind: bad-delete, table: orders', extra: 'recovery:\n  target: 1500ms before the fault\n' }));
    expectCountedExactly(outcome);
    const { journal } = outcome;
    expect(journal.recovery).toMatchObject({ target: '1500ms before the fault', point: 'time', reached: true, restored: true });
    const targetUs = journal.fault!.point.serverTimeUs - 1_500_000;
    const lost = new Set(outcome.lostByTest!.map((write) => `${write.writer}/${write.seq}`));
    const acked = outcome.ledger.acked;
    expect(acked.filter((write) => write.serverTimeUs > targetUs).every((write) => lost.has(`${write.writer}/${write.seq}`))).toBe(true);
    expect(acked.filter((write) => write.serverTimeUs < targetUs - resolutionMs * 1000).some((write) => lost.has(`${write.writer}/${write.seq}`))).toBe(false);
    expect(acked.filter((write) => write.serverTimeUs < targetUs).length).toBeGreaterThan(100);
    // No snapshot of the source exists at a chosen instant: the comparison is recorded as not made, and not judged.
    expect(journal.equality!.notCompared).toMatch(/chosen time/);
    expect(journal.objectives.map((objective) => objective.name)).not.toContain(OBJECTIVE.equalToSource);
    expect(journal.measurements.rtoVerifiedMs).not.toBeNull();
    expect(journal.status).toBe('passed');
  });
});
