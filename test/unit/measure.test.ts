import { describe, expect, it } from 'vitest';
import type { RowFingerprint } from '../../src/engines/engine.js';
import { assessDamage, compareKeys, pairByKey } from '../../src/measure/damage.js';
import { compareLedger, missingWrites } from '../../src/measure/ledger.js';
import { measureRto, throughputBetween, typicalThroughput } from '../../src/measure/rto.js';
import { breachAdvice, judge, meetsExpectation, OBJECTIVE, type BreachContext, type RecoveryFacts } from '../../src/measure/verdict.js';
import { parseDuration, formatDuration } from '../../src/util/duration.js';
import type { Measurements } from '../../src/journal/types.js';

const write = (writer: number, seq: number, serverTimeUs: number) => ({ writer, seq, serverTimeUs });

describe('compareLedger', () => {
  const acked = [write(1, 1, 1_000_000), write(1, 2, 2_000_000), write(2, 1, 3_000_000), write(2, 2, 5_000_000), write(1, 3, 6_000_000)];

  it('counts writes lost to the detection delay apart from those lost before the fault', () => {
    const result = compareLedger({ acked, indeterminate: [], failed: 0, present: acked.slice(0, 3), faultTimeUs: 4_000_000, targetTimeUs: 4_000_000, detectedTimeUs: null });
    expect(result).toMatchObject({ acked: 5, lost: 2, lostBeforeFault: 0, lostToDetection: 2, lostAfterDetection: 0, ackedBeforeFault: 3, ackedAfterFault: 2, unexpected: 0, dataLossMs: 0 });
  });

  it('where the writes went on past the detection (a game day), splits those lost after the fault at the detection', () => {
    const result = compareLedger({ acked, indeterminate: [], failed: 0, present: acked.slice(0, 2), faultTimeUs: 2_500_000, targetTimeUs: null, detectedTimeUs: 4_000_000 });
    // Lost: 3 s (fault → detection), 5 s and 6 s (after the detection).
    expect(result).toMatchObject({ lost: 3, lostBeforeFault: 0, lostToDetection: 1, lostAfterDetection: 2 });
  });

  it('measures data loss in time from the newest surviving write', () => {
    const result = compareLedger({ acked, indeterminate: [], failed: 0, present: acked.slice(0, 1), faultTimeUs: 4_000_000, targetTimeUs: null, detectedTimeUs: null });
    expect(result.lost).toBe(4);
    expect(result.lostBeforeFault).toBe(2);
    expect(result.dataLossMs).toBe(2000);
    expect(result.lostSample).toHaveLength(4);
  });

  it('counts recovered indeterminate writes and unexpected rows', () => {
    const result = compareLedger({
      acked: acked.slice(0, 2),
      indeterminate: [{ writer: 3, seq: 1 }],
      failed: 1,
      present: [...acked.slice(0, 2), write(3, 1, 2_500_000), write(9, 9, 2_600_000), write(1, 9, 9_000_000)],
      faultTimeUs: 4_000_000,
      targetTimeUs: 4_000_000,
      detectedTimeUs: null,
    });
    expect(result.recovered).toBe(1);
    // never acknowledged (9:9), and one written after the recovery target (1:9)
    expect(result.unexpected).toBe(2);
    expect(result.failed).toBe(1);
  });

  it('when nothing survived, the loss reaches back to the first write', () => {
    const result = compareLedger({ acked, indeterminate: [], failed: 0, present: [], faultTimeUs: 10_000_000, targetTimeUs: null, detectedTimeUs: null });
    expect(result.dataLossMs).toBe(5000);
    expect(result.newestSurvivingUs).toBeNull();
  });

  // A spread of this many arguments into Math.min overflowed the stack: total loss must be reported, not crash.
  it('reports the total loss of a million acknowledged writes', () => {
    const many = Array.from({ length: 1_000_000 }, (_, index) => ({ writer: 1 + (index % 8), seq: Math.floor(index / 8) + 1, serverTimeUs: 1_000_000 + index * 10 }));
    const result = compareLedger({ acked: many, indeterminate: [], failed: 0, present: [], faultTimeUs: 1_000_000 + 1_000_000 * 10, targetTimeUs: null, detectedTimeUs: null });
    expect(result.lost).toBe(1_000_000);
    expect(result.lostBeforeFault).toBe(1_000_000);
    expect(result.dataLossMs).toBeCloseTo(9999.99, 2);
  });

  it('counts exactly what a comparison of writer:seq keys counts, on a shuffled ledger with every kind of row', () => {
    let seed = 5;
    // A 32-bit linear congruential generator; its high bits, the low ones repeat quickly.
    const random = (below: number) => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) >>> 8) % below;
    const keyOf = (w: { writer: number; seq: number }) => `${w.writer}:${w.seq}`;
    const writes = Array.from({ length: 5000 }, (_, index) => write(random(6), 1 + random(900), 1_000_000 + index * 10));
    const unique = [...new Map(writes.map((w) => [keyOf(w), w])).values()];
    const acked = unique.filter((_, index) => index % 5 !== 0);
    const indeterminate = unique.filter((_, index) => index % 5 === 0).map(({ writer, seq }) => ({ writer, seq }));
    // What came back: most acknowledged writes, some indeterminate ones, and rows nobody acknowledged (writer 9).
    const present = [...unique.filter(() => random(10) < 7), write(9, 1, 1_000_001), write(9, 2, 1_060_000)];
    for (let index = present.length - 1; index > 0; index--) {
      const other = random(index + 1);
      [present[index], present[other]] = [present[other]!, present[index]!];
    }
    const faultTimeUs = 1_000_000 + 4000 * 10;
    const targetTimeUs = faultTimeUs - 5000;
    const result = compareLedger({ acked, indeterminate, failed: 3, present, faultTimeUs, targetTimeUs, detectedTimeUs: null });

    const held = new Set(present.map(keyOf));
    const known = new Set([...acked, ...indeterminate].map(keyOf));
    const lost = acked.filter((w) => !held.has(keyOf(w)));
    expect(result.lost).toBe(lost.length);
    expect(result.lostToDetection).toBe(lost.filter((w) => w.serverTimeUs > faultTimeUs).length);
    expect(result.ackedBeforeFault).toBe(acked.filter((w) => w.serverTimeUs <= faultTimeUs).length);
    expect(result.recovered).toBe(indeterminate.filter((w) => held.has(keyOf(w))).length);
    expect(result.unexpected).toBe(present.filter((row) => !known.has(keyOf(row)) || row.serverTimeUs > targetTimeUs).length);
    expect(result.newestSurvivingUs).toBe(Math.max(...acked.filter((w) => held.has(keyOf(w))).map((w) => w.serverTimeUs)));
    expect(result.lostSample).toEqual(lost.slice(0, 20));
    expect(missingWrites(acked, present)).toEqual(lost);
    for (const figure of [result.lost, result.lostToDetection, result.recovered, result.unexpected]) expect(figure).toBeGreaterThan(0);
  });
});

