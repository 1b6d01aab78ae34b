import { historyEntry } from '../journal/history.js';
import type { HistoryEntry, Journal, SeriesPoint } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';
import { formatCount, formatMs } from './format.js';
import { PALETTE } from './html-markup.js';

/**
 * What the report's charts draw, computed here (in Node, unit-testable) and embedded as
 * JSON; the page's script only hands it to Chart.js. All x values are seconds on the drill
 * clock, so the timeline and the phase waterfall share one axis.
 */

/** At most this many points per chart line: plenty at report width, and a long drill's report stays far below 1 MB. */
export const MAX_CHART_POINTS = 600;

/** `[x, y]`: Chart.js reads arrays directly, and they are half the size of `{x, y}` objects. */
export type Point = [x: number, y: number | null];

export interface Marker {
  x: number;
  label: string;
  color: string;
  dashed: boolean;
}

export interface Band {
  from: number;
  to: number;
  color: string;
}

export interface TimelineDataset {
  label: string;
  axis: 'rate' | 'latency';
  color: string;
  fill: boolean;
  dashed: boolean;
  points: Point[];
}

export interface TimelineChart {
  xMin: number;
  xMax: number;
  /** The wall-clock time (epoch ms) of drill time 0, for times on hover; null if unknown. */
  wallStartMs: number | null;
  /** Latency spans orders of magnitude when a backup or a restore stalls writes; a log axis keeps p50 readable then. */
  latencyScale: 'linear' | 'logarithmic';
  datasets: TimelineDataset[];
  markers: Marker[];
  bands: Band[];
}

export interface PhaseBar {
  label: string;
  from: number;
  to: number;
  duration: string;
  color: string;
  ok: boolean;
}

export interface PhaseChart {
  xMin: number;
  xMax: number;
  bars: PhaseBar[];
  markers: Marker[];
}

export interface CountBar {
  label: string;
  value: number;
  text: string;
  color: string;
}

export interface HistoryDataset {
  label: string;
  color: string;
  dashed: boolean;
  /** Seconds, one per drill; null where the drill did not measure it. */
  values: Array<number | null>;
  /** The same figures as the report writes them, for tooltips. */
  texts: string[];
}

/** RTO and data loss of earlier drills of the same scenario and strategy, this drill last. */
export interface HistoryChart {
  /** One label per drill: when it ran (`11-20 02:00`, UTC), and `this run` last. */
  labels: string[];
  /** Whether each drill passed: the points of one that did not are drawn in the failure colour. */
  passed: boolean[];
  datasets: HistoryDataset[];
}

/** The unit of a sampled figure, from its name's suffix (`lagMs`, `lagBytes`). */
export type SampleUnit = 'ms' | 'bytes' | 'count';

export interface SampleDataset {
  /** What it is (`lag`), and with its unit for the legend (`lag (ms)`). */
  name: string;
  label: string;
  unit: SampleUnit;
  color: string;
  points: Point[];
}

/** What the strategy sampled every second while the workload ran (a standby's lag), up to the fault. */
export interface SamplesChart {
  xMin: number;
  xMax: number;
  datasets: SampleDataset[];
  markers: Marker[];
}

/** Colours and text tones the page's script styles charts with. */
export interface ChartTheme {
  text: string;
  muted: string;
  grid: string;
  fail: string;
}

/** The chart theme of every report, from the same palette as the page's CSS. */
export const CHART_THEME: ChartTheme = { text: PALETTE.text, muted: PALETTE.muted, grid: PALETTE.grid, fail: PALETTE.fail };

/** Everything the page's script draws; a null chart is shown as "not measured" instead. */
export interface ChartModel {
  theme: ChartTheme;
  timeline: TimelineChart | null;
  phases: PhaseChart | null;
  rpo: CountBar[] | null;
  samples: SamplesChart | null;
  history: HistoryChart | null;
}

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
const seconds = (ms: number): number => round(ms / 1000);

/**
 * Thins a line to at most `maxPoints` while keeping its shape: each window keeps its lowest
 * and highest point (a throughput dip or a latency spike survives) and one gap, if it has
 * one, so an outage still breaks the line.
 */
