import type { Logger } from 'pino';
import type { ConnectionInfo, Engine, SqlSession } from '../engines/engine.js';
import type { SeriesPoint } from '../journal/types.js';
import { seededRandom, type Dataset } from '../datasets/dataset.js';
import { sleep } from '../util/clock.js';
import { Ledger } from './ledger.js';

export interface WorkloadOptions {
  engine: Engine;
  connection: ConnectionInfo;
  dataset: Dataset;
  writers: number;
  /** Total target rate in writes/s; null runs every writer as fast as it can. */
  rate: number | null;
  seed: number;
  /** The drill clock. */
  now: () => number;
  log: Logger;
  /** A query slower than this is abandoned and its write counted as indeterminate. */
  queryTimeoutMs?: number;
}

/** SQLSTATE classes that mean the connection, not the statement, failed: the outcome is unknown. */
const CONNECTION_LOST = /^(08|57P0[1-3])/;

/**
 * N writers on their own connections at a target total rate. Every transaction writes a ledger
 * row plus the dataset's business rows; acknowledgements go to the ledger with the server's time.
 */
export class Workload {
  readonly ledger = new Ledger();
  private readonly latencies = new Map<number, number[]>();
  private readonly counters = new Map<number, { acked: number; failed: number; indeterminate: number }>();
  /** Each writer's next sequence number: writes after a resume never reuse an id of the writes before. */
  private readonly nextSeq = new Map<number, number>();
  private running = false;
  private loops: Promise<void>[] = [];
  private connection: ConnectionInfo;
  startedAtMs: number | undefined;
  /** When the workload stopped at detection (the first stop). */
  stoppedAtMs: number | undefined;
  /**
   * The writes after `resume`, against the restored database. They are not in the ledger: the
   * restore was judged before they began, and they must not count as acknowledged writes of it.
   */
  resumed: { startMs: number; endMs?: number; acked: number; failed: number; indeterminate: number; firstAckMs?: number } | undefined;
  /** Each writer's first sequence number after the resume: a ledger row at or past it was written after the restore. */
  private resumedFrom: Map<number, number> | undefined;
  /** Woken at the first write the resumed workload gets acknowledged. */
  private onFirstResumedAck: (() => void) | undefined;

  constructor(private readonly options: WorkloadOptions) {
    this.connection = options.connection;
  }

  /** Opens every writer's connection, then starts them together. */
  async start(): Promise<void> {
    const sessions = await Promise.all(Array.from({ length: this.options.writers }, () => this.connect()));
    this.running = true;
    this.startedAtMs = this.options.now();
    this.loops = sessions.map((session, index) => this.writerLoop(index + 1, session));
  }

  /**
   * The application reconnecting once service is back: every writer writes again, to
   * `connection`, at the same rate, until the next `stop`. A writer whose connection fails
   * keeps trying, as an application's pool would.
   */
  async resume(connection: ConnectionInfo): Promise<void> {
    if (this.running) throw new Error('the workload is still writing: stop it before it resumes');
    this.connection = connection;
    this.resumedFrom = new Map(Array.from({ length: this.options.writers }, (_, index) => [index + 1, this.nextSeq.get(index + 1) ?? 1]));
    this.resumed = { startMs: this.options.now(), acked: 0, failed: 0, indeterminate: 0 };
    this.running = true;
    this.loops = Array.from({ length: this.options.writers }, (_, index) => this.writerLoop(index + 1, undefined));
  }

  /** Whether a ledger row was written after the resume (to the restored database): no part of what the restore brought back. */
  resumedWrite(row: { writer: number; seq: number }): boolean {
    const from = this.resumedFrom?.get(row.writer);
    return from !== undefined && row.seq >= from;
  }

  /** When the resumed workload's first write was acknowledged (drill ms), or undefined if none was within `timeoutMs`. */
  async firstResumedAck(timeoutMs: number, signal?: AbortSignal): Promise<number | undefined> {
    const resumed = this.resumed;
    if (!resumed) throw new Error('the workload has not resumed');
    if (resumed.firstAckMs === undefined) {
      // The wait ends at the first acknowledgement, and its timer with it: none is left to hold the process.
      const waited = new AbortController();
      const acked = new Promise<void>((resolve) => (this.onFirstResumedAck = resolve)).then(() => waited.abort());
      await Promise.race([acked, sleep(timeoutMs, signal ? AbortSignal.any([signal, waited.signal]) : waited.signal).catch(() => signal?.throwIfAborted())]);
      this.onFirstResumedAck = undefined;
    }
    return resumed.firstAckMs;
  }

