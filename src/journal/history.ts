import type { DrillHistory, HistoryEntry, Journal } from './types.js';

/**
 * The drill history kept in `<reports>/history.jsonl`: one line per drill, appended by the
 * runner, sliced into each new journal so reports can show trends. Pure functions only; the
 * runner does the file I/O (src/runner/history.ts).
 */

/** How many earlier drills a report's trend shows: a month of nightly runs. */
export const HISTORY_TREND_LENGTH = 30;

/** The name history is kept under for a drill: the comparison label when there is one, so `pg-dump (jobs=1)` and `pg-dump (jobs=4)` trend apart. */
export function historyStrategy(journal: Pick<Journal, 'comparison' | 'sweep' | 'strategy'>): string {
  // A size of a sweep has a trend of its own: the same drill at another size is another figure.
  return journal.comparison?.label ?? (journal.sweep ? `${journal.strategy} (${journal.sweep.label})` : journal.strategy);
}

/** Milliseconds to the microsecond: finer than any RTO resolution, and a line stays short. */
function ms<T extends number | null>(value: T): T {
  return (value === null ? null : Math.round(value * 1000) / 1000) as T;
}

/** The history line of a drill. */
export function historyEntry(journal: Journal): HistoryEntry {
  const { measurements: m, backup } = journal;
  const dataset = journal.phases.find((phase) => phase.name === 'seed')?.detail;
  return {
    at: journal.startedAt,
    runId: journal.runId,
    drillId: journal.drillId,
    scenario: journal.scenario.name,
    scenarioHash: journal.scenario.hash,
    strategy: historyStrategy(journal),
    engine: journal.engine,
    status: journal.status,
    rtoServiceMs: ms(m.rtoServiceMs),
    rtoVerifiedMs: ms(m.rtoVerifiedMs),
    dataLossMs: ms(m.dataLossMs),
    lostWrites: m.lostWrites,
    backupSizeBytes: backup?.sizeBytes ?? null,
    backupDurationMs: backup ? ms(backup.durationMs) : null,
    ...(dataset ? { dataset } : {}),
  };
}

function isEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<HistoryEntry>;
  return typeof entry.at === 'string' && typeof entry.scenario === 'string' && typeof entry.strategy === 'string' && typeof entry.status === 'string';
}

/**
 * Reads history.jsonl text, oldest first. A line that is not an entry (cut short by a crash
 * or a full disk, edited by hand) is skipped: one bad line must not cost every later report
 * its trend.
 */
export function parseHistory(text: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (isEntry(value)) entries.push(value);
    } catch {
      // skipped, see above
    }
  }
  // Concurrent runs append in the order they finish drills; a trend reads in the order they ran.
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * The history a drill's report shows: the newest `limit` earlier drills of the same scenario
 * and strategy, oldest first, and the newest passing drill of the scenario with any strategy.
 * Entries of run `runId` (the drill's own run) are not "earlier".
 */
export function historyFor(
  entries: readonly HistoryEntry[],
  drill: { scenario: string; strategy: string; runId: string },
  limit = HISTORY_TREND_LENGTH,
): DrillHistory {
  const earlier = entries.filter((entry) => entry.runId !== drill.runId && entry.scenario === drill.scenario);
  const passed = earlier.filter((entry) => entry.status === 'passed').at(-1);
  return {
    entries: earlier.filter((entry) => entry.strategy === drill.strategy).slice(-limit),
    lastPassed: passed ? { at: passed.at, runId: passed.runId, strategy: passed.strategy } : null,
  };
}