export function downsampleMinMax(points: readonly Point[], maxPoints = MAX_CHART_POINTS): Point[] {
  if (points.length <= maxPoints) return [...points];
  const windows = Math.max(1, Math.floor(maxPoints / 3));
  const size = points.length / windows;
  const out: Point[] = [];
  for (let w = 0; w < windows; w++) {
    let min: Point | undefined;
    let max: Point | undefined;
    let gap: Point | undefined;
    for (const point of points.slice(Math.floor(w * size), Math.floor((w + 1) * size))) {
      const y = point[1];
      if (y === null) gap ??= point;
      else {
        if (!min || y < min[1]!) min = point;
        if (!max || y > max[1]!) max = point;
      }
    }
    const kept = [...new Set([min, max, gap])].filter((point): point is Point => point !== undefined);
    out.push(...kept.sort((a, b) => a[0] - b[0]));
  }
  return out;
}

/**
 * The seconds each point of the series covers: the part of its bucket in which the workload
 * was writing — before it stopped at detection, and again while it wrote to the restored
 * database. Counted over a bucket's whole width, a half-covered second at either stop would
 * read as throughput collapsing; a bucket in the pause between covers nothing.
 */
function pointSpans(journal: Journal, bucket: number): (index: number) => number {
  const { series, startMs, endMs, resumed } = journal.workload;
  if (startMs === undefined || endMs === undefined) return () => bucket;
  const active = [[0, (endMs - startMs) / 1000], ...(resumed ? [[(resumed.startMs - startMs) / 1000, (resumed.endMs - startMs) / 1000]] : [])] as Array<[number, number]>;
  return (index) => {
    const from = series[index]!.t;
    return active.reduce((sum, [start, end]) => sum + Math.max(0, Math.min(end, from + bucket) - Math.max(start, from)), 0);
  };
}

// A last bucket covering less than this share of a bucket holds too few writes for a rate worth drawing.
const MIN_PARTIAL_SHARE = 0.25;

/** Width of one series bucket in seconds (the smallest step between points; 1 s if unknown). */
function bucketSeconds(series: readonly SeriesPoint[]): number {
  let step = Infinity;
  for (let i = 1; i < series.length; i++) {
    const diff = series[i]!.t - series[i - 1]!.t;
    if (diff > 0 && diff < step) step = diff;
  }
  return Number.isFinite(step) ? step : 1;
}

