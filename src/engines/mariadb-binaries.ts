import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { DrillSetupError } from '../util/errors.js';
import type { Installation } from './server.js';

const run = promisify(execFile);

/** The MariaDB programs a drill runs. */
export const MARIADB_TOOLS = ['mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-dump', 'mariadb-binlog', 'mariadb-backup', 'mbstream'] as const;
export type MariadbTool = (typeof MARIADB_TOOLS)[number];

export const MARIADB_INSTALL_HINT = 'install them: apt-get install -y mariadb-server mariadb-client mariadb-backup (Debian/Ubuntu); run `firedrill doctor` to see what is missing';

/** Where the MariaDB programs live, and the server's version (`10.11.19`). */
interface MariadbBinaries {
  paths: Record<MariadbTool, string>;
  version: string;
}

// The server lives in sbin, which is not on a normal user's PATH.
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

async function findProgram(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
  }
  return undefined;
}

/** Every MariaDB program's path, or what is missing; never throws. */
export async function locateMariadbTools(): Promise<Array<{ name: MariadbTool; path?: string }>> {
  return Promise.all(MARIADB_TOOLS.map(async (name) => ({ name, path: await findProgram(name) })));
}

let found: Promise<MariadbBinaries> | undefined;

async function discover(): Promise<MariadbBinaries> {
  const tools = await locateMariadbTools();
  const missing = tools.filter((tool) => !tool.path).map((tool) => tool.name);
  if (missing.length > 0) throw new DrillSetupError(`MariaDB programs not found: ${missing.join(', ')}`, MARIADB_INSTALL_HINT);
  const paths = Object.fromEntries(tools.map((tool) => [tool.name, tool.path!])) as Record<MariadbTool, string>;
  const { stdout } = await run(paths.mariadbd, ['--version']);
  const version = /Ver (\d+\.\d+\.\d+)/.exec(stdout)?.[1];
  if (!version) throw new DrillSetupError(`cannot tell the MariaDB version from "${stdout.trim()}"`, 'check that mariadbd is a MariaDB server');
  return { paths, version };
}

/**
 * Finds the MariaDB programs, checking the server against a version pin (`10.11`, `10`).
 * Found once per process: every instance and strategy of a run uses the same installation.
 */
export async function findMariadbInstallation(version?: string): Promise<Installation> {
  found ??= discover();
  const binaries = await found.catch((error: unknown) => {
    found = undefined;
    throw error;
  });
  if (version && !`${binaries.version}.`.startsWith(`${version}.`)) {
    throw new DrillSetupError(
      `MariaDB ${version} is not installed (installed: ${binaries.version})`,
      `change target.version to ${binaries.version.split('.').slice(0, 2).join('.')}, install MariaDB ${version}, or run it in a container (target.provider: docker)`,
    );
  }
  const paths: Record<string, string> = binaries.paths;
  return { version: binaries.version, major: binaries.version.split('.').slice(0, 2).join('.'), program: (name) => paths[name] };
}
