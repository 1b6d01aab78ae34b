import { formatDuration } from '../util/duration.js';
import { OBJECTIVE, type ObjectiveTargets } from './verdict.js';

/**
 * The RTO model of a size sweep, and the forecast it makes for a production size. Pure: no I/O.
 *
 * Per phase, `time = fixed + perGbData × dataGB + perGbLog × logGB`, fitted by least squares over
 * the drills of one scenario at different sizes. Restore time grows with the data (copy,
 * decompress), replay with the log (single-threaded), and provision, start and verify do not.
 * A forecast is never a measurement: everything it returns says `basis: 'forecast'`.
 */

/** One drill of the sweep. */
export interface SweepDrill {
  /** Names the drill in residuals and notes (its drill id); `#1`, `#2`, … when absent. */
  drill?: string;
  /** Bytes of data the restore brought back. */
  dataBytes: number;
  /** Bytes of WAL or binlog the recovery replayed. */
  logBytes: number;
  /** Milliseconds per phase of the recovery: the journal's `measurements.rtoBreakdown`, in the order the phases ran. */
  phases: Readonly<Record<string, number>>;
}

export interface SweepOptions {
  /** What the log is called in sentences: `WAL`, `binlog`. */
  log?: string;
}

/** A term of the per-phase model. */
export type Term = 'fixed' | 'data' | 'log';

/**
 * Why a term is not in a phase's fit.
 * - `no-variation`: the sweep's data size (or log volume) was the same in every drill.
 * - `too-few-sizes`: fewer different sizes than unknowns.
 * - `collinear`: the log grew in step, or nearly (R² ≥ 0.9), with the data, so their effects cannot be told apart.
 * - `clamped`: the least-squares value was negative (a phase cannot get faster with size), so it is held at 0 and the rest refitted.
 * - `no-effect`: the fit is as good without it: the phase's time did not change with it.
 */
export type OmitReason = 'no-variation' | 'too-few-sizes' | 'collinear' | 'clamped' | 'no-effect';

export interface Residual {
  drill: string;
  dataBytes: number;
  logBytes: number;
  actualMs: number;
  fittedMs: number;
  /** actual − fitted. */
  residualMs: number;
}

export interface PhaseFit {
  phase: string;
  /** The terms fitted; the coefficients of the others are 0. */
  terms: Term[];
  coefficients: { fixedMs: number; msPerGbData: number; msPerGbLog: number };
  omitted: Array<{ term: Term; reason: OmitReason; detail: string }>;
  residuals: Residual[];
  /** 1 − RSS / total sum of squares; null when the phase took the same time in every drill (nothing to explain). */
  rSquared: number | null;
  /** √(RSS / degrees of freedom): the typical scatter of a drill around the fit; null with no degree of freedom left. */
  residualStdErrorMs: number | null;
  /** Drills minus fitted terms. */
  degreesOfFreedom: number;
  /** (XᵀX)⁻¹ over `terms`, in their order: the leverage of a forecast point comes from it. */
  inverseGram: number[][];
}

export interface RtoModel {
  /** What the log is called: `WAL`, `binlog`, or `log`. */
  log: string;
  drills: number;
  dataBytes: { min: number; max: number };
  logBytes: { min: number; max: number };
  /** Every phase of the sweep, in the order the drills ran them. */
  phases: PhaseFit[];
  /** What the sweep could and could not separate, in words. */
  notes: string[];
}

export interface ForecastInput {
  /** Production data size, bytes. */
  size: number;
  /** WAL or binlog written per hour in production, bytes. */
  logPerHour: number;
  /** Interval between base backups, ms: the worst case replays a whole interval of log. */
  backupEvery: number;
  /** The scenario's RTO objectives, to judge the forecast against. */
  objectives?: Pick<ObjectiveTargets, 'rtoServiceMs' | 'rtoVerifiedMs'>;
}

/** A forecast figure and its range (null when the sweep leaves nothing to estimate the error from). */
export interface Estimate {
  ms: number;
  low: number | null;
  high: number | null;
}

export interface PhaseForecast extends Estimate {
  phase: string;
  /** The forecast split by term: fixed + per GB of data + per GB of log. */
  fixedMs: number;
  dataMs: number;
  logMs: number;
  /** Of the whole forecast RTO, 0–1. */
  share: number;
}

