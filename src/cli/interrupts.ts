import { setMaxListeners } from 'node:events';
import { ExitCode, InterruptedError } from '../util/errors.js';

/**
 * Runs `fn` with Ctrl-C and SIGTERM turned into an abort of its signal, so the drill stops
 * and cleans up; a second Ctrl-C exits at once (what is left is on record for `firedrill
 * cleanup`). `what` names what is stopped, for the message.
 */
export async function interruptible<T>(what: string, err: (text: string) => void, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // Every command running at once listens (a dataset loads in parallel): many, none leaked.
  setMaxListeners(64, controller.signal);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      err('second interrupt: exiting at once without cleanup; run `firedrill cleanup` to remove what this run left (it is on record)');
      process.exit(ExitCode.interrupted);
    }
    err(`\n${signal}: stopping the ${what} and cleaning up (press Ctrl-C again to exit at once)`);
    controller.abort(new InterruptedError(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
