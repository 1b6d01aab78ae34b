import type { StartedInstance } from '../providers/provider.js';
import type { ConnectionInfo, Engine, SqlSession } from './engine.js';

/** Runs `fn` on a new session to `connection`, closed afterwards whatever `fn` does. */
export async function withConnection<T>(engine: Engine, connection: ConnectionInfo, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  const session = await engine.connect(connection);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** Runs `fn` on a new session to an instance (its own connection, as the instance gives it), closed afterwards. */
export function onInstance<T>(engine: Engine, instance: StartedInstance, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  return withConnection(engine, instance.connection, fn);
}
