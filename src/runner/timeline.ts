import type { Logger } from 'pino';
import type { EventRecord, PhaseRecord } from '../journal/types.js';
import type { DrillClock } from '../util/clock.js';
import type { CommandRunner } from '../util/exec.js';

/** How far a running phase has come, for a display: its time so far, and bytes with their rate where a probe reads them. */
export interface PhaseProgress {
  elapsedMs: number;
  expectedMs?: number;
  doneBytes?: number;
  totalBytes?: number;
  bytesPerSecond?: number;
}

export type PhaseListener = (event: { type: 'start' | 'end' | 'fail' | 'progress'; phase: string; durationMs?: number; detail?: string; progress?: PhaseProgress }) => void;

/** How far a long phase has come: bytes so far, and the bytes it is expected to reach when known. */
export interface ProgressReading {
  doneBytes: number;
  totalBytes?: number;
}

export interface PhaseOptions {
  /** Firedrill's own work inside the recovery window, taken out of the RTO. */
  notCounted?: boolean;
  /** How long the phase will take, when known (a wait): progress counts down to it. */
  expectedMs?: number;
  /** Reads how far the phase has come (bytes written into a data directory). */
  probe?: () => Promise<ProgressReading | undefined>;
}

/** A phase shorter than this never reports progress: short drills, as in tests, run no probe at all. */
const PROGRESS_AFTER_MS = 2_000;
const PROGRESS_EVERY_MS = 2_000;

/** The drill's phases and events on the monotonic clock; commands are tagged with the phase they ran in. */
export class Timeline {
  readonly phases: PhaseRecord[] = [];
  readonly events: EventRecord[] = [];
  /** The innermost phase that failed first: where an error belongs. */
  failedPhase: string | undefined;
  private readonly running: string[] = [];

  constructor(
    private readonly clock: DrillClock,
    private readonly exec: CommandRunner,
    private readonly log: Logger,
    private readonly listener?: PhaseListener,
    /** Called after every phase that ends (the journal is checkpointed: a killed run leaves where it was). */
    private readonly afterPhase?: () => Promise<void>,
  ) {}

  /** The innermost phase running now, if any. */
  get current(): string | undefined {
    return this.running[this.running.length - 1];
  }

  /**
   * Runs `fn` as a timed phase. `notCounted`: firedrill's own work inside the recovery window
   * (breaking the backups for a latent fault, recording the archive, a test's hook), which is
   * no part of the recovery and is taken out of the RTO.
   */
  async phase<T>(name: string, fn: () => Promise<T>, detail?: string, options: PhaseOptions = {}): Promise<T> {
    const own = options.notCounted ? { notCounted: true as const } : {};
    const previous = this.exec.phase;
    this.exec.phase = name;
    this.running.push(name);
    const startMs = this.clock.now();
    this.listener?.({ type: 'start', phase: name, detail });
    this.log.info({ phase: name, ...(detail ? { detail } : {}) }, 'phase start');
    const stopProgress = this.reportProgress(name, startMs, options);
    try {
      const result = await fn();
      const endMs = this.clock.now();
      this.phases.push({ name, startMs, endMs, durationMs: endMs - startMs, ok: true, ...(detail ? { detail } : {}), ...own });
      this.listener?.({ type: 'end', phase: name, durationMs: endMs - startMs, detail });
      this.log.info({ phase: name, durationMs: endMs - startMs }, 'phase end');
      return result;
    } catch (error) {
      this.failedPhase ??= name;
      const endMs = this.clock.now();
      this.phases.push({ name, startMs, endMs, durationMs: endMs - startMs, ok: false, detail: (error as Error).message.split('\n')[0], ...own });
      this.listener?.({ type: 'fail', phase: name, durationMs: endMs - startMs, detail: (error as Error).message.split('\n')[0] });
      this.log.error({ phase: name, durationMs: endMs - startMs, err: (error as Error).message }, 'phase failed');
      throw error;
    } finally {
      stopProgress();
      this.exec.phase = previous;
      this.running.splice(this.running.lastIndexOf(name), 1);
      await this.afterPhase?.();
    }
  }

  /**
   * While a long phase runs, tells the listener how far it has come every few seconds: bytes
   * and an ETA from the probe, or the time left of a wait. A probe that fails is ignored (it is
   * only a progress display); one still running is not started again.
   */
  private reportProgress(name: string, startMs: number, options: PhaseOptions): () => void {
    if (!this.listener || (options.expectedMs === undefined && !options.probe)) return () => undefined;
    let first: { atMs: number; doneBytes: number } | undefined;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const reading = options.probe ? await options.probe().catch(() => undefined) : undefined;
        const elapsedMs = this.clock.now() - startMs;
        if (reading) first ??= { atMs: elapsedMs, doneBytes: reading.doneBytes };
        const bytesPerSecond = reading && first && elapsedMs > first.atMs ? ((reading.doneBytes - first.doneBytes) / (elapsedMs - first.atMs)) * 1000 : undefined;
        const progress: PhaseProgress = {
          elapsedMs,
          ...(options.expectedMs !== undefined ? { expectedMs: options.expectedMs } : {}),
          ...(reading ? { doneBytes: reading.doneBytes, ...(reading.totalBytes ? { totalBytes: reading.totalBytes } : {}) } : {}),
          ...(bytesPerSecond !== undefined ? { bytesPerSecond } : {}),
        };
        this.listener?.({ type: 'progress', phase: name, progress });
      } finally {
        busy = false;
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const delay = setTimeout(() => {
      void tick();
      timer = setInterval(() => void tick(), PROGRESS_EVERY_MS);
      timer.unref();
    }, PROGRESS_AFTER_MS);
    delay.unref();
    return () => {
      clearTimeout(delay);
      if (timer) clearInterval(timer);
    };
  }

  /** Records an event now, or at `atMs` when it happened earlier than it is known (the first write a restored database acknowledged). */
  event(name: string, detail?: string, at?: number): number {
    const atMs = at ?? this.clock.now();
    this.events.push({ name, atMs, ...(detail ? { detail } : {}) });
    this.log.info({ event: name, atMs, ...(detail ? { detail } : {}) }, 'event');
    return atMs;
  }

  eventAt(name: string): number | null {
    return this.events.find((event) => event.name === name)?.atMs ?? null;
  }
}
