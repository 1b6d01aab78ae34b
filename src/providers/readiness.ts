import type { ConnectionInfo, Engine } from '../engines/engine.js';
import { sleep } from '../util/clock.js';
import type { ReadinessRecord } from './provider.js';

export const READINESS_POLL_MS = 25;

/**
 * A readiness wait as a small object, as testcontainers' wait strategies are: what it waits
 * for, how often it looks (the resolution of every time measured through it), how long it
 * gives up after.
 */
export interface WaitStrategy {
  what: string;
  pollIntervalMs: number;
  timeoutMs: number;
  probe(): Promise<boolean>;
  /** Why waiting is pointless, if it is (the server exited). */
  failFast?(): string | undefined | Promise<string | undefined>;
}

/** Polls a wait strategy until its probe succeeds; the wait's length and resolution are returned. */
export async function waitFor(strategy: WaitStrategy, signal?: AbortSignal): Promise<ReadinessRecord> {
  const started = performance.now();
  let lastError = '';
  for (;;) {
    const fatal = await strategy.failFast?.();
    if (fatal) throw new Error(`${strategy.what}: ${fatal}`);
    try {
      if (await strategy.probe()) return { waitedMs: performance.now() - started, pollIntervalMs: strategy.pollIntervalMs };
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (performance.now() - started > strategy.timeoutMs) {
      throw new Error(`${strategy.what}: not ready after ${Math.round(strategy.timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}`);
    }
    await sleep(strategy.pollIntervalMs, signal);
  }
}

/** Polls until `probe` succeeds, at the standard readiness resolution. */
export function waitUntil(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; what: string; failFast?: () => string | undefined | Promise<string | undefined>; signal?: AbortSignal },
): Promise<ReadinessRecord> {
  return waitFor({ what: options.what, timeoutMs: options.timeoutMs, pollIntervalMs: READINESS_POLL_MS, probe, ...(options.failFast ? { failFast: options.failFast } : {}) }, options.signal);
}

/** A connection that succeeds and answers a query. */
export async function canQuery(engine: Engine, connection: ConnectionInfo, sql = 'SELECT 1'): Promise<unknown[]> {
  const session = await engine.connect(connection);
  try {
    return await session.query(sql);
  } finally {
    await session.close();
  }
}

/** A probe that succeeds once the server accepts writes (a restored server has left recovery). */
export function writableProbe(engine: Engine, connection: ConnectionInfo): () => Promise<boolean> {
  return async () => {
    const session = await engine.connect(connection);
    try {
      return await engine.isWritable(session);
    } finally {
      await session.close();
    }
  };
}

/** The last lines of a server log, for error messages. */
export function logTail(text: string, lines = 8): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