/** The model evaluated at one data size and log volume. */
export interface Projection {
  basis: 'forecast';
  dataBytes: number;
  logBytes: number;
  backupEvery: number;
  phases: PhaseForecast[];
  /** Every phase: fault → verified when the sweep's drills verified. */
  total: Estimate;
  /** The phases up to and including `service`: fault → first write; null when the sweep has no service phase. */
  service: Estimate | null;
}

export type ForecastOutcome = 'meets' | 'breaches' | 'uncertain' | 'unknown';

/** An RTO objective judged on a forecast: never a measurement. */
export interface ForecastObjective {
  basis: 'forecast';
  name: string;
  targetMs: number;
  forecast: Estimate | null;
  /** meets: even the top of the range is within it · breaches: the forecast itself is over it · uncertain: the forecast is within it but the range is not, or there is no range · unknown: the sweep cannot forecast this figure. */
  outcome: ForecastOutcome;
  /** Only a forecast that meets the objective across its whole range passes. */
  passed: boolean;
  /** The verdict in a sentence, which says "forecast". */
  reason: string;
}

/** A shorter backup interval, and what it would forecast. */
export interface IntervalAdvice {
  basis: 'forecast';
  /** `objective`: the longest interval whose forecast meets every breached RTO objective; `half`: half the interval given. */
  aim: 'objective' | 'half';
  /** null when no interval meets the objective: then `projection` is a base backup at the fault (no log to replay). */
  backupEvery: number | null;
  projection: Projection;
  objectives: ForecastObjective[];
}

export interface RtoForecast extends Projection {
  /** What the log is called: `WAL`, `binlog`, or `log`. */
  log: string;
  /** The log volume of the worst case: `logPerHour × backupEvery`. */
  logPerHour: number;
  /** The phase with the largest share of the forecast. */
  dominant: PhaseForecast | null;
  objectives: ForecastObjective[];
  /** Absent when no phase grew with the log in the sweep: then the interval does not move the forecast. */
  alternative?: IntervalAdvice;
  /** What the forecast rests on and where it is weak, in words. */
  notes: string[];
  /** The cost the forecast cannot include (a size the sweep did not vary, asked far past it): the forecast is then a lower bound. */
  leftOut?: string;
  /** Drills and sizes of the sweep it comes from. */
  sweep: { drills: number; dataBytes: { min: number; max: number }; logBytes: { min: number; max: number } };
}

const GB = 1e9;
const HOUR = 3_600_000;

/** Phases whose work is reading or replaying the log (searching it for the bad transaction, checking the archive, replaying it): with one size term to spare, they get the log's. */
const LOG_PHASES = new Set(['locate', 'verify-archive', 'replay']);

/** Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom. */
const T_95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

function t95(degrees: number): number {
  if (degrees <= T_95.length) return T_95[degrees - 1]!;
  // Past 30, the Cornish–Fisher expansion around the normal quantile is within 0.001 of the table.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * degrees) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * degrees ** 2);
}

function termName(term: Term, log: string): string {
  return term === 'fixed' ? 'fixed time' : `time per GB of ${term === 'data' ? 'data' : log}`;
}

interface Point {
  drill: string;
  dataBytes: number;
  logBytes: number;
  x: Record<Term, number>;
}

/** Sizes as the issue and the scenario write them: decimal units, three significant digits. */
export function formatSize(bytes: number): string {
  for (const [unit, scale] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6], ['kB', 1e3]] as const) {
    if (bytes >= scale) return `${Number((bytes / scale).toPrecision(3))} ${unit}`;
  }
  return `${bytes} B`;
}

