import type { CheckResult, Measurements, ObjectiveResult } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';

/** The names of the objectives a drill is judged on; reports and tests refer to them by these. */
export const OBJECTIVE = {
  restored: 'restored',
  backupsIntact: 'backups intact',
  recoveryReached: 'recovery reached its target',
  equalToSource: 'equal to the source',
  rtoService: 'RTO (service)',
  rtoVerified: 'RTO (verified)',
  dataLoss: 'RPO (data loss)',
  lostWrites: 'RPO (lost writes)',
  damageUndone: 'damage undone',
} as const;

/** The prefix of a check's objective: `check: seeded orders are back`. */
export const CHECK_PREFIX = 'check: ';

/** Objectives as the scenario states them, in milliseconds and rows. */
export interface ObjectiveTargets {
  rtoServiceMs?: number;
  rtoVerifiedMs?: number;
  dataLossMs?: number;
  lostWrites?: number;
  damageUndone?: boolean;
}

/** What the drill established beyond the measured figures, each judged on its own. */
export interface RecoveryFacts {
  /** A database came back; when not, why. */
  restored: { passed: boolean; reason?: string };
  /** Every backup and archive verification that ran, and the defects found (a broken backup never passes). */
  backups: { defects: string[] };
  /** Whether recovery got where it was asked to (null: the strategy cannot tell; then it does not count as reached). */
  recovery: { reached: boolean | null; reason?: string } | undefined;
  /** The comparison with the source; undefined when the scenario does not ask for it, null when it could not be made. */
  equality: { differences: string[] } | { notCompared: string } | undefined;
  /** What to do next when the RTO or the RPO is breached, in words the drill can back (see `breachAdvice`). */
  advice?: { rto?: string; rpo?: string };
}

/** What the drill knows that says why an objective was breached. */
export interface BreachContext {
  strategy: string;
  /** Restores to an arbitrary point; otherwise to the backup's instant. */
  pointInTime: boolean;
  keeps: 'backups' | 'standby';
  /** Point-in-time strategies for the engine, to name as the way out. */
  pointInTimeStrategies: string[];
  backups: { count: number; everyMs: number };
  /** How long the fault went unnoticed, as measured (a game day: until the team marked it); null when it never was. */
  detectedAfterMs: number | null;
  lost: number;
  lostToDetection: number;
  lostAfterDetection: number;
  /** The counted phases of the recovery and their time. */
  breakdown: Record<string, number>;
}

/** What shortens a phase of the recovery that is not a restore's. */
const RTO_ADVICE: Record<string, string> = {
  detect: 'detect sooner (alerting on the fault)',
  // A game day: the people's recovery is one phase; their timeline splits it.
  team: "the human timeline shows where the team's time went (detecting, deciding, restoring); rehearse the slowest step, or follow a tested runbook",
};

/** A sentence per breached figure, saying what bounds it and what would move it. */
export function breachAdvice(context: BreachContext): { rto: string; rpo: string } {
  const slowest = Object.entries(context.breakdown).sort((a, b) => b[1] - a[1])[0];
  const rto = slowest
    ? `the longest part of the recovery was ${slowest[0]} (${formatDuration(slowest[1])}); ${RTO_ADVICE[slowest[0]] ?? 'a smaller or more recent backup, a faster restore path or a standby shortens it'}`
    : 'no phase of the recovery was recorded';
  let rpo: string;
  if (context.keeps === 'standby') {
    rpo = `${context.strategy} fails over to its standby: what it loses is what had not reached the standby when the fault struck, and a delayed or asynchronous one lags by design; a synchronous standby (replica-sync) loses no acknowledged write`;
  } else if (!context.pointInTime) {
    const interval = context.backups.count > 1 ? `every ${formatDuration(context.backups.everyMs)}` : 'once before the fault';
    rpo = `${context.strategy} restores to its backup's instant: the loss is bounded by how often it backs up (here ${interval}); use point-in-time recovery (${context.pointInTimeStrategies.join(', ') || 'none for this engine yet'}) or back up more often`;
  } else if (context.lost > 0 && context.lostToDetection >= context.lost / 2) {
    const detection = context.detectedAfterMs === null ? 'which was never marked detected' : `detected ${formatDuration(context.detectedAfterMs)} later`;
    rpo = `${context.lostToDetection} of the ${context.lost} writes lost were acknowledged after the fault, ${detection}: recovering to before the fault undoes them with the damage; detect sooner to lose fewer`;
  } else if (context.lost > 0 && context.lostAfterDetection >= context.lost / 2) {
    rpo = `${context.lostAfterDetection} of the ${context.lost} writes lost were acknowledged after the fault was detected, while the application kept writing to the damaged database until service moved: stop the application's writes once the fault is known (or keep what it writes and replay it), or restore sooner`;
  } else {
    rpo = 'writes acknowledged before the fault were not in the archive the restore replayed: archive more often (archive_timeout, a shorter spool or copy interval) or stream it, and see where recovery stopped';
  }
  return { rto, rpo };
}

function limit(name: string, target: number | undefined, measured: number | null, unit: 'ms' | 'rows'): ObjectiveResult | undefined {
  if (target === undefined) return undefined;
  const show = (value: number) => (unit === 'ms' ? formatDuration(value) : `${value} rows`);
  if (measured === null) {
    return { name, target: `≤ ${show(target)}`, measured: 'not measured', targetValue: target, measuredValue: null, unit, passed: false, reason: 'could not be measured' };
  }
  return { name, target: `≤ ${show(target)}`, measured: show(measured), targetValue: target, measuredValue: measured, unit, passed: measured <= target };
}

