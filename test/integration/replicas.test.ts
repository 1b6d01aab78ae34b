import { describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { drillCounting, type CountedOutcome } from '../support/counting.js';
import { objective, shopWith } from '../support/drills.js';

/**
 * Standbys and failover on real servers: the promoted standby is read by the test itself, and
 * the writes it lacks are counted against the client's acknowledgements.
 */

type Engine = 'postgres' | 'mariadb';

function expectFailover(outcome: CountedOutcome): void {
  const { journal } = outcome;
  expect(journal.errors).toEqual([]);
  expect(journal.recovery).toMatchObject({ method: 'promote the standby (failover)', point: 'failover', restored: true });
  // The lag was sampled while the workload ran, in bytes and milliseconds.
  expect(journal.strategySamples!.length).toBeGreaterThan(0);
  const last = journal.strategySamples!.at(-1)!.values;
  expect(last).toEqual({ lagBytes: expect.any(Number), lagMs: last.lagMs === null ? null : expect.any(Number) });
  // The server has no lag time for WAL it has not heard back about yet (null, never a made-up 0);
  // how many samples fall in such a moment depends on the machine's load, but one at least has a time.
  expect(journal.strategySamples!.some((sample) => typeof sample.values.lagMs === 'number')).toBe(true);
  expect(journal.strategySamples!.every((sample) => sample.values.lagMs === null || sample.values.lagMs >= 0)).toBe(true);
  expect(journal.recovery!.detail).toMatch(/when the fault struck the standby was \d+ bytes and .+ behind/);
  // Service is back when the promoted standby acknowledges a write.
  expect(journal.measurements.rtoServiceMs).toBeGreaterThan(1500);
  expect(journal.ledger!.lost).toBe(outcome.lostByTest!.length);
  expect(journal.ledger!.unexpected).toBe(0);
}

describe.each<Engine>(['postgres', 'mariadb'])('standbys on %s (real servers)', (engine) => {
  it('replica-sync + kill-primary: failover loses not one acknowledged write', async () => {
    const outcome = await drillCounting(shopWith(engine, 'replica-sync', { incident: 'kind: kill-primary', extra: 'objectives:\n  rpo: 0s\n' }));
    expectFailover(outcome);
    expect(outcome.lostByTest).toEqual([]);
    expect(outcome.journal.status).toBe('passed');
  });

  it('replica-async + disk-loss: failover loses exactly what had not reached the standby, counted write by write', async () => {
    const outcome = await drillCounting(shopWith(engine, 'replica-async', { incident: 'kind: disk-loss' }));
    expectFailover(outcome);
    expect(outcome.journal.fault!.sourceAfter).toBe('gone');
  });

  it('replica-sync in another region + region-loss: the standby survives and loses nothing', async () => {
    const outcome = await drillCounting(
      shopWith(engine, '{ name: replica-sync, region: us }', { incident: 'kind: region-loss', target: 'region: eu', extra: 'objectives:\n  rpo: 0s\n' }),
    );
    expectFailover(outcome);
    expect(outcome.lostByTest).toEqual([]);
    expect(outcome.journal.instances!.find((instance) => instance.name === 'standby')).toMatchObject({ region: 'us' });
    expect(outcome.journal.status).toBe('passed');
  });

  it('a bad DELETE replicates: failing over to replica-async does not undo it, and the drill fails saying so', async () => {
    const outcome = await drillCounting(shopWith(engine, 'replica-async', { incident: 'kind: bad-delete, table: orders' }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.damage).toMatchObject({ table: 'orders', undone: false });
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(false);
    const reached = objective(journal, OBJECTIVE.recoveryReached);
    expect(reached.passed).toBe(false);
    expect(reached.reason).toMatch(/a standby applies the fault as soon as it receives it/);
    expect(journal.status).toBe('failed');
  });

  it('replica-delayed + kill-primary: promoted with everything it received, its delay waited out or cut short, nothing lost', async () => {
    const outcome = await drillCounting(shopWith(engine, '{ name: replica-delayed, delay: 4s }', { incident: 'kind: kill-primary', extra: 'objectives:\n  rpo: 0s\n' }));
    expectFailover(outcome);
    expect(outcome.lostByTest).toEqual([]);
    expect(outcome.journal.recovery).toMatchObject({ reached: true });
    expect(outcome.journal.status).toBe('passed');
  });

  it('replica-delayed undoes a bad DELETE: stopped just before the fault, then promoted', async () => {
    const outcome = await drillCounting(shopWith(engine, '{ name: replica-delayed, delay: 15s }', { incident: 'kind: bad-delete, table: orders' }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ method: 'stop the delayed standby just before the fault, then promote it', point: 'fault', reached: true });
    expect(journal.damage).toMatchObject({ table: 'orders', undone: true, missingRows: 0 });
    // Exactly the writes acknowledged after the fault are lost: those before it were all applied.
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(outcome.lostByTest!.every((write) => write.serverTimeUs > faultUs)).toBe(true);
    expect(outcome.lostByTest!.length).toBe(outcome.ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    expect(journal.ledger!.lost).toBe(outcome.lostByTest!.length);
    expect(journal.status).toBe('passed');
  });
});

describe('a standby in the primary\'s region', () => {
  it('is lost with it in a region loss: no failover, total loss, and the drill fails with what to change', async () => {
    const outcome = await drillCounting(shopWith('postgres', 'replica-sync', { incident: 'kind: region-loss', target: 'region: eu' }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.fault!.description).toBe('region "eu" lost: the source and the standby destroyed (no storage location was in it)');
    expect(journal.ledger!.lost).toBe(outcome.ledger.acked.length);
    const restored = objective(journal, OBJECTIVE.restored);
    expect(restored.passed).toBe(false);
    expect(restored.reason).toMatch(/the standby is gone: it ran in region "eu", lost with the primary; run it in another region/);
    expect(journal.status).toBe('failed');
  });
});