describe('assessDamage', () => {
  const before = new Map([
    ['[1]', 'a'],
    ['[2]', 'b'],
    ['[1000010001]', 'c'],
    ['[1000010001, 2]', 'd'],
  ]);
  /** A table's rows as an engine reads them: in key order, two to a batch (so pairs cross batches). */
  async function* rows(table: ReadonlyMap<string, string>): AsyncGenerator<RowFingerprint[]> {
    const ordered = [...table].map(([key, hash]) => ({ key, hash })).sort((a, b) => compareKeys(a.key, b.key));
    for (let i = 0; i < ordered.length; i += 2) yield ordered.slice(i, i + 2);
  }
  const assess = (after: ReadonlyMap<string, string> | null, lostRefs: number[] = []) =>
    assessDamage({ table: 't', before: rows(before), after: after && rows(after), createdByLostWrites: new Set(lostRefs) });

  it('is undone when every touched row is back as it was', async () => {
    expect(await assess(new Map([...before, ['[3]', 'x'], ['[0]', 'y']]))).toMatchObject({ undone: true, affectedRows: 4, restoredRows: 4, missingRows: 0 });
  });

  it('accepts rows missing because the write that made them is lost (already counted in RPO)', async () => {
    const after = new Map([...before].slice(0, 2));
    expect(await assess(after, [1000010001])).toMatchObject({ undone: true, missingRows: 2, explainedByLostWrites: 2 });
    expect(await assess(after, [7])).toMatchObject({ undone: false, explainedByLostWrites: 0 });
  });

  it('is not undone when a row comes back changed, or the table is missing', async () => {
    expect((await assess(new Map([['[1]', 'a'], ['[2]', 'changed'], ['[1000010001]', 'c'], ['[1000010001, 2]', 'd']]))).undone).toBe(false);
    expect(await assess(null)).toMatchObject({ undone: false, tablePresent: false, missingRows: 4 });
  });

  it('pairs rows by key in UTF-8 byte order, where UTF-16 order differs, and counts a repeated key once', async () => {
    // U+FB00 sorts before U+1F600 in UTF-8 and in the engines, after it in UTF-16.
    expect(compareKeys('["\uFB00"]', '["\u{1F600}"]')).toBeLessThan(0);
    const pairs: Array<[string, string | undefined]> = [];
    const left = [{ key: '["a"]', hash: '1' }, { key: '["a"]', hash: '1' }, { key: '["\uFB00"]', hash: '2' }, { key: '["\u{1F600}"]', hash: '3' }];
    const right = [{ key: '["\uFB00"]', hash: '2' }, { key: '["\u{1F600}"]', hash: 'x' }, { key: '["z"]', hash: '4' }];
    await pairByKey(batchesOf(left), batchesOf(right), (row, counterpart) => void pairs.push([row.key, counterpart?.hash]));
    expect(pairs).toEqual([['["a"]', undefined], ['["\uFB00"]', '2'], ['["\u{1F600}"]', 'x']]);
  });

  it('refuses rows out of key order instead of pairing them wrongly', async () => {
    const disordered = [{ key: '[2]', hash: 'b' }, { key: '[1]', hash: 'a' }];
    await expect(pairByKey(batchesOf(disordered), null, () => undefined)).rejects.toThrow(/not in key order/);
    await expect(pairByKey(batchesOf([{ key: '[3]', hash: 'c' }]), batchesOf(disordered), () => undefined)).rejects.toThrow(/second list of rows is not in key order/);
  });
});

