import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { measuring } from './digest.js';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { ObjectNotFoundError, StorageError, type StorageLocation, type StoredObject } from './storage.js';
import { defineStorage, locationBase } from './types.js';

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** A directory on this machine. Objects are files; `key` is the path below the root. */
export class LocalDirectoryStorage implements StorageLocation {
  readonly type = 'local';

  constructor(
    readonly name: string,
    readonly root: string,
    readonly region: string,
  ) {}

  get address(): string {
    return this.root;
  }

  get directory(): string {
    return this.root;
  }

  private pathOf(key: string): string {
    return join(this.root, key);
  }

  async open(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true, mode: 0o711 });
      // Servers' archive commands (their own accounts) traverse it to reach the directories they own.
      await chmod(this.root, 0o711);
    } catch (error) {
      throw new StorageError(this.name, 'open', '', error);
    }
  }

  async put(key: string, source: Readable): Promise<StoredObject> {
    const target = this.pathOf(key);
    const partial = `${target}.partial`;
    const measure = measuring();
    try {
      await mkdir(dirname(target), { recursive: true });
      // Written under a temporary name, then renamed: a half-copied backup never looks complete.
      await pipeline(source, measure, createWriteStream(partial));
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw new StorageError(this.name, 'put', key, error);
    }
    return { location: this.name, key, ...measure.result() };
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      await stat(path);
    } catch (error) {
      if (isMissing(error)) throw new ObjectNotFoundError(this.name, key, error);
      throw new StorageError(this.name, 'get', key, error);
    }
    const out = new PassThrough();
    createReadStream(path)
      .on('error', (error) => out.destroy(new StorageError(this.name, 'get', key, error)))
      .pipe(out);
    return out;
  }

  async stat(key: string): Promise<{ sizeBytes: number; modifiedAt?: Date } | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      return { sizeBytes: info.size, modifiedAt: info.mtime };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw new StorageError(this.name, 'stat', key, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.pathOf(prefix), { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile() && !entry.name.endsWith('.partial'))
        .map((entry) => relative(this.root, join(entry.parentPath, entry.name)))
        .sort();
    } catch (error) {
      if (isMissing(error)) return [];
      throw new StorageError(this.name, 'list', prefix, error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.pathOf(key), { force: true });
    } catch (error) {
      throw new StorageError(this.name, 'delete', key, error);
    }
  }

  async destroy(): Promise<void> {
    try {
      await rm(this.root, { recursive: true, force: true });
    } catch (error) {
      throw new StorageError(this.name, 'destroy', '', error);
    }
  }
}

export const localStorage = defineStorage({
  summary: 'a directory on this machine (default: inside the drill\'s temp dir, removed after the drill)',
  options: z.strictObject({
    type: z.literal('local'),
    path: z.string().optional().describe('Directory for backups; a subdirectory per drill is created and removed afterwards'),
    ...locationBase,
  }),
  serverWrites: () => true,
  create: (name, options, context) =>
    new LocalDirectoryStorage(name, options.path ? join(options.path, `${context.drillId}-${name}-${process.pid}-${Date.now()}`) : join(context.workDir, 'storage', name), options.region),
  reopen: (name, options, root) => new LocalDirectoryStorage(name, root, options.region),
});
