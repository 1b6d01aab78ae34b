import type { StorageLocation } from '../storage/storage.js';
import { DrillSetupError } from '../util/errors.js';
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

/**
 * The directory `sub` inside a storage location, for what the server's own tools write there
 * (an archive command, a binlog streamer, a backup tool's repository). The loader refuses other
 * locations before anything runs; this says the same to a caller that skipped it.
 */
export function serverDirectory(storage: StorageLocation, sub: string, what: string): string {
  if (!storage.directory) {
    throw new DrillSetupError(`${what} needs a storage location the server can write files into; "${storage.name}" (${storage.type}) is not a directory on this machine`, 'use a plain local storage location as primary');
  }
  return `${storage.directory}/${sub}`;
}
