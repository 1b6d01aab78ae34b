import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A system account that database servers run as. */
export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
}

const cache = new Map<string, ServiceUser | null>();

/**
 * PostgreSQL refuses to run as root, and MariaDB wants `--user=mysql`. When firedrill runs
 * as root, servers and their tools run as the engine's service account; otherwise they run
 * as the current user and this returns undefined.
 */
export function serviceUser(name: string): ServiceUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (!cache.has(name)) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      cache.set(name, { name, uid, gid });
    } catch {
      cache.set(name, null);
    }
  }
  const user = cache.get(name);
  if (!user) {
    throw new Error(`firedrill runs as root, and the "${name}" system user does not exist; install the server package (it creates the user) or run firedrill as a normal user`);
  }
  return user;
}

/** Creates a directory the service user can own and enter (mode 0700, as servers demand). */
export async function makeOwnedDir(path: string, owner: ServiceUser | undefined): Promise<string> {
  // Parents must stay traversable for the service user; only the directory itself is private.
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (owner) await chown(path, owner.uid, owner.gid);
  return path;
}

/** A fresh temp directory for one drill; world-traversable so service users can reach their subdirs. */
export async function makeRunTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o711);
  return dir;
}