/** A backup interval as people say it: `6 h`, `45 min`, else as any duration. */
function formatInterval(ms: number): string {
  if (ms >= HOUR && ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return formatDuration(ms);
}

function spread(values: readonly number[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  return { min, max };
}

/**
 * A sweep spans a size when its drills differ by more than a third of the largest: a binlog
 * that is 1.0–1.1 MiB at every size (the same workload each time) fits a time per GB from the
 * phases' jitter alone, and a forecast of 48 GB of it would multiply that jitter.
 */
const NARROW = 1 / 3;

function varies(values: readonly number[]): boolean {
  const { min, max } = spread(values);
  return max - min > NARROW * Math.max(Math.abs(max), Math.abs(min));
}

/**
 * The log explained this well by the data (R² of log = a + b × data across the sweep) cannot be
 * told apart from it: a variance inflation of 10, the usual bound. Past it the two slopes trade
 * off against each other inside the drills' scatter, and which phase the fit gives to the data and
 * which to the log is an accident — a drill whose log grows with its data (a DELETE's own WAL)
 * gave its replay to the data and its verification to the WAL, 17 s per GB, and a production
 * forecast with another proportion of log to data multiplied that.
 */
const NEARLY_COLLINEAR = 0.9;

/** A forecast this far past the sweep on a size the sweep did not vary leaves that size's cost out. */
const BEYOND_UNVARIED = 1.5;

/** Solves the normal equations of `terms` and returns the coefficients, (XᵀX)⁻¹ and the residual sum of squares. */
function leastSquares(points: readonly Point[], y: readonly number[], terms: readonly Term[]): { coefficients: number[]; inverse: number[][]; rss: number } {
  const k = terms.length;
  // [XᵀX | I | Xᵀy], reduced by Gauss–Jordan with partial pivoting: at most 3 unknowns.
  const rows = terms.map((a, i) => [
    ...terms.map((b) => points.reduce((sum, point) => sum + point.x[a] * point.x[b], 0)),
    ...terms.map((_, j) => (i === j ? 1 : 0)),
    points.reduce((sum, point, n) => sum + point.x[a] * y[n]!, 0),
  ]);
  for (let column = 0; column < k; column++) {
    let pivot = column;
    for (let row = column + 1; row < k; row++) if (Math.abs(rows[row]![column]!) > Math.abs(rows[pivot]![column]!)) pivot = row;
    [rows[column], rows[pivot]] = [rows[pivot]!, rows[column]!];
    const lead = rows[column]!;
    const scale = lead[column]!;
    for (let j = 0; j < lead.length; j++) lead[j]! /= scale;
    for (let row = 0; row < k; row++) {
      if (row === column) continue;
      const factor = rows[row]![column]!;
      for (let j = 0; j < lead.length; j++) rows[row]![j]! -= factor * lead[j]!;
    }
  }
  const coefficients = rows.map((row) => row[2 * k]!);
  const inverse = rows.map((row) => row.slice(k, 2 * k));
  const rss = points.reduce((sum, point, n) => sum + (y[n]! - terms.reduce((fit, term, j) => fit + coefficients[j]! * point.x[term], 0)) ** 2, 0);
  return { coefficients, inverse, rss };
}

/** Which size terms the sweep can support, and why not the others: the same for every phase. */
function identifiable(points: readonly Point[], log: string): { sizeTerms: 'both' | 'one' | 'data' | 'log' | 'none'; reasons: Partial<Record<Term, { reason: OmitReason; detail: string }>>; notes: string[] } {
  const data = points.map((point) => point.x.data);
  const logs = points.map((point) => point.x.log);
  const dataVaries = varies(data);
  const logVaries = varies(logs);
  const reasons: Partial<Record<Term, { reason: OmitReason; detail: string }>> = {};
  const notes: string[] = [];
  const same = (term: 'data' | 'log', values: readonly number[]) => {
    const { min, max } = spread(values.map((value) => value * GB));
    const amount = max - min <= 1e-9 * max ? formatSize(max) : `about the same, ${formatSize(min)} – ${formatSize(max)},`;
    const detail = `every drill of the sweep had ${amount} of ${term === 'data' ? 'data' : `${log} to replay`}, so ${termName(term, log)} cannot be fitted: the forecast does not grow with it`;
    reasons[term] = { reason: 'no-variation', detail };
    notes.push(detail);
  };
  if (!dataVaries) same('data', data);
  if (!logVaries) same('log', logs);
  if (!dataVaries || !logVaries) return { sizeTerms: dataVaries ? 'data' : logVaries ? 'log' : 'none', reasons, notes };

  const distinct = new Set(points.map((point) => `${point.x.data}:${point.x.log}`)).size;
  const logPhases = [...LOG_PHASES];
  const oneOf = `each phase is fitted with one of them (${log} for ${logPhases.slice(0, -1).join(', ')} and ${logPhases.at(-1)}, data for the others)`;
  if (distinct < 3) {
    const detail = `the sweep has ${distinct} different sizes, fewer than the 3 unknowns of fixed time, time per GB of data and time per GB of ${log}: ${oneOf}`;
    notes.push(detail);
    return { sizeTerms: 'one', reasons: { data: { reason: 'too-few-sizes', detail }, log: { reason: 'too-few-sizes', detail } }, notes };
  }
  // Is the log an affine function of the data across the sweep? Then only one of the two can be fitted.
  const line = leastSquares(points, logs, ['fixed', 'data']);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const centred = logs.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  const rSquared = 1 - line.rss / centred;
  if (rSquared >= NEARLY_COLLINEAR) {
    const [intercept, slope] = line.coefficients as [number, number];
    const exact = line.rss <= 1e-12 * centred;
    const relation = `${log} ${exact ? '=' : '≈'} ${slope.toPrecision(3)} × data ${intercept < 0 ? '−' : '+'} ${formatSize(Math.abs(intercept) * GB)}${exact ? '' : `, R² ${rSquared.toFixed(4)}`}`;
    const detail = `the ${log} to replay grew ${exact ? 'in step' : 'nearly in step'} with the data across the sweep (${relation}), so time per GB of data and time per GB of ${log} cannot be told apart: ${oneOf}; a forecast whose ${log} and data are in another proportion rests on that choice`;
    notes.push(detail);
    return { sizeTerms: 'one', reasons: { data: { reason: 'collinear', detail }, log: { reason: 'collinear', detail } }, notes };
  }
  return { sizeTerms: 'both', reasons, notes };
}

/**
 * Least squares with no negative coefficient: every subset of the terms is fitted, and the best
 * with none negative wins — with three terms that is exact and cheap. On a tie, fewer terms.
 */
function nonNegativeFit(points: readonly Point[], y: readonly number[], terms: readonly Term[]) {
  const scale = Math.max(...y.map(Math.abs), 1e-9);
  const extent = (term: Term) => Math.max(...points.map((point) => Math.abs(point.x[term])), 1e-12);
  // A coefficient this close to 0 is rounding, not a phase getting faster with size.
  const negligible = (term: Term, value: number) => Math.abs(value * extent(term)) <= 1e-9 * scale;
  const subsets = Array.from({ length: 2 ** terms.length }, (_, mask) => terms.filter((_, j) => mask & (1 << j))).sort((a, b) => a.length - b.length);
  const tie = 1e-12 * Math.max(y.reduce((sum, value) => sum + value * value, 0), 1);
  let best: { terms: Term[]; coefficients: number[]; inverse: number[][]; rss: number } | undefined;
  for (const subset of subsets) {
    const fit = leastSquares(points, y, subset);
    if (fit.coefficients.some((value, j) => value < 0 && !negligible(subset[j]!, value))) continue;
    const coefficients = fit.coefficients.map((value) => Math.max(0, value));
    if (!best || fit.rss < best.rss - tie) best = { terms: subset, coefficients, inverse: fit.inverse, rss: fit.rss };
  }
  const unconstrained = leastSquares(points, y, terms).coefficients;
  return { best: best!, unconstrained: new Map(terms.map((term, j) => [term, unconstrained[j]!])), clamped: unconstrained.some((value, j) => value < 0 && !negligible(terms[j]!, value)) };
}

/**
 * Fits the per-phase model to a sweep. With too few sizes, or sizes that do not vary
 * independently, it fits fewer terms and says which and why (`omitted`, `notes`); a negative
 * coefficient is held at 0 and the phase refitted, with a note.
 */
export function fitRtoModel(sweep: readonly SweepDrill[], options: SweepOptions = {}): RtoModel {
  const log = options.log ?? 'log';
  if (sweep.length === 0) throw new RangeError('an RTO model needs at least one drill of the sweep; run the scenario at several sizes (sweep: { size: [256MB, 1GB, 4GB] })');
  const points: Point[] = sweep.map((drill, index) => {
    const name = drill.drill ?? `#${index + 1}`;
    for (const [what, value] of [['data size', drill.dataBytes], [`${log} volume`, drill.logBytes]] as const) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`drill ${name}: its ${what} is ${value}; give bytes, 0 or more`);
    }
    for (const [phase, ms] of Object.entries(drill.phases)) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`drill ${name}: phase ${phase} took ${ms} ms; a duration is 0 or more`);
    }
    return { drill: name, dataBytes: drill.dataBytes, logBytes: drill.logBytes, x: { fixed: 1, data: drill.dataBytes / GB, log: drill.logBytes / GB } };
  });
  const { sizeTerms, reasons, notes } = identifiable(points, log);

  const names = [...new Set(sweep.flatMap((drill) => Object.keys(drill.phases)))];
  const phases = names.map((phase): PhaseFit => {
    const absent = points.filter((_, index) => !(phase in sweep[index]!.phases)).map((point) => point.drill);
    // A phase that did not run took no time in that drill.
    if (absent.length > 0) notes.push(`phase ${phase} did not run in drill${absent.length === 1 ? '' : 's'} ${absent.join(', ')}: counted as 0 ms there`);
    const y = sweep.map((drill) => drill.phases[phase] ?? 0);
    const sized: Term[] = sizeTerms === 'both' ? ['data', 'log'] : sizeTerms === 'one' ? [LOG_PHASES.has(phase) ? 'log' : 'data'] : sizeTerms === 'none' ? [] : [sizeTerms];
    const candidates: Term[] = ['fixed', ...sized];
    const omitted: PhaseFit['omitted'] = (['data', 'log'] as const).filter((term) => !sized.includes(term)).map((term) => ({ term, ...reasons[term]! }));

    const { best, unconstrained, clamped } = nonNegativeFit(points, y, candidates);
    for (const term of candidates.filter((term) => !best.terms.includes(term))) {
      const value = unconstrained.get(term)!;
      const name = termName(term, log);
      const shown = term === 'fixed' ? formatDuration(value) : `${formatDuration(value)} per GB`;
      if (!clamped) omitted.push({ term, reason: 'no-effect', detail: `${phase}: ${name} adds nothing to the fit (the phase did not change with it)` });
      else if (value < 0) omitted.push({ term, reason: 'clamped', detail: `${phase}: ${name} fitted at ${shown}, below 0; held at 0 (${term === 'fixed' ? 'a fixed cost is not negative' : 'no phase gets faster with size'}) and the phase refitted: the sweep's scatter is larger than that effect` });
      else omitted.push({ term, reason: 'clamped', detail: `${phase}: ${name} left out with the negative term, by the best fit that has none below 0` });
    }
    const value = (term: Term) => best.coefficients[best.terms.indexOf(term)] ?? 0;
    const coefficients = { fixedMs: value('fixed'), msPerGbData: value('data'), msPerGbLog: value('log') };
    const fitted = points.map((point) => coefficients.fixedMs + coefficients.msPerGbData * point.x.data + coefficients.msPerGbLog * point.x.log);
    const residuals = points.map((point, n) => ({ drill: point.drill, dataBytes: point.dataBytes, logBytes: point.logBytes, actualMs: y[n]!, fittedMs: fitted[n]!, residualMs: y[n]! - fitted[n]! }));
    const rss = residuals.reduce((sum, residual) => sum + residual.residualMs ** 2, 0);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    const total = y.reduce((sum, value) => sum + (value - mean) ** 2, 0);
    const degreesOfFreedom = points.length - best.terms.length;
    return {
      phase,
      terms: best.terms,
      coefficients,
      omitted,
      residuals,
      rSquared: varies(y) ? 1 - rss / total : null,
      residualStdErrorMs: degreesOfFreedom > 0 ? Math.sqrt(rss / degreesOfFreedom) : null,
      degreesOfFreedom,
      inverseGram: best.inverse,
    };
  });
  return { log, drills: points.length, dataBytes: spread(points.map((point) => point.dataBytes)), logBytes: spread(points.map((point) => point.logBytes)), phases, notes };
}

