import { COMPARISON_METRICS, rankEntries, type ComparedEntry, type Comparison, type MetricStats, type MetricUnit } from '../compare/comparison.js';
import type { CheckResult, DamageResult, DrillStatus, Journal, ObjectiveResult } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';

/**
 * Formatting shared by every reporter, so the HTML page, the JUnit file and the Markdown
 * summary say the same thing in the same words.
 */

/** What a report shows for a figure the drill could not measure: never a zero, never blank. */
export const NOT_MEASURED = 'not measured';

/** Plain verdict words (no emoji: CI logs, screen readers and grep read them as they are). */
export const VERDICT_LABEL: Readonly<Record<DrillStatus, string>> = {
  passed: 'PASS',
  failed: 'FAIL',
  error: 'ERROR',
  interrupted: 'INTERRUPTED',
};

const FAILURE_RANK: Readonly<Record<DrillStatus, number>> = { error: 0, failed: 1, interrupted: 2, passed: 3 };

/** Orders items so drills that need attention come first; the original order is kept otherwise. */
export function failuresFirst<T>(items: readonly T[], statusOf: (item: T) => DrillStatus): T[] {
  // Array.prototype.sort is stable, so equal ranks keep the order the run produced them in.
  return [...items].sort((a, b) => FAILURE_RANK[statusOf(a)] - FAILURE_RANK[statusOf(b)]);
}

/**
 * The strategy as reports name it: its comparison label (`pg-dump (jobs=4)`), and which run it
 * was when the comparison repeated it (`pg-dump #2`).
 */
export function strategyLabel(journal: Journal): string {
  const comparison = journal.comparison;
  if (!comparison) return journal.strategy;
  return comparison.repetitions > 1 ? `${comparison.label} #${comparison.repetition}` : comparison.label;
}

/** `scenario (strategy)`: the name a drill goes by in every report. */
export function drillTitle(journal: Journal): string {
  return `${journal.scenario.name} (${strategyLabel(journal)})`;
}

/** A millisecond figure, or NOT_MEASURED. */
export function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? NOT_MEASURED : formatDuration(ms);
}

// A fixed locale: reports must read the same whichever machine rendered them.
const COUNT = new Intl.NumberFormat('en-US');

