import type { DrillStatus, Journal } from '../journal/types.js';

/**
 * A comparison of strategies: the drills of one scenario, run once per strategy (and per
 * repetition), set side by side. Pure aggregation over journals — no I/O — so the comparison
 * report can be rebuilt from journals alone, like every other report.
 */

/** How a figure is measured, which decides how reports format and chart it. */
export type MetricUnit = 'ms' | 'rows' | 'bytes' | 'percent';

/** One column of a comparison. */
export interface MetricDefinition {
  key: string;
  label: string;
  unit: MetricUnit;
  /** Which way is better: the winner of a column has the lowest (or highest) median. */
  better: 'lower' | 'higher';
  /** What the figure is, in a report's words. */
  description: string;
  value(journal: Journal): number | null;
}

function eventAt(journal: Journal, name: string): number | undefined {
  return journal.events.find((event) => event.name === name)?.atMs;
}

/** How much a figure of the workload moved while the backup ran, in percent of before it; null when either was not measured. */
function percentChange(before: number | undefined, during: number | undefined): number | null {
  return before !== undefined && before > 0 && during !== undefined ? (during / before - 1) * 100 : null;
}

/** The figures a comparison sets side by side, in column order. */
export const COMPARISON_METRICS = [
  {
    key: 'rtoServiceMs',
    label: 'RTO (service)',
    unit: 'ms',
    better: 'lower',
    description: 'fault → first write acknowledged by the restored database',
    value: (journal) => journal.measurements.rtoServiceMs,
  },
  {
    key: 'rtoVerifiedMs',
    label: 'RTO (verified)',
    unit: 'ms',
    better: 'lower',
    description: 'fault → every check passed',
    value: (journal) => journal.measurements.rtoVerifiedMs,
  },
  {
    key: 'dataLossMs',
    label: 'Data loss (time)',
    unit: 'ms',
    better: 'lower',
    description: 'last write acknowledged before the fault → newest write that survived',
    value: (journal) => journal.measurements.dataLossMs,
  },
  {
    key: 'lostWrites',
    label: 'Lost writes',
    unit: 'rows',
    better: 'lower',
    description: 'acknowledged writes missing after the restore, those lost to slow detection included',
    value: (journal) => journal.measurements.lostWrites,
  },
  {
    key: 'lostBeforeFault',
    label: 'Lost before fault',
    unit: 'rows',
    better: 'lower',
    description: 'writes acknowledged before the fault and missing after the restore: what the backup could not bring back',
    value: (journal) => journal.ledger?.lostBeforeFault ?? null,
  },
  {
    key: 'backupDurationMs',
    label: 'Backup duration',
    unit: 'ms',
    better: 'lower',
    description: 'the base backup, taken under load',
    value: (journal) => journal.backup?.durationMs ?? null,
  },
  {
    key: 'backupSizeBytes',
    label: 'Backup size',
    unit: 'bytes',
    better: 'lower',
    description: 'the newest backup as stored (WAL or binlog archived after it is not counted)',
    value: (journal) => journal.backup?.sizeBytes ?? null,
  },
  {
    key: 'keptBytes',
    label: 'Backups kept',
    unit: 'bytes',
    better: 'lower',
    description: 'every backup of the schedule still stored when the fault struck (those retention pruned left out): what the schedule costs in storage',
    value: (journal) => (journal.backups?.length ? journal.backups.filter((backup) => !backup.pruned).reduce((sum, backup) => sum + backup.sizeBytes, 0) : null),
  },
  {
    key: 'restoreDurationMs',
    label: 'Restore duration',
    unit: 'ms',
    better: 'lower',
    description: 'detection → service restored: the strategy\'s restore path, without the detection delay every strategy shares',
    value: (journal) => {
      const detected = eventAt(journal, 'detected');
      const restored = eventAt(journal, 'service-restored');
      return detected !== undefined && restored !== undefined ? restored - detected : null;
    },
  },
  {
    key: 'backupThroughputChange',
    label: 'Load during backup',
    unit: 'percent',
    better: 'higher',
    description: 'workload throughput while the backup ran, against before it: −10 % means the backup cost a tenth of the writes. Only for a workload as fast as it can (rate: max): a paced one keeps its rate through a backup that slows its writes (the latency column shows that cost), so its throughput would rank strategies by noise',
    value: (journal) => (journal.workload.targetRate === null ? percentChange(journal.backup?.throughputBefore, journal.backup?.throughputDuring) : null),
  },
  {
    key: 'backupLatencyChange',
    label: 'Write latency during backup',
    unit: 'percent',
    better: 'lower',
    description: "p95 latency of the workload's writes while the backup ran, against before it: +50 % means writes took half as long again. Shows the backup's cost even when the workload is paced",
    value: (journal) => percentChange(journal.backup?.latencyP95Before, journal.backup?.latencyP95During),
  },
] as const satisfies readonly MetricDefinition[];

