/**
 * The drill's clock: milliseconds on the monotonic clock since the drill started.
 * Wall time is recorded once at the start so journals can show dates, but every
 * interval is a difference of monotonic readings (host wall time can jump).
 */
export class DrillClock {
  readonly startedAtWall = new Date();
  private readonly origin = process.hrtime.bigint();

  /** Milliseconds since the drill started, with microsecond resolution. */
  now(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e6;
  }

  /** Wall-clock ISO time of a reading, for display only. */
  wall(ms: number): string {
    return new Date(this.startedAtWall.getTime() + ms).toISOString();
  }
}

/** Resolves after `ms`, or rejects early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