async function* batchesOf(list: RowFingerprint[]): AsyncGenerator<RowFingerprint[]> {
  for (const row of list) yield [row];
}

describe('measureRto', () => {
  it('measures from the fault and breaks the time down by the phases after it', () => {
    const phase = (name: string, startMs: number, endMs: number) => ({ name, startMs, endMs, durationMs: endMs - startMs, ok: true });
    const result = measureRto({
      faultAtMs: 1000,
      serviceRestoredAtMs: 6000,
      verifiedAtMs: 6500,
      phases: [phase('backup', 0, 900), phase('detect', 1000, 4000), phase('restore', 4000, 5500), phase('verify', 6000, 6500)],
    });
    expect(result).toEqual({ rtoServiceMs: 5000, rtoVerifiedMs: 5500, breakdown: { detect: 3000, restore: 1500, verify: 500 } });
  });

  it('takes firedrill\'s own phases in the recovery window out of the figures and the breakdown', () => {
    const phase = (name: string, startMs: number, endMs: number, notCounted = false) => ({ name, startMs, endMs, durationMs: endMs - startMs, ok: true, ...(notCounted ? { notCounted: true as const } : {}) });
    const result = measureRto({
      faultAtMs: 1000,
      serviceRestoredAtMs: 6000,
      verifiedAtMs: 6500,
      // A latent fault injected before the restore, a hook after service: neither is recovery work.
      phases: [phase('detect', 1000, 3000), phase('backup-fault', 3000, 3700, true), phase('restore', 3700, 6000), phase('hook', 6000, 6200, true), phase('verify', 6200, 6500)],
    });
    expect(result).toEqual({ rtoServiceMs: 4300, rtoVerifiedMs: 4600, breakdown: { detect: 2000, restore: 2300, verify: 300 } });
  });

  it('reports nothing when the service never came back', () => {
    expect(measureRto({ faultAtMs: 1000, serviceRestoredAtMs: null, verifiedAtMs: null, phases: [] })).toMatchObject({ rtoServiceMs: null, rtoVerifiedMs: null });
  });

  it('averages throughput over the buckets of an interval, a cut bucket by the part inside it', () => {
    const series = [0, 1, 2, 3].map((t) => ({ t, acked: t * 10 }));
    expect(throughputBetween(series, 500, 500, 2500)).toBe(5);
    // A bucket cut by the interval counts for the part of its second inside it.
    expect(throughputBetween(series, 500, 1000, 2750)).toBeCloseTo((0.5 * 0 + 1 * 10 + 0.25 * 20) / 1.75, 9);
    expect(throughputBetween(series, 500, 2510, 2510)).toBeNull();
  });

  it('takes a typical second as the median of the whole seconds inside an interval: a second-long stall does not move it', () => {
    // The shape of a MariaDB drill at 200 writes/s whose mariadb-backup held commits back for about a second.
    const series = [196, 200, 200, 36, 184, 200, 200, 200, 166].map((acked, t) => ({ t, acked }));
    expect(throughputBetween(series, 0, 0, 8390)).toBeCloseTo((1416 + 0.39 * 166) / 8.39, 6);
    expect(typicalThroughput(series, 0, 0, 8390)).toBe(200);
    // A second the interval cuts is not counted; an even count takes the mean of the middle two.
    expect(typicalThroughput(series, 0, 2500, 8390)).toBe(200);
    expect(typicalThroughput(series, 0, 2000, 5000)).toBe(184);
    expect(typicalThroughput(series, 0, 3000, 5000)).toBe(110);
    expect(typicalThroughput(series, 0, 2500, 3400)).toBeNull();
  });
});

