import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandRunner } from '../util/exec.js';
import type { ResourceStack } from '../util/resources.js';

/**
 * Where firedrill keeps what it can always make again: initialized clusters (templates) and
 * seeded data directories. `FIREDRILL_CACHE_DIR`, or the user's cache.
 */
export function cacheDir(): string {
  return process.env.FIREDRILL_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'firedrill', 'templates');
}

/** Seeded data directories, one entry a key, named by the provider that made it. */
export function seededDir(): string {
  return join(cacheDir(), 'seeded');
}

export const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false);

/**
 * Writes a cache entry: `write` fills a name beside it, registered with the run (so Ctrl-C, or
 * `firedrill cleanup` after a kill, removes a half-written one), then renamed into place. A
 * half-written entry is never used.
 */
export async function writeEntry(entry: string, context: { exec: CommandRunner; resources: ResourceStack }, write: (partial: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(entry), { recursive: true, mode: 0o700 });
  const partial = `${entry}.partial-${randomBytes(4).toString('hex')}`;
  const remove = () => rm(partial, { recursive: true, force: true });
  const release = context.resources.add('directory', partial, remove, { handle: { type: 'path', path: partial }, remove: [`rm -rf ${partial}`] });
  try {
    await write(partial);
    await publish(partial, entry, context.exec);
  } finally {
    await release();
  }
}

/**
 * Moves a finished entry into place. EEXIST/ENOTEMPTY: another run made the same one first, and
 * theirs is as good as ours. EXDEV: the cache is on another filesystem, so it is copied.
 */
export async function publish(made: string, entry: string, exec: CommandRunner): Promise<void> {
  try {
    await rename(made, entry);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EXDEV') await exec.run('cp', ['-a', made, entry]);
    else if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
    await rm(made, { recursive: true, force: true });
  }
}

/** What the cache holds, for `firedrill cleanup --cache`: every entry, partial ones too. */
export async function cacheEntries(): Promise<Array<{ path: string; kind: string }>> {
  const list = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).map((name) => join(dir, name));
  const seeded = seededDir();
  return [
    ...(await list(cacheDir())).filter((path) => path !== seeded).map((path) => ({ path, kind: 'cluster template' })),
    ...(await list(seeded)).map((path) => ({ path, kind: path.includes('.partial-') ? 'unfinished seeded data' : 'seeded data' })),
  ];
}

/** Removes everything the cache holds: the next drills initialize and seed again. */
export async function dropCache(): Promise<Array<{ path: string; kind: string; error?: string }>> {
  const entries = await cacheEntries();
  const results = [];
  for (const entry of entries) {
    const error = await rm(entry.path, { recursive: true, force: true }).then(() => undefined, (failure: unknown) => (failure as Error).message);
    results.push({ ...entry, ...(error ? { error } : {}) });
  }
  await rm(seededDir(), { recursive: true, force: true }).catch(() => undefined);
  return results;
}
