import type { StartedInstance } from '../providers/provider.js';
import type { Engine, SqlSession } from './engine.js';

/** Runs `fn` on a new session to an instance (its own connection, as the instance gives it), closed afterwards. */
export async function onInstance<T>(engine: Engine, instance: StartedInstance, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  const session = await engine.connect(instance.connection);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