/** The phases an RTO objective covers: through `service` for RTO (service), all of them for RTO (verified). */
function phasesOf<P extends { phase: string }>(name: string, phases: readonly P[]): P[] | null {
  if (name !== OBJECTIVE.rtoService) return [...phases];
  const service = phases.findIndex((phase) => phase.phase === 'service');
  return service < 0 ? null : phases.slice(0, service + 1);
}

/** The model at one size: per phase, the fit and its 95 % prediction interval. */
function project(model: RtoModel, dataBytes: number, logBytes: number, backupEvery: number): Projection {
  const x: Record<Term, number> = { fixed: 1, data: dataBytes / GB, log: logBytes / GB };
  const parts = model.phases.map((fit) => {
    const { fixedMs, msPerGbData, msPerGbLog } = fit.coefficients;
    const split = { fixedMs, dataMs: msPerGbData * x.data, logMs: msPerGbLog * x.log };
    const ms = split.fixedMs + split.dataMs + split.logMs;
    // Prediction, not confidence: a new drill scatters around the line as the sweep's did, plus the line's own uncertainty there.
    const leverage = fit.terms.reduce((sum, a, i) => sum + fit.terms.reduce((inner, b, j) => inner + x[a] * fit.inverseGram[i]![j]! * x[b], 0), 0);
    const halfWidth = fit.residualStdErrorMs === null ? null : t95(fit.degreesOfFreedom) * fit.residualStdErrorMs * Math.sqrt(1 + leverage);
    return { phase: fit.phase, ms, ...split, halfWidth };
  });
  // The sum of the phases' half-widths: an upper bound on the total's, however the phases' errors correlate.
  const estimate = (of: typeof parts): Estimate => {
    const ms = of.reduce((sum, part) => sum + part.ms, 0);
    const halfWidth = of.some((part) => part.halfWidth === null) ? null : of.reduce((sum, part) => sum + part.halfWidth!, 0);
    return { ms, low: halfWidth === null ? null : Math.max(0, ms - halfWidth), high: halfWidth === null ? null : ms + halfWidth };
  };
  const total = estimate(parts);
  const service = phasesOf(OBJECTIVE.rtoService, parts);
  return {
    basis: 'forecast',
    dataBytes,
    logBytes,
    backupEvery,
    phases: parts.map(({ halfWidth, ...part }) => ({
      ...part,
      low: halfWidth === null ? null : Math.max(0, part.ms - halfWidth),
      high: halfWidth === null ? null : part.ms + halfWidth,
      share: total.ms > 0 ? part.ms / total.ms : 0,
    })),
    total,
    service: service && estimate(service),
  };
}

