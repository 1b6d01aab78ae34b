import type { StrategyContext } from './strategy.js';

/** Can firedrill still talk to the source? A fault may have killed it or taken its disk. */
export async function sourceAnswers(context: Pick<StrategyContext, 'source' | 'engine'>): Promise<boolean> {
  if (!(await context.source.isRunning())) return false;
  try {
    const session = await context.engine.connect(context.source.connection);
    await session.query('SELECT 1').finally(() => session.close());
    return true;
  } catch {
    return false;
  }
}
