import type { LedgerResult } from '../journal/types.js';

export interface LedgerWrite {
  writer: number;
  seq: number;
  serverTimeUs: number;
}

export interface LedgerInput {
  /** Writes the workload got a commit acknowledgement for. */
  acked: readonly LedgerWrite[];
  /** Writes whose outcome is unknown (timeout, connection cut during commit). */
  indeterminate: ReadonlyArray<{ writer: number; seq: number }>;
  /** Writes that definitely failed (the server answered with an error). */
  failed: number;
  /** Ledger rows the restored database holds. */
  present: readonly LedgerWrite[];
  /** Server time of the fault's point; writes after it were acknowledged after the fault. */
  faultTimeUs: number | null;
  /** When the restore targets a point before the fault, rows after this time should not be there. */
  targetTimeUs: number | null;
}

const key = (write: { writer: number; seq: number }) => `${write.writer}:${write.seq}`;

/** Acknowledged writes the restored ledger does not hold. */
export function missingWrites<W extends { writer: number; seq: number }>(acked: readonly W[], present: ReadonlyArray<{ writer: number; seq: number }>): W[] {
  const held = new Set(present.map(key));
  return acked.filter((write) => !held.has(key(write)));
}

/**
 * RPO from the ledger, Jepsen style: compare every acknowledged write with what the restored
 * database holds. Pure: no I/O.
 */
export function compareLedger(input: LedgerInput): LedgerResult {
  const present = new Map(input.present.map((row) => [key(row), row]));
  const acked = new Set(input.acked.map(key));
  const indeterminate = new Set(input.indeterminate.map(key));
  const isAfterFault = (write: LedgerWrite) => input.faultTimeUs !== null && write.serverTimeUs > input.faultTimeUs;

  const lost = missingWrites(input.acked, input.present);
  const lostToDetection = lost.filter(isAfterFault);
  const recovered = input.indeterminate.filter((write) => present.has(key(write))).length;
  const unexpected = input.present.filter((row) => {
    if (!acked.has(key(row)) && !indeterminate.has(key(row))) return true;
    return input.targetTimeUs !== null && row.serverTimeUs > input.targetTimeUs;
  }).length;

  const beforeFault = input.acked.filter((write) => !isAfterFault(write));
  const lastAckedBeforeFault = maxTime(beforeFault);
  const newestSurviving = maxTime(input.acked.filter((write) => present.has(key(write))));
  let dataLossMs = 0;
  if (lastAckedBeforeFault !== null) {
    // When nothing survived, the loss reaches back to the first acknowledged write. A loop,
    // not Math.min(...): a spread of a million arguments overflows the stack.
    const reference = newestSurviving ?? minTime(beforeFault)!;
    dataLossMs = Math.max(0, (lastAckedBeforeFault - reference) / 1000);
  }

  return {
    acked: input.acked.length,
    indeterminate: input.indeterminate.length,
    failed: input.failed,
    present: input.present.length,
    ackedBeforeFault: beforeFault.length,
    ackedAfterFault: input.acked.length - beforeFault.length,
    lost: lost.length,
    lostBeforeFault: lost.length - lostToDetection.length,
    lostToDetection: lostToDetection.length,
    recovered,
    unexpected,
    dataLossMs,
    lastAckedBeforeFaultUs: lastAckedBeforeFault,
    newestSurvivingUs: newestSurviving,
    lostSample: lost.slice(0, 20).map(({ writer, seq, serverTimeUs }) => ({ writer, seq, serverTimeUs })),
  };
}

function minTime(writes: readonly LedgerWrite[]): number | null {
  let min: number | null = null;
  for (const write of writes) if (min === null || write.serverTimeUs < min) min = write.serverTimeUs;
  return min;
}

function maxTime(writes: readonly LedgerWrite[]): number | null {
  let max: number | null = null;
  for (const write of writes) if (max === null || write.serverTimeUs > max) max = write.serverTimeUs;
  return max;
}