/** A count with thousands separators, or NOT_MEASURED. */
export function formatCount(count: number | null | undefined): string {
  return count === null || count === undefined ? NOT_MEASURED : COUNT.format(count);
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** Binary units, one decimal: `812 B`, `5.6 MiB`. */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = -1;
  do {
    value /= 1024;
    unit++;
  } while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1);
  return `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** A workload rate: `199.6 writes/s`. */
export function formatRate(perSecond: number | null | undefined): string {
  return perSecond === null || perSecond === undefined ? NOT_MEASURED : `${perSecond.toFixed(1)} writes/s`;
}

/** A comparison figure in its unit: `4.21 s`, `1,005`, `5.1 MiB`, `−3.2 %`; NOT_MEASURED for null. */
export function formatMetric(unit: MetricUnit, value: number | null): string {
  if (value === null) return NOT_MEASURED;
  switch (unit) {
    case 'ms':
      return formatDuration(value);
    case 'rows':
      return formatCount(Math.round(value));
    case 'bytes':
      return formatBytes(Math.round(value));
    case 'percent':
      // A true minus sign: it lines up with the plus in tabular figures.
      return `${value > 0 ? '+' : value < 0 ? '−' : ''}${Math.abs(value).toFixed(1)} %`;
  }
}

/**
 * The spread of a repeated figure, compact enough for a table cell: `3.80–4.02 s` (one unit
 * when both ends share it), `950 ms – 1.02 s`, `−10.8 – −9.1 %` (spaced where a sign would
 * read as part of the dash), or one value when every run measured the same.
 */
export function formatSpread(unit: MetricUnit, stats: Pick<MetricStats, 'min' | 'max'>): string {
  if (stats.min === null || stats.max === null) return NOT_MEASURED;
  const [min, max] = [formatMetric(unit, stats.min), formatMetric(unit, stats.max)];
  if (min === max) return min;
  const split = (text: string) => {
    const space = text.lastIndexOf(' ');
    return space < 0 ? [text, ''] : [text.slice(0, space), text.slice(space + 1)];
  };
  const [[minNumber, minUnit], [maxNumber, maxUnit]] = [split(min), split(max)];
  if (minUnit !== maxUnit) return `${min} – ${max}`;
  const dash = /^[−+]/.test(minNumber!) || /^[−+]/.test(maxNumber!) ? ' – ' : '–';
  return `${minNumber}${dash}${maxNumber}${minUnit ? ` ${minUnit}` : ''}`;
}

/** `yes` / `no` / NOT_MEASURED. */
export function formatYesNo(value: boolean | null | undefined): string {
  return value === null || value === undefined ? NOT_MEASURED : value ? 'yes' : 'no';
}

/** An ISO wall time as `2026-11-21 13:20:04 UTC` (reports always show UTC). */
export function formatWallTime(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export { formatServerTime } from '../util/time.js';

/**
 * What became of the fault's damage, precisely: how many of the damaged rows are back, and how
 * many are not because the writes that made them were lost (those count in the RPO, not here).
 */
export function damageSummary(damage: DamageResult): string {
  const back = `${formatCount(damage.restoredRows)} of ${formatCount(damage.affectedRows)} damaged rows back`;
  if (!damage.tablePresent) return `table ${damage.table} missing after the restore`;
  const explained = damage.explainedByLostWrites > 0 ? `; ${formatCount(damage.explainedByLostWrites)} belonged to writes the restore lost` : '';
  const unexplained = damage.missingRows - damage.explainedByLostWrites;
  return `${back}${explained}${unexplained > 0 ? `; ${formatCount(unexplained)} still damaged` : ''}`;
}

/** `11.09 s (target ≤ 30.00 s)`, plus why when the objective could not be measured. */
export function objectiveOutcome(objective: ObjectiveResult): string {
  const base = `${objective.measured} (target ${objective.target})`;
  return objective.reason ? `${base}: ${objective.reason}` : base;
}

/** `expected = 10000, got 10000`, plus the check's detail. */
export function checkOutcome(check: CheckResult): string {
  const parts = [
    ...(check.expect !== undefined ? [`expected ${check.expect}`] : []),
    ...(check.value !== undefined ? [`got ${check.value}`] : []),
  ];
  const outcome = parts.join(', ') || (check.passed ? 'passed' : 'failed');
  return check.detail ? `${outcome} (${check.detail})` : outcome;
}

function countPassed<T extends { passed: boolean; name: string }>(items: readonly T[]): { passed: number; total: number; failing: string[] } {
  const failing = items.filter((item) => !item.passed).map((item) => item.name);
  return { passed: items.length - failing.length, total: items.length, failing };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** One sentence that says why the drill got its verdict. */
export function verdictHeadline(journal: Journal): string {
  const firstError = journal.errors[0];
  if (journal.status === 'error') {
    return firstError ? `Could not run: ${firstError.message}` : 'Could not run (no error was recorded).';
  }
  if (journal.status === 'interrupted') {
    return firstError ? `Interrupted: ${firstError.message}` : 'Interrupted before the drill finished.';
  }
  // Checks are objectives too (`check: ...`): counted once, among the objectives.
  const objectives = countPassed(journal.objectives);
  if (objectives.failing.length > 0) return `${objectives.failing.length} of ${plural(objectives.total, 'objective')} breached (${objectives.failing.join(', ')}).`;
  return objectives.total === 0 ? 'Nothing was judged.' : `All ${plural(objectives.total, 'objective')} met.`;
}

/** `3 drills: 1 error, 1 failed, 1 passed`. */
export function runHeadline(journals: readonly Journal[]): string {
  const counts = new Map<DrillStatus, number>();
  for (const journal of journals) counts.set(journal.status, (counts.get(journal.status) ?? 0) + 1);
  const order: DrillStatus[] = ['error', 'failed', 'interrupted', 'passed'];
  const parts = order.filter((status) => counts.has(status)).map((status) => `${counts.get(status)} ${status}`);
  return `${plural(journals.length, 'drill')}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/** The figures a one-line summary of a drill shows, already formatted. */
export interface DrillSummary {
  title: string;
  verdict: string;
  rtoService: string;
  rtoVerified: string;
  dataLoss: string;
  lostWrites: string;
  /** `4/5`: objectives met out of declared. */
  objectivesMet: string;
}

/** The summary row of a drill, as the run index, the Markdown table and JUnit properties show it. */
export function summarizeDrill(journal: Journal): DrillSummary {
  const { measurements } = journal;
  const objectives = countPassed(journal.objectives);
  return {
    title: drillTitle(journal),
    verdict: VERDICT_LABEL[journal.status],
    rtoService: formatMs(measurements.rtoServiceMs),
    rtoVerified: formatMs(measurements.rtoVerifiedMs),
    dataLoss: formatMs(measurements.dataLossMs),
    lostWrites: formatCount(measurements.lostWrites),
    objectivesMet: `${objectives.passed}/${objectives.total}`,
  };
}

