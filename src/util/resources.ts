import type { Logger } from 'pino';
import { errorMessage } from './errors.js';
import type { ResourceHandle, RunRegistry } from './registry.js';

/** One thing a drill created and must release: a process, a directory, a container, a prefix. */
export interface ResourceRecord {
  kind: 'process' | 'directory' | 'port' | 'connection' | 'container' | 'network' | 'objects' | 'other';
  /** What a human needs to find it: a path, a pid, a port. */
  where: string;
  /** With --keep: how to reach it (a connection string) and the commands that remove it by hand. */
  connect?: string;
  remove?: string[];
}

export interface ResourceOptions {
  /** What `firedrill cleanup` needs to remove it if this process dies first. */
  handle?: ResourceHandle;
  /** How a kept resource is reached and removed by hand (shown with --keep). */
  connect?: string;
  remove?: string[];
  /** Lets the process exit while the resource lives on (--keep): unref child processes, close sockets. */
  detach?: () => void;
}

interface Entry extends ResourceRecord {
  release: () => Promise<void> | void;
  detach?: () => void;
  registryId?: number;
}

/** A resource that could not be released, and why. */
export interface ReleaseFailure {
  where: string;
  message: string;
}

/**
 * The cleanup registry. Everything a drill creates is registered here the moment it exists
 * (and in the run registry on disk, so a killed firedrill's leftovers can be found), and
 * released in reverse order on success, failure and signals. With `keep`, nothing is
 * released, and `list()` says where everything is.
 */
export class ResourceStack implements AsyncDisposable {
  private readonly entries: Entry[] = [];
  private disposed = false;
  /** What could not be released at disposal; empty when everything went. */
  readonly failures: ReleaseFailure[] = [];

  constructor(
    private readonly options: { keep?: boolean; log?: Logger; registry?: RunRegistry } = {},
  ) {}

  /** Registers a resource; returns a function that releases it early (and only once). */
  add(kind: ResourceRecord['kind'], where: string, release: () => Promise<void> | void, extra: ResourceOptions = {}): () => Promise<void> {
    const entry: Entry = {
      kind,
      where,
      release,
      ...(extra.connect ? { connect: extra.connect } : {}),
      ...(extra.remove ? { remove: extra.remove } : {}),
      ...(extra.detach ? { detach: extra.detach } : {}),
      ...(this.options.registry ? { registryId: this.options.registry.add(kind, where, extra.handle ?? { type: 'none' }) } : {}),
    };
    this.entries.push(entry);
    return async () => {
      const index = this.entries.indexOf(entry);
      if (index < 0) return;
      this.entries.splice(index, 1);
      await release();
      if (entry.registryId !== undefined) this.options.registry?.release(entry.registryId);
    };
  }

  /** What is registered now, oldest first. */
  list(): ResourceRecord[] {
    return this.entries.map(({ kind, where, connect, remove }) => ({ kind, where, ...(connect ? { connect } : {}), ...(remove ? { remove } : {}) }));
  }

  get size(): number {
    return this.entries.length;
  }

  get keep(): boolean {
    return this.options.keep ?? false;
  }

  /**
   * Releases everything in reverse order; one failure does not stop the others, and each is
   * recorded in `failures` (cleanup that failed is never reported as done). With `keep`, every
   * resource is detached from this process instead, so it can exit and leave them running.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.keep) {
      for (const entry of this.entries) entry.detach?.();
      return;
    }
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      try {
        await entry.release();
        if (entry.registryId !== undefined) this.options.registry?.release(entry.registryId);
      } catch (error) {
        this.failures.push({ where: entry.where, message: errorMessage(error) });
        this.options.log?.warn({ resource: entry.where, err: errorMessage(error) }, 'cleanup failed');
      }
    }
  }
}
