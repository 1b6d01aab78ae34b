import type { ConnectionInfo, Engine } from '../engines/engine.js';
import { sleep } from '../util/clock.js';
import type { ReadinessRecord } from './provider.js';

export const READINESS_POLL_MS = 25;

/**
 * Polls until `probe` succeeds. The poll interval is returned with the wait, because it is
 * the resolution of every recovery time measured through it.
 */
export async function waitUntil(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; what: string; failFast?: () => string | undefined; signal?: AbortSignal },
): Promise<ReadinessRecord> {
  const started = performance.now();
  let lastError = '';
  for (;;) {
    const fatal = options.failFast?.();
    if (fatal) throw new Error(`${options.what}: ${fatal}`);
    try {
      if (await probe()) return { waitedMs: performance.now() - started, pollIntervalMs: READINESS_POLL_MS };
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (performance.now() - started > options.timeoutMs) {
      throw new Error(`${options.what}: not ready after ${Math.round(options.timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}`);
    }
    await sleep(READINESS_POLL_MS, options.signal);
  }
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
