import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DrillSetupError } from '../util/errors.js';
import type { Installation } from './server.js';

const run = promisify(execFile);

const DEBIAN_ROOT = '/usr/lib/postgresql';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** A PostgreSQL installation: its bin directory, the programs in it, its versions. */
interface Candidate {
  bindir: string;
  major: string;
}

async function candidates(): Promise<Candidate[]> {
  const found: Candidate[] = [];
  // Debian and Ubuntu keep each major in its own directory; only the client wrappers are on PATH.
  const majors = await readdir(DEBIAN_ROOT).catch(() => [] as string[]);
  for (const major of majors.sort((a, b) => Number(b) - Number(a))) {
    const bindir = join(DEBIAN_ROOT, major, 'bin');
    if (await exists(join(bindir, 'initdb'))) found.push({ bindir, major });
  }
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    const bindir = stdout.trim();
    if ((await exists(join(bindir, 'initdb'))) && !found.some((entry) => entry.bindir === bindir)) {
      const { stdout: version } = await run(join(bindir, 'postgres'), ['--version']);
      found.push({ bindir, major: /(\d+)/.exec(version)?.[1] ?? 'unknown' });
    }
  } catch {
    // no pg_config: nothing more to find
  }
  return found;
}

// Looking costs a pg_config and a postgres --version: once per process is enough, and it
// keeps the lookup out of the restore path's timing.
let installed: Promise<Candidate[]> | undefined;
const details = new Map<string, Promise<Installation>>();

async function describe(candidate: Candidate): Promise<Installation> {
  const programs = new Set(await readdir(candidate.bindir));
  const { stdout } = await run(join(candidate.bindir, 'postgres'), ['--version']);
  const version = /(\d+(?:\.\d+)*)/.exec(stdout)?.[1] ?? candidate.major;
  return { version, major: candidate.major, program: (name) => (programs.has(name) ? join(candidate.bindir, name) : undefined) };
}

/** The server binaries for a major version (or the newest installed one). */
export async function findPostgresInstallation(version?: string): Promise<Installation> {
  installed ??= candidates();
  const found = await installed;
  const wanted = version ? found.find((entry) => entry.major === String(version).split('.')[0]) : found[0];
  if (!wanted) {
    const have = found.map((entry) => entry.major).join(', ');
    throw new DrillSetupError(
      version ? `PostgreSQL ${version} server binaries are not installed${have ? ` (installed: ${have})` : ''}` : 'no PostgreSQL server binaries (initdb, postgres) found',
      version
        ? `install postgresql-${version}, change target.version to one of: ${have || 'none'}, or run it in a container (target.provider: docker)`
        : 'install them: apt-get install -y postgresql (Debian/Ubuntu), or run in a container (target.provider: docker); `firedrill doctor` shows what is missing',
    );
  }
  if (!details.has(wanted.bindir)) details.set(wanted.bindir, describe(wanted));
  return details.get(wanted.bindir)!;
}
