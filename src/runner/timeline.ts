import type { Logger } from 'pino';
import type { EventRecord, PhaseRecord } from '../journal/types.js';
import type { DrillClock } from '../util/clock.js';
import type { CommandRunner } from '../util/exec.js';

export type PhaseListener = (event: { type: 'start' | 'end' | 'fail'; phase: string; durationMs?: number; detail?: string }) => void;

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
  async phase<T>(name: string, fn: () => Promise<T>, detail?: string, options: { notCounted?: boolean } = {}): Promise<T> {
    const own = options.notCounted ? { notCounted: true as const } : {};
    const previous = this.exec.phase;
    this.exec.phase = name;
    this.running.push(name);
    const startMs = this.clock.now();
    this.listener?.({ type: 'start', phase: name, detail });
    this.log.info({ phase: name, ...(detail ? { detail } : {}) }, 'phase start');
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
      this.exec.phase = previous;
      this.running.splice(this.running.lastIndexOf(name), 1);
      await this.afterPhase?.();
    }
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
