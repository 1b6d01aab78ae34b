import type { PhaseRecord } from '../journal/types.js';

export interface RtoInput {
  faultAtMs: number | null;
  serviceRestoredAtMs: number | null;
  verifiedAtMs: number | null;
  phases: readonly PhaseRecord[];
}

export interface RtoResult {
  rtoServiceMs: number | null;
  rtoVerifiedMs: number | null;
  breakdown: Record<string, number>;
}

/**
 * RTO from the timeline: fault → service restored, fault → verified, and where the time went:
 * every phase between the fault and the end of verification (detect, archive, fetch, restore,
 * start, replay, service, verify — whatever the strategy ran). firedrill's own phases in that
 * window (`notCounted`: injecting a latent fault, recording the archive) are taken out of both
 * figures and the breakdown: a real recovery would not have spent that time.
 */
export function measureRto(input: RtoInput): RtoResult {
  const { faultAtMs } = input;
  const within = (phase: PhaseRecord, end: number) => faultAtMs !== null && phase.startMs >= faultAtMs && phase.endMs <= end;
  const notCountedUntil = (end: number) => input.phases.filter((phase) => phase.notCounted && within(phase, end)).reduce((sum, phase) => sum + phase.durationMs, 0);
  const since = (at: number | null) => (faultAtMs === null || at === null ? null : at - faultAtMs - notCountedUntil(at));
  const breakdown: Record<string, number> = {};
  const end = input.verifiedAtMs ?? input.serviceRestoredAtMs ?? Infinity;
  for (const phase of input.phases) {
    if (!phase.notCounted && within(phase, end)) breakdown[phase.name] = (breakdown[phase.name] ?? 0) + phase.durationMs;
  }
  return { rtoServiceMs: since(input.serviceRestoredAtMs), rtoVerifiedMs: since(input.verifiedAtMs), breakdown };
}

/**
 * Mean throughput (acked writes/s) over [fromMs, toMs) of a per-second series whose t=0 is at
 * originMs. A bucket the interval cuts counts for the part of its second inside it, its writes
 * taken as spread evenly: a fault 10 ms into a second that stalls the writers must not make the
 * load before it look a third lower, as a whole empty bucket would.
 */
export function throughputBetween(series: ReadonlyArray<{ t: number; acked: number }>, originMs: number, fromMs: number, toMs: number): number | null {
  const from = (fromMs - originMs) / 1000;
  const to = (toMs - originMs) / 1000;
  let writes = 0;
  let seconds = 0;
  for (const point of series) {
    const inside = Math.min(to, point.t + 1) - Math.max(from, point.t);
    if (inside <= 0) continue;
    writes += point.acked * inside;
    seconds += inside;
  }
  return seconds > 0 ? writes / seconds : null;
}

/**
 * The median of the whole seconds of a per-second series inside [fromMs, toMs): the rate the
 * writers kept in a typical second. A backup that holds commits back for a second (a
 * mariadb-backup's commit lock) or the drill's own pause before a fault lowers the mean but not
 * this: whether the machine could write at the rate asked is judged on it. Null with no whole
 * second inside.
 */
export function typicalThroughput(series: ReadonlyArray<{ t: number; acked: number }>, originMs: number, fromMs: number, toMs: number): number | null {
  const from = (fromMs - originMs) / 1000;
  const to = (toMs - originMs) / 1000;
  const seconds = series.filter((point) => point.t >= from && point.t + 1 <= to).map((point) => point.acked).sort((a, b) => a - b);
  if (seconds.length === 0) return null;
  const middle = Math.floor(seconds.length / 2);
  return seconds.length % 2 === 1 ? seconds[middle]! : (seconds[middle - 1]! + seconds[middle]!) / 2;
}

/** The phases that write a backup's data back (copy it over, unpack or load it): what a restore's write rate is measured over. */
const DATA_PHASES = ['fetch', 'restore'];

/**
 * A restore's write rate: the data brought back ÷ the time of its fetch and restore phases,
 * and its share of the disk's own sequential rate with fsync (`efficiency`, null uncalibrated).
 * Undefined when the drill restored nothing or did not measure the data.
 */
export function restoreThroughput(breakdown: Readonly<Record<string, number>>, dataBytes: number | undefined, diskBytesPerSecond: number | undefined): { bytes: number; ms: number; bytesPerSecond: number; efficiency: number | null } | undefined {
  const ms = DATA_PHASES.reduce((sum, phase) => sum + (breakdown[phase] ?? 0), 0);
  if (!dataBytes || ms <= 0) return undefined;
  const bytesPerSecond = Math.round(dataBytes / (ms / 1000));
  return { bytes: dataBytes, ms, bytesPerSecond, efficiency: diskBytesPerSecond ? bytesPerSecond / diskBytesPerSecond : null };
}

/**
 * The server's log replay rate in this restore: the WAL or binlog recovery replayed, from the
 * backup's start to where it stopped, ÷ the replay phase. Replay is one thread on the server, so
 * this, not the disk, is what a restore of much log is bound by. An upper bound: a server may
 * replay part of the log while it starts (PostgreSQL replays up to consistency before it opens),
 * outside the replay phase.
 */
export function replayThroughput(breakdown: Readonly<Record<string, number>>, logBytes: number | null | undefined): { bytes: number; ms: number; bytesPerSecond: number } | undefined {
  const ms = breakdown.replay ?? 0;
  if (!logBytes || ms <= 0) return undefined;
  return { bytes: logBytes, ms, bytesPerSecond: Math.round(logBytes / (ms / 1000)) };
}