/**
 * `Ranked by verdict, then RTO (verified), data loss and lost writes: 1. pg-basebackup-wal
 * (passed 3 of 3), 2. pg-dump (failed 3 of 3). By column: pg-dump is best in 6 of 10; …`
 */
export function comparisonHeadline(comparison: Comparison): string {
  if (comparison.entries.length < 2) return 'One strategy: nothing to compare it with.';
  const verdict = (entry: ComparedEntry) => {
    const passed = entry.statuses.filter((status) => status === 'passed').length;
    const errors = entry.statuses.filter((status) => status === 'error').length;
    const runs = entry.statuses.length;
    if (passed === runs) return `passed${runs > 1 ? ` ${runs} of ${runs}` : ''}`;
    const failed = runs - passed - errors;
    return [passed ? `passed ${passed}` : '', failed ? `failed ${failed}` : '', errors ? `could not run ${errors}` : ''].filter(Boolean).join(', ') + (runs > 1 ? ` of ${runs}` : '');
  };
  const ranked = rankEntries(comparison).map((entry, place) => `${place + 1}. ${entry.label} (${verdict(entry)})`);
  const wins = comparison.entries
    .map((entry) => ({ label: entry.label, count: COMPARISON_METRICS.filter((metric) => comparison.winners[metric.key].includes(entry.label)).length }))
    .filter((entry) => entry.count > 0)
    .sort((a, b) => b.count - a.count);
  const [first, ...rest] = wins;
  const columns = first
    ? ` By column: ${first.label} is best in ${first.count} of ${COMPARISON_METRICS.length}${rest.length > 0 ? `; ${rest.map((entry) => `${entry.label} in ${formatCount(entry.count)}`).join(', ')}` : ''}.`
    : '';
  return `Ranked by verdict, then RTO (verified), data loss and lost writes: ${ranked.join(', ')}.${columns}`;
}

/**
 * Where the drill's locate step would fail a responder, in words: it found no transaction (the
 * log it read, and where the fault's transaction began, so a log that no longer reaches back
 * shows as such), or it names another transaction than the bad one. Undefined when it named
 * the bad one, or no step ran.
 */
export function locateShortfall(journal: Journal): string | undefined {
  const fault = journal.fault;
  const located = fault?.located;
  if (!located || located.matches) return undefined;
  const top = located.candidates[0];
  const bad = fault.point.transaction ? `the fault's ${fault.point.transaction}` : "the fault's transaction";
  if (top) return `the locate step names transaction ${top.transaction}, not ${bad}: a responder following it would restore to the wrong point`;
  const began = fault.point.position ? ` (the fault's transaction began writing at ${fault.point.position})` : '';
  return `the locate step found no transaction that made a ${located.change} on ${fault.table} in ${located.searched}${began}: a responder following the runbook would have to find it by hand, in the archive if the log beside the server no longer reaches back, and the RTO measured leaves that search out`;
}

/**
 * The writers' rate while a slow fault ran (`workload.duringFault`), against theirs before it,
 * and why: the drill's barrier holds writes out of the fault's transaction until it commits.
 * Undefined when the fault was quick or the rate held.
 */
export function faultPause(journal: Journal): string | undefined {
  const { duringFault, achievedRate } = journal.workload;
  if (!duringFault || achievedRate === undefined) return undefined;
  return `while the fault ran (${formatDuration(duringFault.durationMs)}, up to its commit) the workload reached ${formatRate(duringFault.rate)}, against ${formatRate(achievedRate)} before it: the drill holds writes back until the fault's transaction commits, so that each is before its point or after it; the writes lost are counted from the commit and the pause does not change them, but the gap in the chart is the drill's, not the fault's`;
}

/**
 * Traffic lost to detection as time and writes, `3.00 s / 604`: how long the fault went
 * unnoticed (fault → detected, as the drill timed it) and the writes acknowledged meanwhile.
 */
export function lostToDetection(journal: Journal): string {
  const writes = journal.measurements.lostToDetection;
  if (writes === null) return NOT_MEASURED;
  const fault = journal.fault;
  const unnoticed = fault?.detectedAtMs !== undefined ? fault.detectedAtMs - fault.atMs : undefined;
  return unnoticed === undefined ? formatCount(writes) : `${formatDuration(unnoticed)} / ${formatCount(writes)}`;
}
