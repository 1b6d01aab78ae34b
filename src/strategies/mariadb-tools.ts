import type { SqlSession } from '../engines/engine.js';
import type { StartedInstance } from '../providers/provider.js';
import type { StrategyContext } from './strategy.js';

/**
 * Source settings for every MariaDB strategy: the binary log on, ROW events (a replay writes
 * exactly the rows the source wrote, NOW() and all) and a server id (GTIDs are on whenever the
 * binlog is). Even the dump strategies want it: the dump records the coordinates it is consistent with.
 */
export const BINLOG_SETTINGS: Record<string, string> = { 'log-bin': 'binlog', 'binlog-format': 'ROW', 'server-id': '1' };

/** Runs `fn` on a new session to the drill's database on an instance. */
export async function withSession<T>(context: Pick<StrategyContext, 'engine'>, instance: StartedInstance, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  const session = await context.engine.connect({ ...instance.connection, database: context.engine.databaseName });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
