import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Journal } from '../journal/types.js';
import { providers } from '../providers/index.js';
import { storageTypes, type StorageType } from '../storage/index.js';
import { errorMessage } from '../util/errors.js';
import { killGroup } from '../util/exec.js';
import { removeScratch } from '../util/scratch.js';
import { forgetRun, recordedRuns, sameProcessAlive, type RecordedRun, type RegisteredResource, type ResourceHandle } from '../util/registry.js';

/** Something a run left behind: from its registry on disk, or found by a provider (a labelled container). */
export interface Leftover {
  runId: string;
  kind: string;
  where: string;
  /** The run's firedrill process and when it started, when the registry recorded them. */
  owner?: { pid: number; startedAt: string };
  remove(): Promise<void>;
}

async function removeByHandle(handle: ResourceHandle): Promise<void> {
  switch (handle.type) {
    case 'process':
      // Only the process that was recorded: a pid the system gave to someone else is left alone.
      if (sameProcessAlive(handle.pid, handle.startTime)) await killGroup(handle.pid, 'SIGTERM');
      return;
    case 'path':
      await rm(handle.path, { recursive: true, force: true });
      return;
    case 'scratch':
      await removeScratch(handle.path);
      return;
    case 'container':
    case 'network': {
      const provider = Object.values(providers).find((candidate) => candidate.name === handle.provider);
      await provider?.removeLeftover?.(handle);
      return;
    }
    case 'object-prefix': {
      // The location as the dead run opened it (credentials come from the environment, as they did then).
      const type = storageTypes[handle.storage as StorageType];
      await type?.reopen(handle.location, handle.options as never, handle.root).destroy();
      return;
    }
    default:
      return;
  }
}

function fromRegistry(run: RecordedRun, resource: RegisteredResource): Leftover {
  return { runId: run.runId, kind: resource.kind, where: resource.where, owner: { pid: run.pid, startedAt: run.startedAt }, remove: () => removeByHandle(resource.handle) };
}

/**
 * What runs whose firedrill process is gone left behind: their registered resources (newest
 * first, the order they are released in), and what providers find labelled with a run that is
 * not running (containers, networks).
 */
export async function findLeftovers(): Promise<{ leftovers: Leftover[]; deadRuns: RecordedRun[] }> {
  const runs = await recordedRuns();
  const deadRuns = runs.filter((run) => !run.alive);
  const leftovers = deadRuns.flatMap((run) => [...run.resources].reverse().map((resource) => fromRegistry(run, resource)));
  const alive = new Set(runs.filter((run) => run.alive).map((run) => run.runId));
  const known = new Set(leftovers.map((leftover) => leftover.where));
  for (const provider of Object.values(providers)) {
    for (const found of (await provider.findLeftovers?.(alive).catch(() => [])) ?? []) {
      if (!known.has(found.where)) leftovers.push({ runId: found.runId, kind: found.kind, where: found.where, remove: found.remove });
    }
  }
  return { leftovers, deadRuns };
}

/** Marks the unfinished journals of a dead run: firedrill itself was stopped. */
async function markJournals(run: RecordedRun): Promise<void> {
  for (const path of run.journals) {
    try {
      const journal = JSON.parse(await readFile(path, 'utf8')) as Journal;
      if (journal.status !== 'interrupted' || journal.errors.some((error) => error.phase === 'cleanup')) continue;
      journal.errors.push({ phase: 'cleanup', message: `firedrill (pid ${run.pid}) ended without finishing this drill; \`firedrill cleanup\` removed what it left on ${new Date().toISOString()}` });
      await writeFile(path, `${JSON.stringify(journal, null, 2)}\n`);
    } catch {
      // A journal that is not there or not readable has nothing to mark.
    }
  }
}

/** Removes every leftover; a failure is reported, never counted as removed. */
export async function removeLeftovers(found: { leftovers: Leftover[]; deadRuns: RecordedRun[] }): Promise<Array<{ leftover: Leftover; error?: string }>> {
  const results: Array<{ leftover: Leftover; error?: string }> = [];
  for (const leftover of found.leftovers) {
    try {
      await leftover.remove();
      results.push({ leftover });
    } catch (error) {
      results.push({ leftover, error: errorMessage(error) });
    }
  }
  for (const run of found.deadRuns) {
    await markJournals(run);
    const failed = results.some((result) => result.error && result.leftover.runId === run.runId);
    if (!failed) await forgetRun(run);
  }
  return results;
}
