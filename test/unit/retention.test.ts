import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pruneBackups } from '../../src/retention/prune.js';
import { LocalDirectoryStorage } from '../../src/storage/local-directory.js';
import { planRetention } from '../../src/retention/plan.js';
import { describePolicy, keptBy } from '../../src/retention/policy.js';

/** A backup every day at 01:00 UTC from `from` for `days` days, ids as their dates. */
function daily(from: string, days: number): Array<{ id: string; at: Date }> {
  const start = Date.parse(`${from}T01:00:00Z`);
  return Array.from({ length: days }, (_, day) => {
    const at = new Date(start + day * 86_400_000);
    return { id: at.toISOString().slice(0, 10), at };
  });
}

describe('retention policies', () => {
  it('grandfather-father-son keeps exactly the newest of each recent day, ISO week, month and year', () => {
    // 2024-01-01 (a Monday) to 2026-12-01: 1066 daily backups.
    const backups = daily('2024-01-01', 1066);
    expect(backups.at(-1)!.id).toBe('2026-12-01');
    const kept = keptBy(backups, { daily: 7, weekly: 4, monthly: 12, yearly: 3 });
    const byRule = (rule: string) => [...kept].filter(([, rules]) => rules.includes(rule as never)).map(([id]) => id).sort();
    expect(byRule('daily')).toEqual(['2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29', '2026-11-30', '2026-12-01']);
    // ISO weeks end on Sunday: 2026-12-01 is a Tuesday of week 49.
    expect(byRule('weekly')).toEqual(['2026-11-15', '2026-11-22', '2026-11-29', '2026-12-01']);
    expect(byRule('monthly')).toEqual(['2026-01-31', '2026-02-28', '2026-03-31', '2026-04-30', '2026-05-31', '2026-06-30', '2026-07-31', '2026-08-31', '2026-09-30', '2026-10-31', '2026-11-30', '2026-12-01']);
    expect(byRule('yearly')).toEqual(['2024-12-31', '2025-12-31', '2026-12-01']);
    // 7 + 4 + 12 + 3 rules, with the overlaps counted once: 21 backups instead of 1066.
    expect(kept.size).toBe(21);
    expect(describePolicy({ daily: 7, weekly: 4, monthly: 12, yearly: 3 })).toBe('7 daily + 4 weekly + 12 monthly + 3 yearly');
  });

  it('keep-last counts backups, not days, and several a day count once for daily', () => {
    const hourly = Array.from({ length: 48 }, (_, hour) => ({ id: `h${hour}`, at: new Date(Date.UTC(2026, 10, 30, hour)) }));
    expect([...keptBy(hourly, { last: 3 }).keys()].sort()).toEqual(['h45', 'h46', 'h47']);
    expect([...keptBy(hourly, { daily: 5 }).keys()].sort()).toEqual(['h23', 'h47']);
  });
});

describe('retention plan', () => {
  it('a daily backup for three years under 7 + 4 + 12 + 3 keeps 23, reaching two years back, for a fiftieth of the storage', () => {
    const size = 5e9;
    const plan = planRetention({ everyMs: 86_400_000, periodDays: 1095, policy: { daily: 7, weekly: 4, monthly: 12, yearly: 3 }, backupBytes: size, logBytesPerDay: 2e9 });
    // The calendar runs 2026-01-01 to 2028-12-31 (a Sunday): 7 days, 3 more Sundays, 11 more month ends, 2 more year ends.
    expect(plan.end.slice(0, 10)).toBe('2028-12-31');
    expect(plan.policyOutcome).toMatchObject({ backups: 1096, kept: 23, oldestDays: 731 });
    expect(plan.policyOutcome.storageBytes).toBe(23 * size + 731 * 2e9);
    expect(plan.keepAll).toMatchObject({ kept: 1096, oldestDays: 1095, storageBytes: 1096 * size + 1095 * 2e9 });
    expect(plan.sameCountNewest).toMatchObject({ kept: 23, oldestDays: 22 });
    expect(plan.keptAtEnd.map((backup) => backup.at.slice(0, 10)).slice(0, 3)).toEqual(['2026-12-31', '2027-12-31', '2028-01-31']);
    expect(plan.series.at(-1)).toMatchObject({ day: 1095, kept: 23 });
    expect(plan.series.length).toBeLessThanOrEqual(400);
  });

  it('the same policy with backups every 6 hours keeps one a day for the dailies, and the newest of today', () => {
    const plan = planRetention({ everyMs: 6 * 3_600_000, periodDays: 30, policy: { last: 4, daily: 7 }, backupBytes: 1e9 });
    // The last 4 are today's 00:00 and yesterday's 06:00, 12:00, 18:00; of the 7 dailies, today's and
    // yesterday's are among them, and the 5 days before add their 18:00.
    expect(plan.policyOutcome.kept).toBe(4 + 5);
    expect(plan.keptAtEnd.slice(-4).map((backup) => backup.at.slice(5, 16))).toEqual(['01-30T06:00', '01-30T12:00', '01-30T18:00', '01-31T00:00']);
  });
});

describe('pruning a location', () => {
  it('deletes what no rule keeps, but never the base an incremental that is kept is restored from', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'firedrill-prune-'));
    try {
      const location = new LocalDirectoryStorage('primary', dir, 'home');
      const catalog = [1, 2, 3, 4].map((index) => ({ index, takenAt: new Date(Date.UTC(2026, 0, 1, 0, index)), keys: [`b/backup-${index}/stream`], ...(index === 2 || index === 3 ? { basedOn: index - 1 } : {}) }));
      const fill = () => Promise.all(catalog.map((entry) => location.put(entry.keys[0]!, Readable.from([Buffer.from('x')]))));
      await fill();
      // Backup 4 is a full one: the newest alone keeps nothing older.
      expect((await pruneBackups(location, catalog, { last: 1 })).removed.map((removed) => removed.backup)).toEqual([1, 2, 3]);
      expect(await location.list('b/')).toEqual(['b/backup-4/stream']);
      await fill();
      // Backup 3 is an incremental on 2, on 1: keeping it keeps its chain.
      const result = await pruneBackups(location, catalog, { last: 2 });
      expect(result.removed).toEqual([]);
      expect(result.kept).toEqual([
        { backup: 1, rules: ['base'] },
        { backup: 2, rules: ['base'] },
        { backup: 3, rules: ['last'] },
        { backup: 4, rules: ['last'] },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