/** The key of a comparison column. */
export type MetricKey = (typeof COMPARISON_METRICS)[number]['key'];

/** One column's figures for one entry, over its repetitions. */
export interface MetricStats {
  /** One value per repetition, in order; null where the drill could not measure it. */
  values: Array<number | null>;
  /** Median, min and max of the measured values; null when none was measured. */
  median: number | null;
  min: number | null;
  max: number | null;
  /** Every repetition measured it. Only a complete entry can win a column: a strategy that sometimes fails to measure is not the best. */
  complete: boolean;
}

/** One strategy (or strategy with options) of a comparison. */
export interface ComparedEntry {
  label: string;
  strategy: string;
  /** Position in the list as given. */
  index: number;
  /** The entry's drills, by repetition: indexes into the journals the comparison was built from. */
  drills: number[];
  statuses: DrillStatus[];
  stats: Record<MetricKey, MetricStats>;
}

/** The comparison of one scenario's strategies in one run. */
export interface Comparison {
  runId: string;
  scenario: string;
  description?: string;
  file?: string;
  engine: string;
  faultKind: string;
  /** What the source database held, from the first drill that seeded it. */
  dataset?: string;
  /** When the first drill started, ISO. */
  startedAt: string;
  /** Repetitions asked for (`--repeat`). */
  repetitions: number;
  entries: ComparedEntry[];
  /** Per column, the labels of the best entries (ties share). Empty when there is nothing to tell apart. */
  winners: Record<MetricKey, string[]>;
  /**
   * Per column, whether a best entry's range over the runs overlaps another entry's: the order
   * of the medians may then be noise, and more runs would tell. False for a single run.
   */
  overlapping: Record<MetricKey, boolean>;
}

/** The figures that break a tie between entries that passed (or failed) alike, in order: the objectives' own. */
const RANKING_FIGURES = ['rtoVerifiedMs', 'dataLossMs', 'lostWrites'] as const satisfies readonly MetricKey[];

/**
 * The entries best first: by verdict (the share of runs that passed; an error counts against),
 * then by the objectives' figures (RTO verified, data loss, lost writes; unmeasured last). A
 * strategy that failed its objectives never ranks above one that met them, however many
 * columns it is quickest in.
 */
export function rankEntries(comparison: Pick<Comparison, 'entries'>): ComparedEntry[] {
  const passed = (entry: ComparedEntry) => entry.statuses.filter((status) => status === 'passed').length / Math.max(1, entry.statuses.length);
  const errored = (entry: ComparedEntry) => entry.statuses.filter((status) => status === 'error').length;
  return [...comparison.entries].sort((a, b) => {
    const verdict = passed(b) - passed(a) || errored(a) - errored(b);
    if (verdict !== 0) return verdict;
    for (const key of RANKING_FIGURES) {
      const [x, y] = [a.stats[key].median ?? Infinity, b.stats[key].median ?? Infinity];
      if (x !== y) return x - y;
    }
    return a.index - b.index;
  });
}

/** The median of measured values (mean of the middle two for an even count), or null if there are none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median, range and completeness of one column's values. */
export function metricStats(values: ReadonlyArray<number | null>): MetricStats {
  const measured = values.filter((value): value is number => value !== null && Number.isFinite(value));
  return {
    values: [...values],
    median: median(measured),
    min: measured.length > 0 ? Math.min(...measured) : null,
    max: measured.length > 0 ? Math.max(...measured) : null,
    complete: values.length > 0 && measured.length === values.length,
  };
}

