/** A write the workload got a commit acknowledgement for. */
export interface AckedWrite {
  writer: number;
  seq: number;
  /** Id of the business row it created, if any. */
  ref: number | null;
  /** Server clock when the ledger row was written, µs since the epoch. */
  serverTimeUs: number;
  /** Drill clock when the acknowledgement arrived. */
  ackedAtMs: number;
}

/** A write whose outcome is unknown: the connection was cut or timed out before the answer. */
export interface IndeterminateWrite {
  writer: number;
  seq: number;
  ref: number | null;
  sentAtMs: number;
  error: string;
}

/**
 * The canary, kept client-side: every acknowledged write, every write whose outcome is unknown.
 * After the restore it is compared with the ledger table the database holds (measure/ledger.ts).
 */
export class Ledger {
  readonly acked: AckedWrite[] = [];
  readonly indeterminate: IndeterminateWrite[] = [];
  failed = 0;

  /** Ids of the business rows created by the given writes. */
  static refsOf(writes: ReadonlyArray<{ ref: number | null }>): Set<number> {
    return new Set(writes.flatMap((write) => (write.ref === null ? [] : [write.ref])));
  }
}
