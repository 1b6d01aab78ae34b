import type { ServerPoint } from '../engines/engine.js';
import type { StartedInstance, StoppedInstance } from '../providers/provider.js';
import type { FaultContext } from './fault.js';

/**
 * The point of a fault that takes the server itself: taken behind the barrier, so no workload
 * write commits between the point and the blow, and the writes split exactly into before and
 * after. `blow` runs while the barrier is held (the barrier dies with the server).
 */
export async function pointThenBlow<T>(context: FaultContext, blow: () => Promise<T>): Promise<{ point: ServerPoint; result: T }> {
  // The capture reads the whole source: it must finish while there still is one.
  await context.capture();
  const { engine, session } = context;
  await engine.holdBarrier(session);
  const point = await engine.currentPoint(session);
  const result = await blow();
  // The session died with the server; closing it only frees the client.
  await session.close().catch(() => undefined);
  return { point, result };
}

/** Destroys a running server's data directory under it, as a lost disk does, and the server with it. */
export async function destroyDataDirectory(instance: StartedInstance): Promise<StoppedInstance> {
  // The server keeps writing while the tree goes (WAL, archive status files): a file it makes in a
  // directory already emptied makes rm fail, so go over what is left until nothing is.
  await instance.run('sh', ['-c', 'for pass in 1 2 3 4 5; do rm -rf "$0" 2>/dev/null && exit 0; sleep 0.05; done; rm -rf "$0"', instance.paths.data], { asRoot: true });
  // A server whose disk is gone fails its next write or read; a crash is what it comes to.
  return instance.kill();
}
