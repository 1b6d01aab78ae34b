import type { Logger } from 'pino';
import { sleep } from '../util/clock.js';
import { errorMessage } from '../util/errors.js';
import type { StorageLocation } from './storage.js';

/** One object as the copy last saw it, and when it got there. */
interface Copied {
  sizeBytes: number;
  /** Drill clock when the object (at this size) was first seen in the origin, and when the copy had it. */
  seenAtMs: number;
  copiedAtMs: number;
}

/** What an off-site copy achieved: how many objects, how far behind the origin. */
export interface CopyReport {
  from: string;
  to: string;
  everyMs: number;
  objects: number;
  bytes: number;
  /** Upper bound of the delay between an object appearing in the origin and being in the copy: the interval plus the slowest copy. */
  maxLagMs: number | null;
  /** Objects in the origin the copy did not have when copying stopped. */
  behind: string[];
  errors: string[];
}

/**
 * An off-site copy: every `everyMs`, what is new or grown in the origin (backups, archived WAL
 * and binlogs) is copied to the other location, as a scheduled sync job does. What it has not
 * copied when the origin is lost is lost with it: the lag is part of the RPO, and measured.
 */
export class Replicator {
  private readonly copied = new Map<string, Copied>();
  private readonly seen = new Map<string, { sizeBytes: number; atMs: number }>();
  private readonly errors: string[] = [];
  private running = false;
  // Wakes the loop from its wait when copying stops: a long interval must not hold the drill.
  private readonly stopped = new AbortController();
  private loop: Promise<void> | undefined;
  private lastBehind: string[] = [];

  constructor(
    readonly from: StorageLocation,
    readonly to: StorageLocation,
    private readonly everyMs: number,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.sync();
        await sleep(this.everyMs, this.stopped.signal).catch(() => undefined);
      }
    })();
  }

  /**
   * Notes what the origin holds now, without copying: taken as a fault strikes, so what a lost
   * origin held and the copy never got can be named, however long the interval.
   */
  async census(): Promise<void> {
    await this.look().catch((error: unknown) => this.errors.push(errorMessage(error)));
  }

  /** The origin's objects and sizes, each noted with when it was first seen at that size. */
  private async look(): Promise<Array<[string, number]>> {
    const found: Array<[string, number]> = [];
    for (const key of await this.from.list('')) {
      const size = (await this.from.stat(key))?.sizeBytes;
      if (size === undefined) continue;
      const seen = this.seen.get(key);
      if (!seen || seen.sizeBytes !== size) this.seen.set(key, { sizeBytes: size, atMs: this.now() });
      found.push([key, size]);
    }
    return found;
  }

  /** One pass: copy every object whose size differs from the copy's. */
  async sync(): Promise<void> {
    let found: Array<[string, number]>;
    try {
      found = await this.look();
    } catch (error) {
      this.errors.push(errorMessage(error));
      return;
    }
    const behind: string[] = [];
    for (const [key, size] of found) {
      if (this.copied.get(key)?.sizeBytes === size) continue;
      try {
        await this.to.put(key, await this.from.get(key));
        this.copied.set(key, { sizeBytes: size, seenAtMs: this.seen.get(key)!.atMs, copiedAtMs: this.now() });
      } catch (error) {
        // The origin can vanish under a copy (a region loss): what was copied stays copied.
        behind.push(key);
        this.log.warn({ key, err: errorMessage(error) }, 'off-site copy failed');
      }
    }
    this.lastBehind = behind;
  }

  /** Stops copying; with `final`, one last pass first (the origin is still there). */
  async stop(final: boolean): Promise<CopyReport> {
    this.running = false;
    this.stopped.abort();
    await this.loop;
    if (final) await this.sync();
    let behind = this.lastBehind;
    if (!final) {
      // What the origin holds that the copy does not have: lost if the origin is.
      behind = [...this.seen.entries()].filter(([key, seen]) => this.copied.get(key)?.sizeBytes !== seen.sizeBytes).map(([key]) => key);
    }
    const lags = [...this.copied.values()].map((entry) => entry.copiedAtMs - entry.seenAtMs);
    return {
      from: this.from.name,
      to: this.to.name,
      everyMs: this.everyMs,
      objects: this.copied.size,
      bytes: [...this.copied.values()].reduce((sum, entry) => sum + entry.sizeBytes, 0),
      // An object appears at some moment between two passes: the interval bounds that part of its lag.
      maxLagMs: lags.length > 0 ? this.everyMs + Math.max(...lags) : null,
      behind,
      errors: this.errors,
    };
  }
}
