import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DrillSetupError } from '../util/errors.js';

const run = promisify(execFile);

/** Where a PostgreSQL installation's programs live, and its major version. */
export interface PostgresBinaries {
  bindir: string;
  major: string;
}

const DEBIAN_ROOT = '/usr/lib/postgresql';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function candidates(): Promise<PostgresBinaries[]> {
  const found: PostgresBinaries[] = [];
  // Debian and Ubuntu keep each major in its own directory; only the client wrappers are on PATH.
  const majors = await readdir(DEBIAN_ROOT).catch(() => [] as string[]);
  for (const major of majors.sort((a, b) => Number(b) - Number(a))) {
    const bindir = join(DEBIAN_ROOT, major, 'bin');
    if (await exists(join(bindir, 'initdb'))) found.push({ bindir, major });
  }
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    const bindir = stdout.trim();
    if (await exists(join(bindir, 'initdb'))) {
      const { stdout: version } = await run(join(bindir, 'postgres'), ['--version']);
      const major = /(\d+)/.exec(version)?.[1] ?? 'unknown';
      if (!found.some((entry) => entry.bindir === bindir)) found.push({ bindir, major });
    }
  } catch {
    // no pg_config: nothing more to find
  }
  return found;
}

// Looking costs a pg_config and a postgres --version: once per process is enough, and it
// keeps the lookup out of the restore path's timing.
let installed: Promise<PostgresBinaries[]> | undefined;

/** Finds the server binaries for a major version (or the newest installed one). */
export async function findPostgresBinaries(version?: string): Promise<PostgresBinaries> {
  installed ??= candidates();
  const found = await installed;
  const wanted = version ? found.find((entry) => entry.major === String(version).split('.')[0]) : found[0];
  if (!wanted) {
    const have = found.map((entry) => entry.major).join(', ');
    throw new DrillSetupError(
      version ? `PostgreSQL ${version} server binaries are not installed${have ? ` (installed: ${have})` : ''}` : 'no PostgreSQL server binaries (initdb, postgres) found',
      version ? `install postgresql-${version}, or change target.version to one of: ${have || 'none'}` : 'install them: apt-get install -y postgresql (Debian/Ubuntu); run `firedrill doctor` to see what is missing',
    );
  }
  return wanted;
}