function showEstimate(estimate: Estimate): string {
  return estimate.low === null ? formatDuration(estimate.ms) : `${formatDuration(estimate.ms)} (${formatDuration(estimate.low)} – ${formatDuration(estimate.high)})`;
}

/** The RTO objectives judged on a projection; each says "forecast" and none can read as a drill's figure. */
export function judgeForecast(projection: Projection, objectives: ForecastInput['objectives'] = {}, leftOut?: string): ForecastObjective[] {
  const judged: ForecastObjective[] = [];
  for (const [name, targetMs, forecast] of [
    [OBJECTIVE.rtoService, objectives.rtoServiceMs, projection.service],
    [OBJECTIVE.rtoVerified, objectives.rtoVerifiedMs, projection.total],
  ] as const) {
    if (targetMs === undefined) continue;
    const target = `${name} ≤ ${formatDuration(targetMs)}`;
    let outcome: ForecastOutcome;
    let reason: string;
    if (forecast === null) {
      outcome = 'unknown';
      reason = `${target}: no forecast, the sweep's drills have no service phase`;
    } else if (forecast.ms > targetMs) {
      outcome = 'breaches';
      reason = `${target}: forecast to breach it, ${leftOut ? 'at least ' : ''}${showEstimate(forecast)} at ${formatSize(projection.dataBytes)}`;
    } else if (leftOut) {
      // A lower bound within the objective says nothing about meeting it.
      outcome = 'uncertain';
      reason = `${target}: forecast at ${formatDuration(forecast.ms)}, within it, but the forecast leaves out ${leftOut}, so it cannot say it meets it`;
    } else if (forecast.high !== null && forecast.high <= targetMs) {
      outcome = 'meets';
      reason = `${target}: forecast to meet it across its whole range, ${showEstimate(forecast)} at ${formatSize(projection.dataBytes)}`;
    } else {
      outcome = 'uncertain';
      reason = forecast.high === null
        ? `${target}: forecast at ${formatDuration(forecast.ms)}, within it, but the sweep gives no range, so the forecast cannot say it meets it`
        : `${target}: forecast at ${formatDuration(forecast.ms)}, within it, but its range reaches ${formatDuration(forecast.high)}`;
    }
    judged.push({ basis: 'forecast', name, targetMs, forecast, outcome, passed: outcome === 'meets', reason });
  }
  return judged;
}

