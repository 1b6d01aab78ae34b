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

  constructor(
    private readonly clock: DrillClock,
    private readonly exec: CommandRunner,
    private readonly listener?: PhaseListener,
  ) {}

  async phase<T>(name: string, fn: () => Promise<T>, detail?: string): Promise<T> {
    const previous = this.exec.phase;
    this.exec.phase = name;
    const startMs = this.clock.now();
    this.listener?.({ type: 'start', phase: name, detail });
    try {
      const result = await fn();
      const endMs = this.clock.now();
      this.phases.push({ name, startMs, endMs, durationMs: endMs - startMs, ok: true, ...(detail ? { detail } : {}) });
      this.listener?.({ type: 'end', phase: name, durationMs: endMs - startMs, detail });
      return result;
    } catch (error) {
      this.failedPhase ??= name;
      const endMs = this.clock.now();
      this.phases.push({ name, startMs, endMs, durationMs: endMs - startMs, ok: false, detail: (error as Error).message.split('\n')[0] });
      this.listener?.({ type: 'fail', phase: name, durationMs: endMs - startMs, detail: (error as Error).message.split('\n')[0] });
      throw error;
    } finally {
      this.exec.phase = previous;
    }
  }

  event(name: string, detail?: string): number {
    const atMs = this.clock.now();
    this.events.push({ name, atMs, ...(detail ? { detail } : {}) });
    return atMs;
  }

  eventAt(name: string): number | null {
    return this.events.find((event) => event.name === name)?.atMs ?? null;
  }
}