  /** Stops issuing writes, waits for the ones in flight, and closes the connections. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await Promise.all(this.loops);
    if (this.resumed) this.resumed.endMs = this.options.now();
    else this.stoppedAtMs = this.options.now();
  }

  private connect(): Promise<SqlSession> {
    return this.options.engine.connect(this.connection, { queryTimeoutMs: this.options.queryTimeoutMs ?? 10_000 });
  }

  private async writerLoop(writer: number, first: SqlSession | undefined): Promise<void> {
    const { engine, dataset, rate, now } = this.options;
    const resumed = this.resumed;
    const random = seededRandom(this.options.seed * 1000 + writer + (resumed ? 500 : 0));
    const intervalMs = rate ? (1000 * this.options.writers) / rate : 0;
    let session: SqlSession | undefined = first;
    let next = now();
    for (let seq = this.nextSeq.get(writer) ?? 1; this.running; seq++) {
      this.nextSeq.set(writer, seq + 1);
      if (intervalMs > 0) {
        next += intervalMs;
        const wait = next - now();
        // Behind schedule (a stall): skip the missed slots instead of bursting to catch up.
        if (wait > 0) await sleep(wait);
        else next = now();
        if (!this.running) break;
      }
      if (!session) {
        session = await this.connect().catch(() => undefined);
        if (!session) {
          await sleep(100);
          continue;
        }
      }
      const write = dataset.write(writer, seq, random);
      const sentAt = now();
      try {
        const serverTimeUs = await engine.writeTransaction(session, writer, seq, write.ref, write.statements);
        const ackedAt = now();
        if (resumed) {
          resumed.acked++;
          if (resumed.firstAckMs === undefined) {
            resumed.firstAckMs = ackedAt;
            this.onFirstResumedAck?.();
          }
        } else {
          this.ledger.acked.push({ writer, seq, ref: write.ref, serverTimeUs, ackedAtMs: ackedAt });
        }
        this.record(ackedAt, 'acked', ackedAt - sentAt);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (typeof code === 'string' && !CONNECTION_LOST.test(code)) {
          // The server answered with an error: the transaction did not commit.
          if (resumed) resumed.failed++;
          else this.ledger.failed++;
          this.record(now(), 'failed');
          await engine.recover(session);
        } else {
          // Connection cut or timed out mid-transaction: it may or may not have committed.
          if (resumed) resumed.indeterminate++;
          else this.ledger.indeterminate.push({ writer, seq, ref: write.ref, sentAtMs: sentAt, error: (error as Error).message });
          this.record(now(), 'indeterminate');
          await session.close();
          session = undefined;
        }
      }
    }
    await session?.close();
  }

  private record(atMs: number, outcome: 'acked' | 'failed' | 'indeterminate', latencyMs?: number): void {
    const second = Math.floor((atMs - (this.startedAtMs ?? 0)) / 1000);
    const counter = this.counters.get(second) ?? { acked: 0, failed: 0, indeterminate: 0 };
    counter[outcome]++;
    this.counters.set(second, counter);
    if (latencyMs !== undefined) {
      const list = this.latencies.get(second) ?? [];
      list.push(latencyMs);
      this.latencies.set(second, list);
    }
  }

  /**
   * A percentile of the latencies of every write acknowledged in the seconds from `fromMs` to
   * `toMs` (drill times; whole seconds, as the series): a window's figure from the writes
   * themselves, not a percentile of per-second percentiles.
   */
  latencyPercentile(fromMs: number, toMs: number, p: number): number | null {
    const origin = this.startedAtMs ?? 0;
    const from = Math.floor((fromMs - origin) / 1000);
    const to = Math.ceil((toMs - origin) / 1000);
    const window = [...this.latencies].filter(([second]) => second >= from && second < to).flatMap(([, list]) => list);
    return percentile(window.sort((a, b) => a - b), p);
  }

  /** Throughput and latency per second, from the workload's start to its stop. */
  series(): SeriesPoint[] {
    const end = Math.floor(((this.resumed ? (this.resumed.endMs ?? this.options.now()) : (this.stoppedAtMs ?? this.options.now())) - (this.startedAtMs ?? 0)) / 1000);
    const points: SeriesPoint[] = [];
    for (let t = 0; t <= end; t++) {
      const counter = this.counters.get(t) ?? { acked: 0, failed: 0, indeterminate: 0 };
      const latencies = (this.latencies.get(t) ?? []).sort((a, b) => a - b);
      points.push({
        t,
        ...counter,
        latencyP50Ms: percentile(latencies, 0.5),
        latencyP95Ms: percentile(latencies, 0.95),
        latencyP99Ms: percentile(latencies, 0.99),
        latencyMaxMs: latencies.length > 0 ? round(latencies[latencies.length - 1]!) : null,
      });
    }
    return points;
  }
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
