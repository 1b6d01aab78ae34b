import { describe, expect, it } from 'vitest';
import { fitRtoModel, forecast, forecastSentences, judgeForecast, type PhaseFit, type RtoModel, type SweepDrill } from '../../src/measure/forecast.js';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { formatDuration } from '../../src/util/duration.js';

const GB = 1e9;
const HOUR = 3_600_000;

/** A sweep at the given (data GB, log GB) sizes, each phase's time computed from the sizes. */
function sweepOf(sizes: ReadonlyArray<readonly [number, number]>, phases: Record<string, (dataGb: number, logGb: number, index: number) => number>): SweepDrill[] {
  return sizes.map(([dataGb, logGb], index) => ({
    drill: `d${index + 1}`,
    dataBytes: dataGb * GB,
    logBytes: logGb * GB,
    phases: Object.fromEntries(Object.entries(phases).map(([name, time]) => [name, time(dataGb, logGb, index)])),
  }));
}

/** Deterministic scatter within ±amplitude/2 ms: a 32-bit linear congruential generator. */
function noise(seed: number, amplitude: number): () => number {
  let state = seed;
  return () => ((state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32 - 0.5) * amplitude;
}

const phaseOf = (model: RtoModel, name: string): PhaseFit => model.phases.find((fit) => fit.phase === name)!;

// A recovery whose restore grows with data and a little with log, whose replay grows with log, and whose fixed costs do not grow.
const TRUE = {
  detect: { fixedMs: 1500, msPerGbData: 0, msPerGbLog: 0 },
  restore: { fixedMs: 200, msPerGbData: 9000, msPerGbLog: 400 },
  start: { fixedMs: 800, msPerGbData: 0, msPerGbLog: 0 },
  replay: { fixedMs: 100, msPerGbData: 0, msPerGbLog: 30_000 },
  service: { fixedMs: 20, msPerGbData: 0, msPerGbLog: 0 },
  verify: { fixedMs: 500, msPerGbData: 1000, msPerGbLog: 0 },
};
const linear = (c: { fixedMs: number; msPerGbData: number; msPerGbLog: number }) => (dataGb: number, logGb: number) => c.fixedMs + c.msPerGbData * dataGb + c.msPerGbLog * logGb;
const PHASES = Object.fromEntries(Object.entries(TRUE).map(([name, c]) => [name, linear(c)]));
// Data and log vary independently: log is not an affine function of data here.
const SIZES = [[0.25, 0.5], [1, 0.6], [4, 1.1], [2, 2], [0.5, 1.5]] as const;

describe('fitRtoModel', () => {
  it('recovers the coefficients of a noiseless synthetic series, with zero residuals', () => {
    const model = fitRtoModel(sweepOf(SIZES, PHASES), { log: 'WAL' });
    expect(model.phases.map((fit) => fit.phase)).toEqual(Object.keys(TRUE));
    for (const [name, c] of Object.entries(TRUE)) {
      const fit = phaseOf(model, name);
      expect(fit.coefficients.fixedMs).toBeCloseTo(c.fixedMs, 6);
      expect(fit.coefficients.msPerGbData).toBeCloseTo(c.msPerGbData, 6);
      expect(fit.coefficients.msPerGbLog).toBeCloseTo(c.msPerGbLog, 6);
      expect(fit.residuals).toHaveLength(SIZES.length);
      for (const residual of fit.residuals) expect(Math.abs(residual.residualMs)).toBeLessThan(1e-6);
    }
    expect(phaseOf(model, 'restore')).toMatchObject({ terms: ['fixed', 'data', 'log'], omitted: [], degreesOfFreedom: 2 });
    expect(phaseOf(model, 'restore').rSquared).toBeCloseTo(1, 9);
    expect(phaseOf(model, 'replay').terms).toEqual(['fixed', 'log']);
    expect(model.notes).toEqual([]);
  });

  it('gives the noise back as residuals when it is orthogonal to the sizes, and the coefficients unchanged', () => {
    // data 1…5 GB, log = data + a cubic contrast: the quadratic contrast below is orthogonal to 1, data and log.
    const sizes = [[1, 0], [2, 4], [3, 3], [4, 2], [5, 6]] as const;
    const noise = [2, -1, -2, -1, 2].map((unit) => unit * 37);
    const model = fitRtoModel(sweepOf(sizes, { restore: (d, l, index) => linear(TRUE.restore)(d, l) + noise[index]! }));
    const fit = phaseOf(model, 'restore');
    expect(fit.coefficients.fixedMs).toBeCloseTo(TRUE.restore.fixedMs, 6);
    expect(fit.coefficients.msPerGbData).toBeCloseTo(TRUE.restore.msPerGbData, 6);
    expect(fit.coefficients.msPerGbLog).toBeCloseTo(TRUE.restore.msPerGbLog, 6);
    fit.residuals.forEach((residual, index) => expect(residual.residualMs).toBeCloseTo(noise[index]!, 6));
    const rss = noise.reduce((sum, value) => sum + value * value, 0);
    expect(fit.residualStdErrorMs).toBeCloseTo(Math.sqrt(rss / (sizes.length - 3)), 6);
    expect(fit.rSquared!).toBeLessThan(1);
  });

  it('on any noisy series, leaves residuals that satisfy the normal equations and beat the true coefficients', () => {
    const random = noise(7, 400);
    const drills = sweepOf(SIZES, { restore: (d, l) => linear(TRUE.restore)(d, l) + random() });
    const fit = phaseOf(fitRtoModel(drills), 'restore');
    const sum = (f: (residual: (typeof fit.residuals)[number]) => number) => fit.residuals.reduce((total, residual) => total + f(residual), 0);
    for (const residual of fit.residuals) expect(residual.fittedMs + residual.residualMs).toBeCloseTo(residual.actualMs, 9);
    expect(sum((r) => r.residualMs)).toBeCloseTo(0, 6);
    expect(sum((r) => r.residualMs * (r.dataBytes / GB))).toBeCloseTo(0, 6);
    expect(sum((r) => r.residualMs * (r.logBytes / GB))).toBeCloseTo(0, 6);
    const rss = sum((r) => r.residualMs ** 2);
    const atTruth = sum((r) => (r.actualMs - linear(TRUE.restore)(r.dataBytes / GB, r.logBytes / GB)) ** 2);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThanOrEqual(atTruth);
    expect(fit.residualStdErrorMs).toBeCloseTo(Math.sqrt(rss / fit.degreesOfFreedom), 9);
  });

  it('with two sizes, fits one size term per phase (log for replay, data for the rest) and says why', () => {
    const model = fitRtoModel(sweepOf([SIZES[0], SIZES[3]], PHASES), { log: 'WAL' });
    const replay = phaseOf(model, 'replay');
    expect(replay.terms).toEqual(['fixed', 'log']);
    expect(replay.coefficients.msPerGbLog).toBeCloseTo(TRUE.replay.msPerGbLog, 6);
    expect(replay.omitted).toEqual([expect.objectContaining({ term: 'data', reason: 'too-few-sizes' })]);
    const verify = phaseOf(model, 'verify');
    expect(verify.terms).toEqual(['fixed', 'data']);
    expect(verify.coefficients.msPerGbData).toBeCloseTo(TRUE.verify.msPerGbData, 6);
    expect(verify.omitted).toEqual([expect.objectContaining({ term: 'log', reason: 'too-few-sizes' })]);
    // Two points, two terms: nothing is left to estimate a range from.
    expect(verify).toMatchObject({ degreesOfFreedom: 0, residualStdErrorMs: null });
    expect(model.notes.join(' ')).toMatch(/2 different sizes, fewer than the 3 unknowns/);
    const result = forecast(model, { size: 800 * GB, logPerHour: 20 * GB, backupEvery: 24 * HOUR });
    expect(result.total).toMatchObject({ low: null, high: null });
    expect(result.notes.join(' ')).toMatch(/^.*no range: .*verify.* sweep more sizes/);
  });

  it('when the log grows in step with the data, gives each phase one of them and attributes the combined growth to it', () => {
    const sizes = [0.5, 1, 2, 4].map((dataGb) => [dataGb, 0.25 * dataGb + 0.1] as const);
    const model = fitRtoModel(sweepOf(sizes, PHASES), { log: 'binlog' });
    const restore = phaseOf(model, 'restore');
    expect(restore.terms).toEqual(['fixed', 'data']);
    expect(restore.omitted).toEqual([expect.objectContaining({ term: 'log', reason: 'collinear' })]);
    // restore = 200 + 9000 d + 400 (0.25 d + 0.1): the log's share moves into the data's slope and the fixed time.
    expect(restore.coefficients.msPerGbData).toBeCloseTo(TRUE.restore.msPerGbData + 0.25 * TRUE.restore.msPerGbLog, 6);
    expect(restore.coefficients.fixedMs).toBeCloseTo(TRUE.restore.fixedMs + 0.1 * TRUE.restore.msPerGbLog, 6);
    expect(phaseOf(model, 'replay')).toMatchObject({ terms: ['fixed', 'log'], omitted: [expect.objectContaining({ term: 'data', reason: 'collinear' })] });
    expect(phaseOf(model, 'replay').coefficients.msPerGbLog).toBeCloseTo(TRUE.replay.msPerGbLog, 6);
    expect(model.notes.join(' ')).toMatch(/binlog to replay grew in step with the data .*binlog = 0\.250 × data \+ 100 MB.*cannot be told apart/);
  });

  it('takes a log that grew nearly in step with the data for one that did: the fit cannot tell them apart, and does not pretend to', () => {
    // The shape of a bad-DELETE sweep at 16, 48 and 96 MB: the DELETE's own WAL grows with the data.
    const sizes = [[0.0257, 0.0375], [0.0609, 0.0774], [0.1121, 0.1375]] as const;
    const model = fitRtoModel(sweepOf(sizes, { verify: linear(TRUE.verify), replay: linear(TRUE.replay), locate: (_, l) => 10 + 30_000 * l }), { log: 'WAL' });
    expect(phaseOf(model, 'verify')).toMatchObject({ terms: ['fixed', 'data'], omitted: [expect.objectContaining({ term: 'log', reason: 'collinear' })] });
    for (const phase of ['replay', 'locate']) expect(phaseOf(model, phase)).toMatchObject({ terms: ['fixed', 'log'], omitted: [expect.objectContaining({ term: 'data', reason: 'collinear' })] });
    expect(model.notes.join(' ')).toMatch(/WAL to replay grew nearly in step with the data .*WAL ≈ 1\.1\d × data \+ [\d.]+ MB, R² 0\.99\d\d\).*cannot be told apart/);
    // A log that varies on its own is still fitted apart from the data.
    expect(phaseOf(fitRtoModel(sweepOf(SIZES, PHASES)), 'restore').terms).toEqual(['fixed', 'data', 'log']);
  });

  it('fits a phase that took the same time in every drill as a fixed cost, with nothing to explain', () => {
    const start = phaseOf(fitRtoModel(sweepOf(SIZES, PHASES)), 'start');
    expect(start.terms).toEqual(['fixed']);
    expect(start.coefficients).toEqual({ fixedMs: TRUE.start.fixedMs, msPerGbData: 0, msPerGbLog: 0 });
    expect(start.omitted.map((omit) => [omit.term, omit.reason])).toEqual([['data', 'no-effect'], ['log', 'no-effect']]);
    expect(start.rSquared).toBeNull();
    expect(start.residualStdErrorMs).toBe(0);
    for (const residual of start.residuals) expect(residual.residualMs).toBe(0);
  });

  it('says so when every drill replayed the same log volume, and fits without the log', () => {
    const sizes = SIZES.map(([dataGb]) => [dataGb, 0.5] as const);
    const model = fitRtoModel(sweepOf(sizes, PHASES), { log: 'WAL' });
    const replay = phaseOf(model, 'replay');
    expect(replay.terms).toEqual(['fixed']);
    expect(replay.omitted.map((omit) => [omit.term, omit.reason])).toEqual([['log', 'no-variation'], ['data', 'no-effect']]);
    expect(phaseOf(model, 'replay').coefficients.fixedMs).toBeCloseTo(linear(TRUE.replay)(0, 0.5), 6);
    expect(model.notes).toEqual([expect.stringMatching(/every drill of the sweep had 500 MB of WAL to replay, so time per GB of WAL cannot be fitted/)]);
  });

  it('takes a log that barely varied for one that did not: a time per GB fitted from jitter is not a forecast, which then is a lower bound', () => {
    // The same workload at every size replays about the same binlog; the phases jitter by milliseconds.
    const jitter = noise(7, 40);
    const sizes = [[0.03, 0.00105], [0.06, 0.00098], [0.12, 0.0011]] as const;
    const model = fitRtoModel(sweepOf(sizes, { detect: () => 3000 + jitter(), restore: (d) => 200 + 70_000 * d + jitter(), replay: (_, l) => 300 + 500_000 * l + jitter() }), { log: 'binlog' });
    for (const fit of model.phases) expect(fit.omitted).toContainEqual(expect.objectContaining({ term: 'log', reason: 'no-variation' }));
    expect(phaseOf(model, 'detect').coefficients.msPerGbLog).toBe(0);
    expect(model.notes).toEqual([expect.stringMatching(/^every drill of the sweep had about the same, 980 kB – 1\.1 MB, of binlog to replay, so time per GB of binlog cannot be fitted/)]);
    // 48 GB of binlog is far past what the sweep replayed: the forecast leaves its replay out, and says so.
    const within = forecast(model, { size: 100 * GB, logPerHour: 2 * GB, backupEvery: 24 * HOUR, objectives: { rtoVerifiedMs: 100 * HOUR } });
    expect(within.objectives[0]).toMatchObject({ outcome: 'uncertain', passed: false, reason: expect.stringMatching(/within it, but the forecast leaves out what replaying 48 GB of binlog adds \(the sweep's drills replayed at most 1\.1 MB\), so it cannot say it meets it$/) });
    expect(within.notes).toContainEqual(expect.stringMatching(/^the forecast leaves out what replaying 48 GB of binlog adds .*: it is a lower bound/));
    expect(forecastSentences(within)[0]).toMatch(/the worst case at the end of a backup interval\): at least \d/);
    const over = forecast(model, { size: 100 * GB, logPerHour: 2 * GB, backupEvery: 24 * HOUR, objectives: { rtoVerifiedMs: 60_000 } });
    expect(over.objectives[0]).toMatchObject({ outcome: 'breaches', reason: expect.stringMatching(/forecast to breach it, at least /) });
    // At the sweep's own log, nothing is left out.
    expect(forecast(model, { size: 100 * GB, logPerHour: 0.001 * GB, backupEvery: HOUR }).notes.join(' ')).not.toMatch(/leaves out/);
  });

  it('holds a negative coefficient at 0, refits, and notes it', () => {
    const model = fitRtoModel(sweepOf(SIZES, { restore: (d, l) => 200 + 9000 * d - 40 * l }), { log: 'WAL' });
    const restore = phaseOf(model, 'restore');
    expect(restore.terms).toEqual(['fixed', 'data']);
    expect(restore.coefficients.msPerGbLog).toBe(0);
    expect(restore.omitted).toEqual([expect.objectContaining({ term: 'log', reason: 'clamped', detail: expect.stringMatching(/^restore: time per GB of WAL fitted at -40 ms per GB, below 0; held at 0/) })]);
    // The refit is the least-squares line without the log: its residuals are no longer zero.
    expect(restore.residuals.some((residual) => Math.abs(residual.residualMs) > 1)).toBe(true);
    const result = forecast(model, { size: 10 * GB, logPerHour: GB, backupEvery: HOUR });
    expect(result.notes).toContain(restore.omitted[0]!.detail);
  });

  it('counts a phase that did not run in a drill as 0 ms there, and says so', () => {
    const drills = sweepOf(SIZES, PHASES);
    delete (drills[1]!.phases as Record<string, number>).verify;
    const model = fitRtoModel(drills);
    expect(phaseOf(model, 'verify').residuals[1]!.actualMs).toBe(0);
    expect(model.notes).toContain('phase verify did not run in drill d2: counted as 0 ms there');
  });

  it('refuses what it cannot fit, saying what to give instead', () => {
    expect(() => fitRtoModel([])).toThrow(/at least one drill of the sweep/);
    expect(() => fitRtoModel([{ drill: 'x', dataBytes: -1, logBytes: 0, phases: {} }])).toThrow(/drill x: its data size is -1/);
    expect(() => fitRtoModel([{ dataBytes: 1, logBytes: 0, phases: { restore: Number.NaN } }])).toThrow(/drill #1: phase restore took NaN ms/);
  });
});

describe('forecast', () => {
  const model = fitRtoModel(sweepOf(SIZES, PHASES), { log: 'WAL' });
  const production = { size: 800 * GB, logPerHour: 20 * GB, backupEvery: 24 * HOUR };
  const expected = (dataGb: number, logGb: number) => Object.values(TRUE).reduce((sum, c) => sum + linear(c)(dataGb, logGb), 0);

  it('is labelled a forecast, at the worst case of the interval, per phase, with a range', () => {
    const result = forecast(model, production);
    expect(result.basis).toBe('forecast');
    expect(result.logBytes).toBe(480 * GB);
    expect(result.total.ms).toBeCloseTo(expected(800, 480), 3);
    const restore = result.phases.find((phase) => phase.phase === 'restore')!;
    expect(restore.dataMs).toBeCloseTo(800 * TRUE.restore.msPerGbData, 3);
    expect(restore.logMs).toBeCloseTo(480 * TRUE.restore.msPerGbLog, 3);
    expect(result.phases.reduce((sum, phase) => sum + phase.share, 0)).toBeCloseTo(1, 9);
    // A noiseless sweep: the range closes on the forecast.
    expect(result.total.high! - result.total.low!).toBeLessThan(1);
    expect(result.service!.ms).toBeCloseTo(expected(800, 480) - linear(TRUE.verify)(800, 480), 3);
    expect(result.notes.join(' ')).toMatch(/data size, 800 GB, is 200× the largest in the sweep \(4 GB\)/);
  });

  it('widens the range with the scatter of the sweep and with the distance from it', () => {
    const random = noise(11, 600);
    const noisy = fitRtoModel(sweepOf(SIZES, { restore: (d, l) => linear(TRUE.restore)(d, l) + random() }));
    const near = forecast(noisy, { size: 2 * GB, logPerHour: GB, backupEvery: HOUR });
    const far = forecast(noisy, production);
    const width = (estimate: { low: number | null; high: number | null }) => estimate.high! - estimate.low!;
    expect(width(near.total)).toBeGreaterThan(0);
    expect(width(far.total)).toBeGreaterThan(width(near.total));
    expect(far.total.low).toBeLessThanOrEqual(far.total.ms);
    expect(far.total.high).toBeGreaterThanOrEqual(far.total.ms);
  });

  it('names the dominant phase and the longest schedule that meets a breached objective', () => {
    const objective = 4 * HOUR;
    const result = forecast(model, { ...production, objectives: { rtoVerifiedMs: objective } });
    expect(result.dominant!.phase).toBe('replay');
    const advice = result.alternative!;
    expect(advice).toMatchObject({ basis: 'forecast', aim: 'objective' });
    expect(advice.backupEvery! % HOUR).toBe(0);
    expect(advice.projection.total.ms).toBeLessThanOrEqual(objective);
    // The longest: one hour more breaches it.
    const longer = forecast(model, { ...production, backupEvery: advice.backupEvery! + HOUR });
    expect(longer.total.ms).toBeGreaterThan(objective);
    expect(advice.projection.total.ms).toBeCloseTo(expected(800, (20 * advice.backupEvery!) / HOUR), 3);

    const [, dominance] = forecastSentences(result);
    expect(dominance).toBe(
      `WAL replay is ${Math.round(result.dominant!.share * 100)} % of the forecast RTO at 800 GB: a base backup every ${advice.backupEvery! / HOUR} h instead of 24 h would cut it to ${formatDuration(advice.projection.total.ms)} (${formatDuration(advice.projection.total.low)} – ${formatDuration(advice.projection.total.high)}), which meets the objective across its range.`,
    );
  });

  it('halves the interval when no objective is breached', () => {
    const result = forecast(model, production);
    expect(result.alternative).toMatchObject({ aim: 'half', backupEvery: 12 * HOUR });
    expect(result.alternative!.projection.logBytes).toBe(240 * GB);
    expect(result.alternative!.projection.total.ms).toBeCloseTo(expected(800, 240), 3);
  });

  it('says when no interval can meet the objective, and what the time that stays is', () => {
    // Below what the data alone costs: no backup schedule gets there.
    const result = forecast(model, { ...production, objectives: { rtoVerifiedMs: 30 * 60_000 } });
    expect(result.alternative).toMatchObject({ aim: 'objective', backupEvery: null });
    expect(result.alternative!.projection.total.ms).toBeCloseTo(expected(800, 0), 3);
    expect(forecastSentences(result)[1]).toMatch(/: even a base backup just before the fault would leave .* over the objective/);
  });

  it('tells a phase that grows with the data from one a backup schedule shortens', () => {
    const result = forecast(model, { size: 800 * GB, logPerHour: GB, backupEvery: 6 * HOUR });
    expect(result.dominant!.phase).toBe('restore');
    const sentences = forecastSentences(result);
    expect(sentences[1]).toBe(`Restore is ${Math.round(result.dominant!.share * 100)} % of the forecast RTO at 800 GB and grows with the data (${formatDuration(TRUE.restore.msPerGbData)} per GB), not with the WAL: a more frequent base backup does not shorten it.`);
    expect(sentences[2]).toMatch(/^A base backup every 3 h instead of 6 h would cut it to /);
  });

  it('makes no interval advice when nothing grows with the log', () => {
    const flat = fitRtoModel(sweepOf(SIZES, { restore: linear(TRUE.verify) }));
    expect(forecast(flat, production).alternative).toBeUndefined();
  });

  it('refuses a negative or missing production figure', () => {
    expect(() => forecast(model, { ...production, logPerHour: -1 })).toThrow(/logPerHour is -1/);
    expect(() => forecast(model, { ...production, size: Number.NaN })).toThrow(/size is NaN/);
  });
});

describe('a verdict on a forecast', () => {
  const model = fitRtoModel(sweepOf(SIZES, PHASES), { log: 'WAL' });
  const production = { size: 800 * GB, logPerHour: 20 * GB, backupEvery: 24 * HOUR };

  it('says "forecast", never "measured", and passes only across its whole range', () => {
    const total = forecast(model, production).total.ms;
    const breached = forecast(model, { ...production, objectives: { rtoVerifiedMs: total - 1000, rtoServiceMs: 20 * HOUR } });
    expect(breached.objectives.map((objective) => [objective.name, objective.basis, objective.outcome, objective.passed])).toEqual([
      [OBJECTIVE.rtoService, 'forecast', 'meets', true],
      [OBJECTIVE.rtoVerified, 'forecast', 'breaches', false],
    ]);
    for (const sentence of [...forecastSentences(breached), ...breached.objectives.map((objective) => objective.reason)]) expect(sentence).not.toMatch(/measured/i);
    for (const objective of breached.objectives) expect(objective.reason).toMatch(/forecast/);
    expect(forecastSentences(breached)).toContain(`${OBJECTIVE.rtoVerified} ≤ ${formatDuration(total - 1000)}: forecast to breach it, ${formatDuration(total)} (${formatDuration(breached.total.low)} – ${formatDuration(breached.total.high)}) at 800 GB.`);
  });

  it('is uncertain when the forecast meets the objective but its range does not, or there is no range', () => {
    const random = noise(3, 2000);
    const noisy = forecast(fitRtoModel(sweepOf(SIZES, { restore: (d, l) => linear(TRUE.restore)(d, l) + random() })), production);
    const [uncertain] = judgeForecast(noisy, { rtoVerifiedMs: (noisy.total.ms + noisy.total.high!) / 2 });
    expect(uncertain).toMatchObject({ basis: 'forecast', outcome: 'uncertain', passed: false, reason: expect.stringMatching(/forecast at .*, within it, but its range reaches/) });
    const unranged = forecast(fitRtoModel(sweepOf(SIZES.slice(0, 2), PHASES)), production);
    expect(judgeForecast(unranged, { rtoVerifiedMs: 2 * unranged.total.ms })[0]).toMatchObject({ outcome: 'uncertain', passed: false });
  });

  it('cannot judge RTO (service) without a service phase, and fails it', () => {
    const withoutService = fitRtoModel(sweepOf(SIZES, { restore: linear(TRUE.restore), replay: linear(TRUE.replay) }));
    const result = forecast(withoutService, { ...production, objectives: { rtoServiceMs: 100 * HOUR } });
    expect(result.service).toBeNull();
    expect(result.objectives[0]).toMatchObject({ name: OBJECTIVE.rtoService, outcome: 'unknown', passed: false, forecast: null });
  });
});
