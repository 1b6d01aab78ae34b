import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chown, copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { shellQuote } from '../util/exec.js';
import { makeOwnedDir, type ServiceUser } from '../util/os-user.js';
import type { StorageLocation, StoredObject } from './storage.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A directory on this machine. */
export class LocalDirectoryStorage implements StorageLocation {
  readonly type = 'local';
  private owner: ServiceUser | undefined;

  constructor(
    readonly name: string,
    readonly root: string,
  ) {}

  get address(): string {
    return this.root;
  }

  async open(owner: ServiceUser | undefined): Promise<void> {
    this.owner = owner;
    await makeOwnedDir(this.root, owner);
  }

  pathOf(key: string): string {
    return join(this.root, key);
  }

  async put(key: string, file: string): Promise<StoredObject> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    if (file !== target) {
      // Write under a temporary name, then rename: a half-copied backup never looks complete.
      await copyFile(file, `${target}.partial`);
      await rename(`${target}.partial`, target);
    }
    if (this.owner) await chown(target, this.owner.uid, this.owner.gid);
    return this.describe(key);
  }

  async describe(key: string): Promise<StoredObject> {
    const path = this.pathOf(key);
    const info = await stat(path);
    return { location: this.name, key, sizeBytes: info.size, sha256: await sha256File(path) };
  }

  async fetch(key: string): Promise<string> {
    const path = this.pathOf(key);
    await stat(path);
    return path;
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.pathOf(prefix);
    const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) => relative(this.root, join(entry.parentPath, entry.name)))
      .sort();
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  walArchiveCommand(prefix: string): string {
    const dir = shellQuote(this.pathOf(prefix));
    // Never overwrite an archived segment (PostgreSQL's documented safe form); copy under a
    // temporary name so a restore never reads a half-written segment.
    return `mkdir -p ${dir} && test ! -f ${dir}/%f && cp %p ${dir}/%f.partial && mv ${dir}/%f.partial ${dir}/%f`;
  }

  walRestoreCommand(prefix: string): string {
    return `cp ${shellQuote(this.pathOf(prefix))}/%f %p`;
  }

  async destroy(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}