/** Rounds a backup interval down to what a schedule would say: whole hours from 2 h, whole minutes from 2 min, else seconds. */
function scheduleInterval(ms: number): number {
  for (const unit of [HOUR, 60_000]) if (ms >= 2 * unit) return Math.floor(ms / unit) * unit;
  return Math.floor(ms / 1000) * 1000;
}

/**
 * Forecasts the RTO at a production size, in the worst case: the fault strikes at the end of a
 * backup interval, so the recovery replays `logPerHour × backupEvery` of log. With the range,
 * which phase dominates, the verdict on the RTO objectives (labelled forecast), and a shorter
 * interval re-forecast: the longest that meets the breached objectives, or half the interval.
 */
export function forecast(model: RtoModel, input: ForecastInput): RtoForecast {
  for (const [what, value] of [['size', input.size], ['logPerHour', input.logPerHour], ['backupEvery', input.backupEvery]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`forecast: ${what} is ${value}; give a figure of 0 or more (bytes, bytes an hour, milliseconds)`);
  }
  const logBytes = (input.logPerHour * input.backupEvery) / HOUR;
  const projection = project(model, input.size, logBytes, input.backupEvery);
  const left = leftOut(model, input.size, logBytes);
  const objectives = judgeForecast(projection, input.objectives, left);
  const dominant = projection.total.ms > 0 ? projection.phases.reduce((a, b) => (b.ms > a.ms ? b : a)) : null;

  const notes = [...new Set([...model.notes, ...model.phases.flatMap((fit) => fit.omitted.filter((omit) => omit.reason === 'clamped').map((omit) => omit.detail))])];
  for (const [what, bytes, max] of [['data size', input.size, model.dataBytes.max], [`${model.log} volume`, logBytes, model.logBytes.max]] as const) {
    if (max > 0 && bytes > max) {
      const ratio = bytes / max;
      notes.push(`the forecast's ${what}, ${formatSize(bytes)}, is ${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}× the largest in the sweep (${formatSize(max)}): the model assumes every phase stays linear that far, and a restore that outgrows memory or the disk cache does not`);
    }
  }
  if (left) notes.push(`the forecast leaves out ${left}: it is a lower bound, and a forecast to meet an objective cannot be made from it; sweep a scenario whose drills differ in it`);
  const unfit = model.phases.filter((fit) => fit.residualStdErrorMs === null).map((fit) => fit.phase);
  if (unfit.length > 0) notes.push(`no range: ${unfit.join(', ')} ${unfit.length === 1 ? 'has' : 'have'} as many fitted terms as the sweep has drills, so nothing is left to estimate the scatter from; sweep more sizes`);

  const result: RtoForecast = { ...projection, log: model.log, logPerHour: input.logPerHour, dominant, objectives, notes, ...(left ? { leftOut: left } : {}), sweep: { drills: model.drills, dataBytes: model.dataBytes, logBytes: model.logBytes } };
  const alternative = shorterInterval(model, input, projection, objectives, left);
  return alternative ? { ...result, alternative } : result;
}