describe('judge', () => {
  const measurements: Measurements = { rtoServiceMs: 4000, rtoVerifiedMs: 4500, rtoBreakdown: {}, resolutionMs: 25, dataLossMs: 0, lostWrites: 600, lostToDetection: 600, damageUndone: true };
  const good: RecoveryFacts = { restored: { passed: true }, backups: { defects: [] }, recovery: { reached: true }, equality: { differences: [] } };

  it('passes each objective on its own, the recovery facts first', () => {
    const { objectives, passed } = judge({ rtoVerifiedMs: 5000, dataLossMs: 1000, lostWrites: 100, damageUndone: true }, measurements, [], good);
    expect(objectives.map((o) => [o.name, o.passed])).toEqual([
      [OBJECTIVE.restored, true],
      [OBJECTIVE.backupsIntact, true],
      [OBJECTIVE.recoveryReached, true],
      [OBJECTIVE.equalToSource, true],
      [OBJECTIVE.rtoVerified, true],
      [OBJECTIVE.dataLoss, true],
      [OBJECTIVE.lostWrites, false],
      [OBJECTIVE.damageUndone, true],
    ]);
    expect(passed).toBe(false);
  });

  it('fails an objective that could not be measured', () => {
    const { objectives, passed } = judge({ rtoServiceMs: 60_000 }, { ...measurements, rtoServiceMs: null }, [], good);
    expect(objectives.find((o) => o.name === OBJECTIVE.rtoService)).toMatchObject({ passed: false, measured: 'not measured', reason: 'could not be measured' });
    expect(passed).toBe(false);
  });

  it('fails the drill when a check fails', () => {
    expect(judge({}, measurements, [{ name: 'rows', passed: false, detail: 'got 0' }], good).passed).toBe(false);
  });

  // With no RPO objective at all, a recovery that stopped early still fails: the loss it hides is unmeasured otherwise.
  it('fails a recovery that did not reach its target, and one that cannot tell, whatever else passed', () => {
    const stopped = judge({}, measurements, [], { ...good, recovery: { reached: false, reason: 'WAL segment 000000010000000000000007 missing' } });
    expect(stopped.passed).toBe(false);
    expect(stopped.objectives.find((o) => o.name === OBJECTIVE.recoveryReached)).toMatchObject({ passed: false, measured: 'no', reason: 'WAL segment 000000010000000000000007 missing' });
    const unknown = judge({}, measurements, [], { ...good, recovery: { reached: null } });
    expect(unknown.passed).toBe(false);
  });

  it('fails on any backup defect, on a restore that brought nothing back, and on an equality that could not be checked', () => {
    expect(judge({}, measurements, [], { ...good, backups: { defects: ['backup 2: sha256 differs'] } }).passed).toBe(false);
    expect(judge({}, measurements, [], { ...good, restored: { passed: false, reason: 'no backup survived' } }).passed).toBe(false);
    const notCompared = judge({}, measurements, [], { ...good, equality: { notCompared: 'nothing was restored' } });
    expect(notCompared.passed).toBe(false);
    expect(notCompared.objectives.find((o) => o.name === OBJECTIVE.equalToSource)).toMatchObject({ measured: 'not measured', measuredValue: null });
    const different = judge({}, measurements, [], { ...good, equality: { differences: ['column public.orders.total is numeric(12,3), was numeric(12,2)'] } });
    expect(different.objectives.find((o) => o.name === OBJECTIVE.equalToSource)).toMatchObject({ passed: false, reason: 'column public.orders.total is numeric(12,3), was numeric(12,2)' });
  });

  it('says what to do next on a breached RTO or RPO, and leaves an unmeasured figure as such', () => {
    const context: BreachContext = {
      strategy: 'pg-dump',
      pointInTime: false,
      keeps: 'backups',
      pointInTimeStrategies: ['pg-basebackup-wal', 'pgbackrest'],
      backups: { count: 1, everyMs: 5000 },
      detectedAfterMs: 3000,
      lost: 900,
      lostToDetection: 600,
      lostAfterDetection: 0,
      breakdown: { restore: 2100, fetch: 400, start: 300 },
    };
    const advice = breachAdvice(context);
    expect(advice.rpo).toBe("pg-dump restores to its backup's instant: the loss is bounded by how often it backs up (here once before the fault); use point-in-time recovery (pg-basebackup-wal, pgbackrest) or back up more often");
    expect(advice.rto).toBe('the longest part of the recovery was restore (2.10 s); a smaller or more recent backup, a faster restore path or a standby shortens it');
    expect(breachAdvice({ ...context, pointInTime: true, strategy: 'pg-basebackup-wal' }).rpo).toBe(
      '600 of the 900 writes lost were acknowledged after the fault, detected 3.00 s later: recovering to before the fault undoes them with the damage; detect sooner to lose fewer',
    );
    expect(breachAdvice({ ...context, pointInTime: true, detectedAfterMs: null }).rpo).toMatch(/^600 of the 900 writes lost were acknowledged after the fault, which was never marked detected: /);
    expect(breachAdvice({ ...context, breakdown: { team: 60_000, verify: 900 } }).rto).toMatch(/^the longest part of the recovery was team \(1 min 00 s\); the human timeline shows where the team's time went/);
    expect(breachAdvice({ ...context, pointInTime: true, lostToDetection: 100 }).rpo).toMatch(/^writes acknowledged before the fault were not in the archive/);
    expect(breachAdvice({ ...context, pointInTime: true, lostToDetection: 100, lostAfterDetection: 700 }).rpo).toMatch(
      /^700 of the 900 writes lost were acknowledged after the fault was detected, while the application kept writing .*: stop the application's writes once the fault is known/,
    );
    expect(breachAdvice({ ...context, keeps: 'standby', strategy: 'replica-async' }).rpo).toMatch(/^replica-async fails over to its standby: .* a synchronous standby \(replica-sync\) loses no acknowledged write$/);

    const { objectives } = judge({ rtoServiceMs: 1000, rtoVerifiedMs: 60_000, dataLossMs: 1000 }, { ...measurements, dataLossMs: 4000 }, [], { ...good, advice });
    expect(objectives.find((o) => o.name === OBJECTIVE.rtoService)).toMatchObject({ passed: false, reason: advice.rto });
    expect(objectives.find((o) => o.name === OBJECTIVE.rtoVerified)).toMatchObject({ passed: true });
    expect(objectives.find((o) => o.name === OBJECTIVE.rtoVerified)!.reason).toBeUndefined();
    expect(objectives.find((o) => o.name === OBJECTIVE.dataLoss)).toMatchObject({ passed: false, reason: advice.rpo });
    const unmeasured = judge({ rtoServiceMs: 1000 }, { ...measurements, rtoServiceMs: null }, [], { ...good, advice });
    expect(unmeasured.objectives.find((o) => o.name === OBJECTIVE.rtoService)).toMatchObject({ reason: 'could not be measured' });
  });

  it('compares check values', () => {
    expect(meetsExpectation('16044', 16044)).toBe(true);
    expect(meetsExpectation('16044', '>= 16000')).toBe(true);
    expect(meetsExpectation('0', '!= 0')).toBe(false);
    expect(meetsExpectation('shipped', 'shipped')).toBe(true);
    expect(meetsExpectation('t', true)).toBe(true);
    expect(meetsExpectation(null, 0)).toBe(false);
    expect(meetsExpectation('2', false)).toBe(false);
    expect(meetsExpectation('f', false)).toBe(true);
    expect(meetsExpectation('abc', '!= 0')).toBe(false);
  });
});

describe('durations', () => {
  it('parses the units scenario files use', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration(5)).toBe(5000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(formatDuration(4210)).toBe('4.21 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(119_600)).toBe('2 min 00 s');
    expect(formatDuration(59_999)).toBe('1 min 00 s');
  });
});