/** One row of the timeline's data table: a bucket, or a window of buckets on long drills. */
export interface SeriesRow {
  /** Drill clock seconds. */
  from: number;
  to: number;
  ackedPerSecond: number;
  failedPerSecond: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/**
 * The timeline's numbers as table rows, at most `maxRows`. Long series are merged into
 * windows: rates are the window's average, latencies its worst bucket (a table that
 * averaged latency would hide the spike the chart shows).
 */
export function seriesRows(journal: Journal, maxRows = MAX_CHART_POINTS): { rows: SeriesRow[]; bucketsPerRow: number; bucket: number } {
  const series = journal.workload.series;
  const bucket = bucketSeconds(series);
  const offset = workloadOffsetSeconds(journal);
  const bucketsPerRow = Math.max(1, Math.ceil(series.length / maxRows));
  const spanOf = pointSpans(journal, bucket);
  const rows: SeriesRow[] = [];
  for (let i = 0; i < series.length; i += bucketsPerRow) {
    const group = series.slice(i, i + bucketsPerRow);
    const span = group.reduce((sum, _, index) => sum + spanOf(i + index), 0);
    if (span < MIN_PARTIAL_SHARE * bucket) continue;
    const worst = (pick: (point: SeriesPoint) => number | null): number | null => {
      const values = group.map(pick).filter((value): value is number => value !== null);
      return values.length > 0 ? Math.max(...values) : null;
    };
    rows.push({
      from: round(offset + group[0]!.t),
      to: round(offset + group.at(-1)!.t + spanOf(i + group.length - 1)),
      ackedPerSecond: round(group.reduce((sum, point) => sum + point.acked, 0) / span, 1),
      failedPerSecond: round(group.reduce((sum, point) => sum + point.failed + point.indeterminate, 0) / span, 1),
      p50: worst((point) => point.latencyP50Ms),
      p95: worst((point) => point.latencyP95Ms),
      p99: worst((point) => point.latencyP99Ms),
    });
  }
  return { rows, bucketsPerRow, bucket };
}

/** Series `t` counts from the workload's start; events count from the drill's. */
function workloadOffsetSeconds(journal: Journal): number {
  const start = journal.workload.startMs ?? journal.events.find((event) => event.name === 'workload-start')?.atMs ?? 0;
  return start / 1000;
}

/** The events worth a vertical line, in the words the report uses for them. */
const MARKER_EVENTS: ReadonlyArray<{ name: string; label: string; color: string; dashed: boolean }> = [
  { name: 'fault', label: 'fault', color: PALETTE.fail, dashed: false },
  { name: 'detected', label: 'detected', color: PALETTE.error, dashed: true },
  { name: 'restore-start', label: 'restore start', color: PALETTE.purple, dashed: true },
  { name: 'service-restored', label: 'service restored', color: PALETTE.pass, dashed: false },
  { name: 'verified', label: 'verified', color: PALETTE.pass, dashed: true },
  { name: 'writes-resumed', label: 'writes resumed', color: PALETTE.blue, dashed: true },
];

function markers(journal: Journal): Marker[] {
  return MARKER_EVENTS.flatMap(({ name, ...style }) => {
    const event = journal.events.find((candidate) => candidate.name === name);
    return event ? [{ x: seconds(event.atMs), ...style }] : [];
  });
}

/** Band colours; the timeline's caption shows the same swatches. */
export const BACKUP_SHADE = 'rgba(9, 105, 218, 0.08)';
export const OUTAGE_SHADE = 'rgba(207, 34, 46, 0.07)';

/** Shaded spans: the backup (its cost to the workload) and the outage (fault → service). */
function bands(journal: Journal): Band[] {
  const at = (name: string) => journal.events.find((event) => event.name === name)?.atMs;
  const result: Band[] = [];
  const backupFrom = journal.backup?.startMs ?? at('backup-start');
  const backupTo = journal.backup?.endMs ?? at('backup-end');
  if (backupFrom !== undefined && backupTo !== undefined) {
    result.push({ from: seconds(backupFrom), to: seconds(backupTo), color: BACKUP_SHADE });
  }
  const fault = journal.fault?.atMs ?? at('fault');
  const service = at('service-restored');
  if (fault !== undefined && service !== undefined) {
    result.push({ from: seconds(fault), to: seconds(service), color: OUTAGE_SHADE });
  }
  return result;
}

/** Drill time 0 on the wall clock: from the fault's two clocks where there is one, else the drill's start. */
function wallStartMs(journal: Journal): number | null {
  const fault = journal.fault;
  const wall = fault?.wallTime ? Date.parse(fault.wallTime) - fault.atMs : Date.parse(journal.startedAt);
  return Number.isFinite(wall) ? wall : null;
}

function timelineChart(journal: Journal): TimelineChart | null {
  const series = journal.workload.series;
  if (series.length === 0) return null;
  const bucket = bucketSeconds(series);
  // The pause between the stop at detection and the writes to the restored database is a gap
  // in the lines (a null point breaks them), not a fall to zero: nothing was written, nothing failed.
  const withBreaks = (points: Point[]): Point[] =>
    points.flatMap((point, index) => {
      const previous = points[index - 1];
      return previous && point[0] - previous[0] > 1.5 * bucket ? [[(previous[0] + point[0]) / 2, null] as Point, point] : [point];
    });
  const offset = workloadOffsetSeconds(journal);
  // Plot each bucket at its middle: a bucket's count happened across its whole width (the
  // last one's only up to the workload's stop).
  const spanOf = pointSpans(journal, bucket);
  const spans = new Map(series.map((point, index) => [point, spanOf(index)]));
  const drawn = series.filter((point) => spans.get(point)! >= MIN_PARTIAL_SHARE * bucket);
  const x = (point: SeriesPoint) => round(offset + point.t + spans.get(point)! / 2);
  const rate = (count: number, point: SeriesPoint) => round(count / spans.get(point)!, 2);
  const latencies = series.flatMap((point) => [point.latencyP50Ms, point.latencyP99Ms]).filter((v): v is number => v !== null && v > 0);
  const logarithmic = latencies.length > 0 && Math.max(...latencies) / Math.min(...latencies) > 50;
  // A log axis cannot place zero; such a bucket shows as a gap rather than a wrong point.
  const latency = (value: number | null) => (value === null || (logarithmic && value <= 0) ? null : round(value));
  const line = (
    label: string,
    axis: TimelineDataset['axis'],
    color: string,
    y: (point: SeriesPoint) => number | null,
    style: { fill?: boolean; dashed?: boolean } = {},
  ): TimelineDataset => ({
    label,
    axis,
    color,
    fill: style.fill ?? false,
    dashed: style.dashed ?? false,
    points: downsampleMinMax(withBreaks(drawn.map((point) => [x(point), y(point)]))),
  });
  const datasets = [
    line('acked writes/s', 'rate', PALETTE.blue, (point) => rate(point.acked, point), { fill: true }),
    ...(series.some((point) => point.failed + point.indeterminate > 0)
      ? [line('failed + unknown/s', 'rate', PALETTE.fail, (point) => rate(point.failed + point.indeterminate, point), { dashed: true })]
      : []),
    line('latency p50', 'latency', '#c297ff', (point) => latency(point.latencyP50Ms)),
    line('latency p95', 'latency', PALETTE.purple, (point) => latency(point.latencyP95Ms)),
    line('latency p99', 'latency', '#512a97', (point) => latency(point.latencyP99Ms)),
  ];
  const timelineMarkers = markers(journal);
  const xs = [offset, offset + series.at(-1)!.t + spanOf(series.length - 1), ...timelineMarkers.map((marker) => marker.x)];
  return {
    xMin: round(Math.min(...xs)),
    xMax: round(Math.max(...xs)),
    wallStartMs: wallStartMs(journal),
    latencyScale: logarithmic ? 'logarithmic' : 'linear',
    datasets,
    markers: timelineMarkers,
    bands: bands(journal),
  };
}

/**
 * Phase colours by role: setup grey, backup blue, fault red, verification green, and the
 * restore path in shades of purple, light to dark, so its steps stay apart when adjacent.
 */
const PHASE_COLOR: Readonly<Record<string, string>> = {
  provision: PALETTE.gray,
  seed: PALETTE.gray,
  prepare: PALETTE.gray,
  'workload-warmup': PALETTE.gray,
  backup: PALETTE.blue,
  fault: PALETTE.fail,
  detect: PALETTE.error,
  fetch: '#a475f9',
  restore: PALETTE.purple,
  start: '#6639ba',
  replay: '#512a97',
  service: '#3e1f79',
  verify: PALETTE.pass,
  teardown: '#afb8c1',
};

/** The colour a phase has in the waterfall and the RTO breakdown. */
export function phaseColor(name: string): string {
  return PHASE_COLOR[name] ?? PALETTE.gray;
}

function phaseChart(journal: Journal): PhaseChart | null {
  if (journal.phases.length === 0) return null;
  const bars = journal.phases.map((phase) => ({
    label: phase.notCounted ? `${phase.name} (not in RTO)` : phase.name,
    from: seconds(phase.startMs),
    to: seconds(phase.endMs),
    duration: formatDuration(phase.durationMs),
    // firedrill's own work in the recovery window, greyed: no part of the recovery.
    color: phase.notCounted ? PALETTE.gray : phaseColor(phase.name),
    ok: phase.ok,
  }));
  return {
    xMin: Math.min(0, ...bars.map((bar) => bar.from)),
    xMax: Math.max(...bars.map((bar) => bar.to)),
    bars,
    markers: markers(journal).filter((marker) => marker.label === 'fault' || marker.label === 'service restored'),
  };
}

function rpoChart(journal: Journal): CountBar[] | null {
  const { ledger, damage } = journal;
  if (!ledger) return null;
  const bar = (label: string, value: number, color: string): CountBar => ({ label, value, text: formatCount(value), color });
  return [
    bar('lost before fault', ledger.lostBeforeFault, PALETTE.fail),
    bar('lost to detection', ledger.lostToDetection, PALETTE.error),
    // Only where the writes went on past the detection (a game day).
    ...(journal.gameday ? [bar('lost after detection', ledger.lostAfterDetection, PALETTE.amber)] : []),
    bar('recovered (unknown → present)', ledger.recovered, PALETTE.pass),
    bar('unexpected rows', ledger.unexpected, PALETTE.amber),
    ...(damage
      ? [
          bar('damage: rows affected', damage.affectedRows, PALETTE.gray),
          bar('damage: rows restored', damage.restoredRows, PALETTE.pass),
          bar('damage: rows missing', damage.missingRows, PALETTE.fail),
          bar('damage: explained by lost writes', damage.explainedByLostWrites, PALETTE.amber),
        ]
      : []),
  ];
}

/**
 * The drills a history trend shows: the earlier ones the journal carries, then this one.
 * Null for a journal without history (written before history existed, or outside a run).
 */
export function historyPoints(journal: Journal): HistoryEntry[] | null {
  return journal.history ? [...journal.history.entries, historyEntry(journal)] : null;
}

/** `11-20 02:00`: short enough for an axis, and runs are at most daily in the common case. */
function shortDate(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(5, 16).replace('T', ' ');
}

function historyChart(journal: Journal): HistoryChart | null {
  const points = historyPoints(journal);
  // A trend needs an earlier point; the first drill's report says so in words instead.
  if (!points || points.length < 2) return null;
  const dataset = (label: string, color: string, dashed: boolean, pick: (entry: HistoryEntry) => number | null): HistoryDataset => ({
    label,
    color,
    dashed,
    values: points.map((entry) => (pick(entry) === null ? null : seconds(pick(entry)!))),
    texts: points.map((entry) => formatMs(pick(entry))),
  });
  return {
    labels: points.map((entry, index) => (index === points.length - 1 ? 'this run' : shortDate(entry.at))),
    passed: points.map((entry) => entry.status === 'passed'),
    datasets: [
      dataset('RTO (service)', PALETTE.blue, false, (entry) => entry.rtoServiceMs),
      dataset('RTO (verified)', PALETTE.purple, true, (entry) => entry.rtoVerifiedMs),
      dataset('data loss', PALETTE.amber, false, (entry) => entry.dataLossMs),
    ],
  };
}

/** A sampled figure's unit and words: `lagBytes` is the lag, in bytes. */
export function sampleSeries(key: string): { label: string; unit: SampleUnit } {
  const match = /^(.*?)(Ms|Bytes)$/.exec(key);
  const name = (match ? match[1]! : key).replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return { label: name, unit: match?.[2] === 'Ms' ? 'ms' : match?.[2] === 'Bytes' ? 'bytes' : 'count' };
}

const SAMPLE_COLORS = [PALETTE.blue, PALETTE.amber, PALETTE.purple, PALETTE.pass];

function samplesChart(journal: Journal): SamplesChart | null {
  const samples = journal.strategySamples ?? [];
  if (samples.length === 0) return null;
  const keys = [...new Set(samples.flatMap((sample) => Object.keys(sample.values)))];
  if (keys.length === 0) return null;
  const datasets = keys.map((key, index) => {
    const { label, unit } = sampleSeries(key);
    return {
      name: label,
      label: `${label} (${unit})`,
      unit,
      color: SAMPLE_COLORS[index % SAMPLE_COLORS.length]!,
      points: downsampleMinMax(samples.map((sample): Point => [seconds(sample.atMs), sample.values[key] ?? null])),
    };
  });
  const chartMarkers = markers(journal).filter((marker) => marker.label === 'fault');
  const xs = [...samples.map((sample) => seconds(sample.atMs)), ...chartMarkers.map((marker) => marker.x)];
  return { xMin: Math.min(...xs), xMax: Math.max(...xs), datasets, markers: chartMarkers };
}

/** The data behind every chart of a drill report. */
export function chartModel(journal: Journal): ChartModel {
  return {
    theme: CHART_THEME,
    timeline: timelineChart(journal),
    phases: phaseChart(journal),
    rpo: rpoChart(journal),
    samples: samplesChart(journal),
    history: historyChart(journal),
  };
}