/** The interval that meets the breached RTO objectives (or half the one given), re-forecast. */
function shorterInterval(model: RtoModel, input: ForecastInput, projection: Projection, objectives: readonly ForecastObjective[], left: string | undefined): IntervalAdvice | undefined {
  const logMs = (phases: readonly PhaseForecast[]) => phases.reduce((sum, phase) => sum + phase.logMs, 0);
  if (input.backupEvery <= 0 || logMs(projection.phases) <= 0) return undefined;
  const breached = objectives.filter((objective) => objective.outcome === 'breaches');
  let backupEvery: number | null = input.backupEvery / 2;
  if (breached.length > 0) {
    // The log's part of the forecast is proportional to the interval; the rest does not move with it.
    // A scope with no log part gives -Infinity: no interval meets it.
    const longest = breached.map((objective) => {
      const scope = phasesOf(objective.name, projection.phases)!;
      return (objective.targetMs - (objective.forecast!.ms - logMs(scope))) / (logMs(scope) / input.backupEvery);
    });
    const interval = scheduleInterval(Math.min(...longest));
    backupEvery = interval > 0 ? interval : null;
  }
  const at = project(model, input.size, ((backupEvery ?? 0) * input.logPerHour) / HOUR, backupEvery ?? 0);
  return { basis: 'forecast', aim: breached.length > 0 ? 'objective' : 'half', backupEvery, projection: at, objectives: judgeForecast(at, input.objectives, left) };
}

