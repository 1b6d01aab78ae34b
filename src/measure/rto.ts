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

/** Mean throughput (acked writes/s) over [fromMs, toMs) of a per-second series whose t=0 is at originMs. */
export function throughputBetween(series: ReadonlyArray<{ t: number; acked: number }>, originMs: number, fromMs: number, toMs: number): number | null {
  const from = (fromMs - originMs) / 1000;
  const to = (toMs - originMs) / 1000;
  const buckets = series.filter((point) => point.t >= Math.floor(from) && point.t < Math.ceil(to));
  if (buckets.length === 0) return null;
  return buckets.reduce((sum, point) => sum + point.acked, 0) / buckets.length;
}
