import type { CheckResult, Measurements, ObjectiveResult } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';

/** Objectives as the scenario states them, in milliseconds and rows. */
export interface ObjectiveTargets {
  rtoServiceMs?: number;
  rtoVerifiedMs?: number;
  dataLossMs?: number;
  lostWrites?: number;
  damageUndone?: boolean;
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
export function judge(targets: ObjectiveTargets, measurements: Measurements, checks: readonly CheckResult[]): { objectives: ObjectiveResult[]; passed: boolean } {
  const objectives = [
    limit('RTO (service)', targets.rtoServiceMs, measurements.rtoServiceMs, 'ms'),
    limit('RTO (verified)', targets.rtoVerifiedMs, measurements.rtoVerifiedMs, 'ms'),
    limit('RPO (data loss)', targets.dataLossMs, measurements.dataLossMs, 'ms'),
    limit('RPO (lost writes)', targets.lostWrites, measurements.lostWrites, 'rows'),
  ].filter((objective): objective is ObjectiveResult => objective !== undefined);
  if (targets.damageUndone) {
    const measured = measurements.damageUndone;
    objectives.push({
      name: 'damage undone',
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
      name: `check: ${check.name}`,
      target: check.expect ?? 'passes',
      measured: check.value ?? check.detail ?? (check.passed ? 'passed' : 'failed'),
      targetValue: null,
      measuredValue: check.passed,
      unit: 'value',
      passed: check.passed,
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
