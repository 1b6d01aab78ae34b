import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consolePhaseListener, progressText } from '../../src/report/console.js';
import { Timeline, type PhaseListener } from '../../src/runner/timeline.js';
import type { DrillClock } from '../../src/util/clock.js';
import { CommandRunner } from '../../src/util/exec.js';

/** A timeline on the fake timers' clock, its listener's progress events collected. */
function timeline(listener: PhaseListener): Timeline {
  const origin = Date.now();
  const clock = { now: () => Date.now() - origin } as DrillClock;
  return new Timeline(clock, new CommandRunner({ now: () => clock.now() }), pino({ level: 'silent' }), listener);
}

const MiB = 1024 * 1024;

describe('progress of long phases', () => {
  afterEach(() => vi.useRealTimers());

  it('says bytes against the total, the rate and the time left; a wait counts down', () => {
    expect(progressText({ elapsedMs: 10_000, doneBytes: 400 * MiB, totalBytes: 1200 * MiB, bytesPerSecond: 40 * MiB })).toBe('400.0 MiB of ~1.2 GiB (33 %), 40.0 MiB/s, ~20.00 s left');
    expect(progressText({ elapsedMs: 10_000, doneBytes: 5 * MiB })).toBe('5.0 MiB');
    expect(progressText({ elapsedMs: 60_000, expectedMs: 600_000 })).toBe('1 min 00 s of 10 min 00 s, 9 min 00 s left');
  });

  it('reads the probe every two seconds of a long phase, with the rate between readings; a short phase is never probed', async () => {
    vi.useFakeTimers();
    const events: Array<Parameters<PhaseListener>[0]> = [];
    const line = timeline((event) => events.push(event));
    let bytes = 0;
    let reads = 0;
    const probe = async () => {
      reads++;
      bytes += 20 * MiB;
      return { doneBytes: bytes, totalBytes: 200 * MiB };
    };
    const short = line.phase('fetch', () => new Promise<void>((resolve) => setTimeout(resolve, 1_500)), undefined, { probe });
    await vi.advanceTimersByTimeAsync(1_500);
    await short;
    expect(reads).toBe(0);

    const long = line.phase('restore', () => new Promise<void>((resolve) => setTimeout(resolve, 7_000)), undefined, { probe });
    await vi.advanceTimersByTimeAsync(7_000);
    await long;
    const progress = events.filter((event) => event.type === 'progress').map((event) => event.progress!);
    expect(progress.map((p) => p.elapsedMs)).toEqual([2_000, 4_000, 6_000]);
    expect(progress.map((p) => p.doneBytes)).toEqual([20 * MiB, 40 * MiB, 60 * MiB]);
    expect(progress[2]!.bytesPerSecond).toBeCloseTo(10 * MiB, 6);
    // Nothing is read once the phase has ended.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reads).toBe(3);
  });

  it('off a terminal, prints a progress line every 30 s of a phase, not every reading', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const listener = consolePhaseListener(stream);
    listener({ type: 'start', phase: 'detect' });
    for (let elapsedMs = 2_000; elapsedMs <= 64_000; elapsedMs += 2_000) listener({ type: 'progress', phase: 'detect', progress: { elapsedMs, expectedMs: 600_000 } });
    listener({ type: 'end', phase: 'detect', durationMs: 64_000 });
    expect(written).toEqual(['    … detect 30.00 s  — 30.00 s of 10 min 00 s, 9 min 30 s left\n', '    … detect 1 min 00 s  — 1 min 00 s of 10 min 00 s, 9 min 00 s left\n', '  ✓ detect     1 min 04 s\n']);
  });
});
