import { z } from 'zod';

/**
 * Which backups a retention policy keeps: the newest `last`, and, grandfather-father-son, the
 * newest backup of each of the `daily` most recent days that have one, of the `weekly` most
 * recent ISO weeks, the `monthly` months and the `yearly` years (UTC). A backup kept by any rule
 * is kept. The newest backup is kept by every rule, so a policy never leaves nothing.
 */
export const retentionPolicy = z
  .strictObject({
    last: z.int().min(1).optional().describe('Keep the newest N backups'),
    daily: z.int().min(1).optional().describe('Keep the newest backup of each of the N most recent days that have one'),
    weekly: z.int().min(1).optional().describe('… of each of the N most recent ISO weeks'),
    monthly: z.int().min(1).optional().describe('… of each of the N most recent months'),
    yearly: z.int().min(1).optional().describe('… of each of the N most recent years'),
  })
  .refine((policy) => Object.values(policy).some((count) => count !== undefined), { error: 'a retention policy keeps something: give at least one of last, daily, weekly, monthly, yearly' })
  .describe('Which backups to keep: the newest N, and grandfather-father-son (daily, weekly, monthly, yearly)');

export type RetentionPolicy = z.output<typeof retentionPolicy>;
export type RetentionRule = keyof RetentionPolicy;

/** The ISO year and week of a moment (UTC): weeks start on Monday, week 1 holds the year's first Thursday. */
function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

const PERIOD_OF: Record<Exclude<RetentionRule, 'last'>, (at: Date) => string> = {
  daily: (at) => at.toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (at) => at.toISOString().slice(0, 7),
  yearly: (at) => at.toISOString().slice(0, 4),
};

/** The rules that keep each backup, by id; a backup no rule keeps is not in the map. */
export function keptBy<B extends { id: string; at: Date }>(backups: readonly B[], policy: RetentionPolicy): Map<string, RetentionRule[]> {
  const newestFirst = [...backups].sort((a, b) => b.at.getTime() - a.at.getTime());
  const kept = new Map<string, RetentionRule[]>();
  const keep = (backup: B, rule: RetentionRule) => kept.set(backup.id, [...(kept.get(backup.id) ?? []), rule]);
  if (policy.last) for (const backup of newestFirst.slice(0, policy.last)) keep(backup, 'last');
  for (const rule of ['daily', 'weekly', 'monthly', 'yearly'] as const) {
    let left = policy[rule] ?? 0;
    let previous: string | undefined;
    for (const backup of newestFirst) {
      if (left === 0) break;
      const period = PERIOD_OF[rule](backup.at);
      if (period === previous) continue;
      previous = period;
      keep(backup, rule);
      left -= 1;
    }
  }
  return kept;
}

/** `7 daily + 4 weekly + 12 monthly + 3 yearly`, for tables and notes. */
export function describePolicy(policy: RetentionPolicy): string {
  return (['last', 'daily', 'weekly', 'monthly', 'yearly'] as const)
    .filter((rule) => policy[rule] !== undefined)
    .map((rule) => `${policy[rule]} ${rule}`)
    .join(' + ');
}