/**
 * The best entries of a column: the complete ones with the best median, ties included. No
 * winner when fewer than two entries have a figure, or when every entry ties (a column where
 * all are equal says nothing about which to pick).
 */
export function columnWinners(entries: readonly ComparedEntry[], metric: Pick<MetricDefinition, 'key' | 'better'>): string[] {
  const key = metric.key as MetricKey;
  const measured = entries.filter((entry) => entry.stats[key].median !== null);
  const candidates = measured.filter((entry) => entry.stats[key].complete);
  if (measured.length < 2 || candidates.length === 0) return [];
  const medians = candidates.map((entry) => entry.stats[key].median!);
  const best = metric.better === 'lower' ? Math.min(...medians) : Math.max(...medians);
  const winners = candidates.filter((entry) => entry.stats[key].median === best);
  return winners.length === measured.length ? [] : winners.map((entry) => entry.label);
}

/** Whether the best entries' ranges overlap any other measured entry's range (see Comparison.overlapping). */
export function rangesOverlap(entries: readonly ComparedEntry[], metric: Pick<MetricDefinition, 'key' | 'better'>, winners: readonly string[]): boolean {
  const key = metric.key as MetricKey;
  const best = entries.filter((entry) => winners.includes(entry.label));
  const others = entries.filter((entry) => !winners.includes(entry.label) && entry.stats[key].median !== null);
  return best.some((winner) =>
    others.some((other) => {
      const [w, o] = [winner.stats[key], other.stats[key]];
      return metric.better === 'lower' ? w.max! >= o.min! : w.min! <= o.max!;
    }),
  );
}

/**
 * Builds the comparisons in a set of journals: those that carry a `comparison` entry, grouped
 * by run and scenario, entries in the order they were listed, drills by repetition. Journals
 * of plain drills are left out; none at all gives no comparison.
 */
export function buildComparisons(journals: readonly Journal[]): Comparison[] {
  const groups = new Map<string, number[]>();
  journals.forEach((journal, index) => {
    if (!journal.comparison) return;
    const key = JSON.stringify([journal.runId, journal.scenario.name]);
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  return [...groups.values()].map((members) => {
    const first = journals[members[0]!]!;
    const byLabel = new Map<string, number[]>();
    for (const index of members) {
      const label = journals[index]!.comparison!.label;
      byLabel.set(label, [...(byLabel.get(label) ?? []), index]);
    }
    const entries = [...byLabel.entries()]
      .map(([label, indexes]): ComparedEntry => {
        const drills = [...indexes].sort((a, b) => journals[a]!.comparison!.repetition - journals[b]!.comparison!.repetition);
        const ordered = drills.map((index) => journals[index]!);
        return {
          label,
          strategy: ordered[0]!.strategy,
          index: ordered[0]!.comparison!.index,
          drills,
          statuses: ordered.map((journal) => journal.status),
          stats: Object.fromEntries(COMPARISON_METRICS.map((metric) => [metric.key, metricStats(ordered.map((journal) => metric.value(journal)))])) as Record<MetricKey, MetricStats>,
        };
      })
      .sort((a, b) => a.index - b.index);
    const dataset = members.map((index) => journals[index]!.phases.find((phase) => phase.name === 'seed')?.detail).find((detail) => detail !== undefined);
    const winners = Object.fromEntries(COMPARISON_METRICS.map((metric) => [metric.key, columnWinners(entries, metric)])) as Record<MetricKey, string[]>;
    const repetitions = Math.max(...members.map((index) => journals[index]!.comparison!.repetitions));
    return {
      runId: first.runId,
      scenario: first.scenario.name,
      ...(first.scenario.description ? { description: first.scenario.description } : {}),
      ...(first.scenario.file ? { file: first.scenario.file } : {}),
      engine: first.engine,
      faultKind: first.faultKind,
      ...(dataset ? { dataset } : {}),
      startedAt: members.map((index) => journals[index]!.startedAt).sort()[0]!,
      repetitions,
      entries,
      winners,
      overlapping: Object.fromEntries(COMPARISON_METRICS.map((metric) => [metric.key, repetitions > 1 && rangesOverlap(entries, metric, winners[metric.key])])) as Record<MetricKey, boolean>,
    };
  });
}