/**
 * Each objective passes or fails on its own; a measurement that could not be made fails.
 * The drill passes only if every objective and every check passes.
 */
export function judge(targets: ObjectiveTargets, measurements: Measurements, checks: readonly CheckResult[], facts: RecoveryFacts): { objectives: ObjectiveResult[]; passed: boolean } {
  const fact = (name: string, passed: boolean, measured: string, reason: string | undefined, target = 'yes'): ObjectiveResult => ({
    name,
    target,
    measured,
    targetValue: true,
    measuredValue: passed,
    unit: 'bool',
    passed,
    ...(passed || !reason ? {} : { reason }),
  });
  const objectives: ObjectiveResult[] = [fact(OBJECTIVE.restored, facts.restored.passed, facts.restored.passed ? 'yes' : 'no', facts.restored.reason)];
  const defects = facts.backups.defects;
  objectives.push(fact(OBJECTIVE.backupsIntact, defects.length === 0, defects.length === 0 ? 'every check passed' : `${defects.length} defect${defects.length === 1 ? '' : 's'}`, defects.join('; '), 'no defect found'));
  if (facts.recovery) {
    const { reached, reason } = facts.recovery;
    objectives.push(fact(OBJECTIVE.recoveryReached, reached === true, reached === null ? 'cannot tell' : reached ? 'yes' : 'no', reason ?? (reached === null ? 'the strategy cannot tell where recovery stopped' : undefined)));
  }
  if (facts.equality) {
    const equality = facts.equality;
    if ('notCompared' in equality) objectives.push({ ...fact(OBJECTIVE.equalToSource, false, 'not measured', equality.notCompared, 'no difference'), measuredValue: null });
    else objectives.push(fact(OBJECTIVE.equalToSource, equality.differences.length === 0, equality.differences.length === 0 ? 'no difference' : `${equality.differences.length} difference${equality.differences.length === 1 ? '' : 's'}`, equality.differences.slice(0, 5).join('; ') + (equality.differences.length > 5 ? `; and ${equality.differences.length - 5} more` : ''), 'no difference'));
  }
  // A breach (not a figure that could not be measured) gets the advice for its kind.
  const advised = (objective: ObjectiveResult | undefined, advice: string | undefined) =>
    objective && !objective.passed && objective.measuredValue !== null && advice ? { ...objective, reason: advice } : objective;
  objectives.push(
    ...[
      advised(limit(OBJECTIVE.rtoService, targets.rtoServiceMs, measurements.rtoServiceMs, 'ms'), facts.advice?.rto),
      advised(limit(OBJECTIVE.rtoVerified, targets.rtoVerifiedMs, measurements.rtoVerifiedMs, 'ms'), facts.advice?.rto),
      advised(limit(OBJECTIVE.dataLoss, targets.dataLossMs, measurements.dataLossMs, 'ms'), facts.advice?.rpo),
      advised(limit(OBJECTIVE.lostWrites, targets.lostWrites, measurements.lostWrites, 'rows'), facts.advice?.rpo),
    ].filter((objective): objective is ObjectiveResult => objective !== undefined),
  );
  if (targets.damageUndone) {
    const measured = measurements.damageUndone;
    objectives.push({
      name: OBJECTIVE.damageUndone,
      target: 'yes',
      measured: measured === null ? 'not measured' : measured ? 'yes' : 'no',
      targetValue: true,
      measuredValue: measured,
      unit: 'bool',
      passed: measured === true,
      ...(measured === null ? { reason: 'could not be measured' } : {}),
    });
  }
  for (const check of checks) {
    objectives.push({
      name: `${CHECK_PREFIX}${check.name}`,
      target: check.expect ?? 'passes',
      measured: check.value ?? check.detail ?? (check.passed ? 'passed' : 'failed'),
      targetValue: null,
      measuredValue: check.passed,
      unit: 'value',
      passed: check.passed,
      ...(check.value !== undefined && check.detail !== undefined ? { detail: check.detail } : {}),
      ...(check.passed ? {} : { reason: check.detail ?? 'check failed' }),
    });
  }
  return { objectives, passed: objectives.every((objective) => objective.passed) };
}

/** `">= 16044"`, `"!= 0"`, `42`, `"shipped"`: does the value meet it? */
export function meetsExpectation(value: string | null, expect: string | number | boolean): boolean {
  if (value === null) return false;
  if (typeof expect === 'number') return Number(value) === expect;
  if (typeof expect === 'boolean') {
    const truth = value.toLowerCase();
    if (['t', 'true', '1'].includes(truth)) return expect;
    if (['f', 'false', '0'].includes(truth)) return !expect;
    return false;
  }
  const match = /^\s*(>=|<=|!=|==|=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expect);
  if (!match) return value === expect;
  const actual = Number(value);
  // A comparison with a number needs a number: "abc" is not "!= 0".
  if (value.trim() === '' || Number.isNaN(actual)) return false;
  const wanted = Number(match[2]);
  switch (match[1]) {
    case '>=':
      return actual >= wanted;
    case '<=':
      return actual <= wanted;
    case '>':
      return actual > wanted;
    case '<':
      return actual < wanted;
    case '!=':
      return actual !== wanted;
    default:
      return actual === wanted;
  }
}
