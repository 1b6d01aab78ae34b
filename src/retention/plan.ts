import { keptBy, type RetentionPolicy, type RetentionRule } from './policy.js';

export interface PlanInput {
  /** Time between two backups. */
  everyMs: number;
  /** How long the schedule runs in the simulation. */
  periodDays: number;
  policy: RetentionPolicy;
  /** Size of one backup (measured by a drill, or given). */
  backupBytes: number;
  /** WAL or binlog archived per day, kept from the oldest kept backup on so each can be rolled forward. */
  logBytesPerDay?: number;
}

export interface PlanOutcome {
  backups: number;
  kept: number;
  storageBytes: number;
  /** Age of the oldest kept backup at the end: the furthest back a restore can go. */
  oldestDays: number;
}

export interface RetentionPlan extends PlanInput {
  start: string;
  end: string;
  policyOutcome: PlanOutcome & { byRule: Partial<Record<RetentionRule, number>> };
  /** Every backup of the period kept. */
  keepAll: PlanOutcome;
  /** The same number of backups kept, newest only: what GFS buys in reach. */
  sameCountNewest: PlanOutcome;
  /** What is kept at the end, oldest first. */
  keptAtEnd: Array<{ at: string; rules: RetentionRule[] }>;
  /** One point a day (or fewer, for long periods): backups kept, storage, oldest reachable. */
  series: Array<{ day: number; kept: number; storageBytes: number; oldestDays: number }>;
}

const DAY_MS = 86_400_000;
/** A fixed calendar, so a plan is the same every time it is made (GFS depends on dates). */
const START = Date.UTC(2026, 0, 1);
const MAX_POINTS = 400;

function storage(input: PlanInput, kept: number, oldestDays: number): number {
  return kept * input.backupBytes + (input.logBytesPerDay ?? 0) * oldestDays;
}

/**
 * Simulates a backup schedule under a retention policy: a backup every `everyMs` for
 * `periodDays`, pruned after each one as a backup tool's expire would, and what that leaves.
 */
export function planRetention(input: PlanInput): RetentionPlan {
  const count = Math.floor((input.periodDays * DAY_MS) / input.everyMs) + 1;
  const end = START + (count - 1) * input.everyMs;
  let present: Array<{ id: string; at: Date }> = [];
  let kept = new Map<string, RetentionRule[]>();
  const series: RetentionPlan['series'] = [];
  const stride = Math.max(1, Math.ceil(input.periodDays / MAX_POINTS));
  for (let index = 0; index < count; index++) {
    const at = new Date(START + index * input.everyMs);
    present.push({ id: String(index), at });
    kept = keptBy(present, input.policy);
    present = present.filter((backup) => kept.has(backup.id));
    const day = Math.floor((at.getTime() - START) / DAY_MS);
    const nextDay = Math.floor((at.getTime() + input.everyMs - START) / DAY_MS);
    // The day's last backup, on every `stride`-th day, and the very last one.
    if ((nextDay !== day && day % stride === 0) || index === count - 1) {
      const oldestDays = (at.getTime() - present[0]!.at.getTime()) / DAY_MS;
      series.push({ day, kept: present.length, storageBytes: storage(input, present.length, oldestDays), oldestDays });
    }
  }
  const oldestDays = (end - present[0]!.at.getTime()) / DAY_MS;
  const byRule: Partial<Record<RetentionRule, number>> = {};
  for (const rules of kept.values()) for (const rule of rules) byRule[rule] = (byRule[rule] ?? 0) + 1;
  const everyDays = input.everyMs / DAY_MS;
  const sameCountDays = (present.length - 1) * everyDays;
  return {
    ...input,
    start: new Date(START).toISOString(),
    end: new Date(end).toISOString(),
    policyOutcome: { backups: count, kept: present.length, storageBytes: storage(input, present.length, oldestDays), oldestDays, byRule },
    keepAll: { backups: count, kept: count, storageBytes: storage(input, count, (end - START) / DAY_MS), oldestDays: (end - START) / DAY_MS },
    sameCountNewest: { backups: count, kept: present.length, storageBytes: storage(input, present.length, sameCountDays), oldestDays: sameCountDays },
    keptAtEnd: present.map((backup) => ({ at: backup.at.toISOString(), rules: kept.get(backup.id)! })),
    series,
  };
}
