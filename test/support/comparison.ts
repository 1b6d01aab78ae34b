import { readFileSync } from 'node:fs';
import type { Journal } from '../../src/journal/types.js';

/** A journal fixture (test/fixtures/journals/NAME.json), parsed afresh so callers may change it. */
export const loadFixture = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

/** The scenario every fixture comparison compares strategies on. */
export const COMPARED_SCENARIO = 'orders-bad-delete';

interface Figures {
  rtoServiceMs: number;
  rtoVerifiedMs: number | null;
  dataLossMs: number;
  lostWrites: number;
  lostBeforeFault: number;
  backupMs: number;
  sizeBytes: number;
  /** Detection → service restored. */
  restoreMs: number;
  throughputDuring: number;
  /** p95 write latency during the backup (ms), against 4 ms before it. */
  latencyDuring: number;
}

/** One entry's figures in its first run; later runs scale times by `1 + jitter * (run - 1)`. */
const ENTRIES: ReadonlyArray<{ label: string; strategy: string; fixture: 'passed' | 'breached'; figures: Figures; jitter: number }> = [
  {
    label: 'pg-basebackup-wal',
    strategy: 'pg-basebackup-wal',
    fixture: 'passed',
    figures: { rtoServiceMs: 11_090, rtoVerifiedMs: 12_570, dataLossMs: 0, lostWrites: 1005, lostBeforeFault: 0, backupMs: 7370, sizeBytes: 52_428_800, restoreMs: 6090, throughputDuring: 178.3, latencyDuring: 6.2 },
    jitter: 0.06,
  },
  {
    label: 'pg-basebackup',
    strategy: 'pg-basebackup',
    fixture: 'breached',
    figures: { rtoServiceMs: 23_840, rtoVerifiedMs: 26_100, dataLossMs: 21_367, lostWrites: 4271, lostBeforeFault: 4271, backupMs: 6300, sizeBytes: 49_283_072, restoreMs: 21_840, throughputDuring: 177.9, latencyDuring: 5.1 },
    jitter: 0.1,
  },
  {
    label: 'pg-dump (jobs=4)',
    strategy: 'pg-dump',
    fixture: 'breached',
    // Fastest back and smallest, but it loses everything after the dump; its RTO (verified) is
    // missing in the second run (a check failed), so it cannot win that column.
    figures: { rtoServiceMs: 8200, rtoVerifiedMs: 9100, dataLossMs: 14_020, lostWrites: 2890, lostBeforeFault: 2890, backupMs: 2100, sizeBytes: 9_961_472, restoreMs: 3200, throughputDuring: 190.2, latencyDuring: 9.8 },
    jitter: 0.04,
  },
];

function drill(entry: (typeof ENTRIES)[number], index: number, run: number, repetitions: number): Journal {
  const journal = loadFixture(entry.fixture);
  const scale = 1 + entry.jitter * (run - 1);
  const f = entry.figures;
  const rtoVerifiedMs = f.rtoVerifiedMs === null || (entry.strategy === 'pg-dump' && run === 2) ? null : Math.round(f.rtoVerifiedMs * scale);
  const detected = journal.events.find((event) => event.name === 'detected')!.atMs;
  journal.runId = 'run-compare';
  journal.drillId = `${COMPARED_SCENARIO}--${entry.label.replace(/[^\w.-]+/g, '-').replace(/-+$/, '')}${repetitions > 1 ? `--r${run}` : ''}`;
  journal.scenario = { ...journal.scenario, name: COMPARED_SCENARIO, description: 'DELETE without WHERE on orders at peak; the same drill for each strategy.' };
  journal.strategy = entry.strategy;
  journal.status = rtoVerifiedMs === null || f.dataLossMs > 1000 ? 'failed' : 'passed';
  journal.comparison = { label: entry.label, index, repetition: run, repetitions };
  journal.measurements = {
    ...journal.measurements,
    rtoServiceMs: Math.round(f.rtoServiceMs * scale),
    rtoVerifiedMs,
    dataLossMs: Math.round(f.dataLossMs * scale),
    lostWrites: Math.round(f.lostWrites * scale),
  };
  journal.ledger = { ...journal.ledger!, lost: Math.round(f.lostWrites * scale), lostBeforeFault: Math.round(f.lostBeforeFault * scale) };
  journal.backup = { ...journal.backup!, durationMs: Math.round(f.backupMs * scale), sizeBytes: f.sizeBytes + run * 4096, throughputBefore: 200, throughputDuring: f.throughputDuring, latencyP95Before: 4, latencyP95During: f.latencyDuring };
  // As fast as it can: the throughput column counts only for an unpaced workload.
  journal.workload = { ...journal.workload, targetRate: null };
  journal.backups = [journal.backup];
  journal.events = journal.events.map((event) => (event.name === 'service-restored' ? { ...event, atMs: detected + Math.round(f.restoreMs * scale) } : event));
  return journal;
}

/**
 * The journals of a comparison of three entries — pg-basebackup-wal, pg-basebackup and
 * `pg-dump (jobs=4)` — over `repetitions` runs, built from the passed and breached fixtures
 * with figures chosen so each column has a known winner. Ordered as a run makes them: round
 * by round.
 */
export function comparisonJournals(repetitions = 3): Journal[] {
  const journals: Journal[] = [];
  for (let run = 1; run <= repetitions; run++) ENTRIES.forEach((entry, index) => journals.push(drill(entry, index, run, repetitions)));
  return journals;
}
