import { readdir, readFile, rm } from 'node:fs/promises';
import { sep } from 'node:path';
import { sleep } from './clock.js';

/**
 * Processes whose command line names a path inside `dir` (a server someone started on a data
 * directory there: `postgres -D <dir>/data`). Linux /proc; elsewhere none are found.
 */
export async function processesNaming(dir: string): Promise<number[]> {
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`;
  const found: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (argv.split('\0').some((arg) => arg === dir || arg.includes(prefix))) found.push(pid);
  }
  return found;
}

/**
 * Removes a directory handed to people (a game day's scratch space): first whatever they
 * started from it, which would otherwise outlive the run, then the files.
 */
export async function removeScratch(dir: string): Promise<void> {
  // Single processes, not groups: a server started with pg_ctl or mysqld_safe leads no group of its own.
  const signal = (pid: number, name: NodeJS.Signals | 0) => {
    try {
      process.kill(pid, name);
      return true;
    } catch {
      return false;
    }
  };
  let running = (await processesNaming(dir)).filter((pid) => signal(pid, 'SIGTERM'));
  for (let waited = 0; running.length > 0 && waited < SHUTDOWN_GRACE_MS; waited += 100) {
    await sleep(100);
    running = running.filter((pid) => signal(pid, 0));
  }
  for (const pid of running) signal(pid, 'SIGKILL');
  await rm(dir, { recursive: true, force: true });
}

/** A server asked to stop gets this long to shut down cleanly before it is killed. */
const SHUTDOWN_GRACE_MS = 5000;