/**
 * What the forecast cannot include: the cost of a size the sweep did not vary (so no phase was
 * fitted against it), asked for well past the sweep's. Undefined when nothing is left out.
 */
function leftOut(model: RtoModel, dataBytes: number, logBytes: number): string | undefined {
  const unvaried = (term: Term) => model.phases.some((fit) => fit.omitted.some((omit) => omit.term === term && omit.reason === 'no-variation'));
  const parts = [
    unvaried('data') && dataBytes > BEYOND_UNVARIED * model.dataBytes.max ? `what ${formatSize(dataBytes)} of data adds (the sweep's drills had at most ${formatSize(model.dataBytes.max)})` : '',
    unvaried('log') && logBytes > BEYOND_UNVARIED * model.logBytes.max ? `what replaying ${formatSize(logBytes)} of ${model.log} adds (the sweep's drills replayed at most ${formatSize(model.logBytes.max)})` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(', and ') : undefined;
}

function phaseLabel(phase: string, log: string): string {
  return phase === 'replay' ? `${log} replay` : phase;
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The forecast as the report shows it: a sentence each for the figure, the dominant phase and the interval, the verdicts, and the notes. */
export function forecastSentences(result: RtoForecast): string[] {
  const { log } = result;
  const at = formatSize(result.dataBytes);
  const { min, max } = result.sweep.dataBytes;
  const sizes = `${result.sweep.drills} drill${result.sweep.drills === 1 ? '' : 's'} of ${min === max ? formatSize(min) : `${formatSize(min)} – ${formatSize(max)}`}`;
  const range = result.total.low === null ? 'no range (see below)' : `range ${formatDuration(result.total.low)} – ${formatDuration(result.total.high)}, a 95 % prediction interval`;
  const sentences = [
    `Forecast RTO at ${at} of data with ${formatSize(result.logBytes)} of ${log} to replay (${formatSize(result.logPerHour)} an hour for ${formatInterval(result.backupEvery)}, the worst case at the end of a backup interval): ${result.leftOut ? 'at least ' : ''}${formatDuration(result.total.ms)}, ${range}. A forecast from ${sizes}, not a drill at this size.`,
  ];
  const advice = result.alternative;
  // Aimed at the forecast itself: its range may still reach past the objective, and then the sentence says so.
  const aimed = advice?.aim !== 'objective' ? '' : advice.objectives.every((objective) => objective.passed) ? ', which meets the objective across its range' : ', within the objective though its range reaches past it';
  const cut = advice?.backupEvery
    ? `a base backup every ${formatInterval(advice.backupEvery)} instead of ${formatInterval(result.backupEvery)} would cut it to ${showEstimate(advice.projection.total)}${aimed}`
    : advice && `even a base backup just before the fault would leave ${showEstimate(advice.projection.total)}, over the objective: the time that does not depend on the ${log} has to come down (a faster restore path, a standby)`;
  const dominant = result.dominant;
  if (dominant) {
    const share = `${capitalized(phaseLabel(dominant.phase, log))} is ${Math.round(dominant.share * 100)} % of the forecast RTO at ${at}`;
    if (dominant.logMs >= Math.max(dominant.dataMs, dominant.fixedMs)) sentences.push(cut ? `${share}: ${cut}.` : `${share}.`);
    else {
      const why = dominant.dataMs >= dominant.fixedMs ? `grows with the data (${formatDuration(dominant.dataMs / (result.dataBytes / GB))} per GB), not with the ${log}` : `is a fixed cost, moved by neither the data nor the ${log}`;
      sentences.push(`${share} and ${why}: a more frequent base backup does not shorten it.`);
      if (cut) sentences.push(`${capitalized(cut)}.`);
    }
  }
  for (const objective of result.objectives) sentences.push(`${objective.reason}.`);
  return [...sentences, ...result.notes.map((note) => `${capitalized(note)}.`)];
}
