import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

/** One thing a drill created and must release: a process, a directory, a port, a prefix. */
export interface ResourceRecord {
  kind: 'process' | 'directory' | 'port' | 'connection' | 'container' | 'other';
  /** What a human needs to find it: a path, a pid, a port. */
  where: string;
}

interface Entry extends ResourceRecord {
  release: () => Promise<void> | void;
}

/**
 * The cleanup registry. Everything a drill creates is registered here the moment it exists,
 * and released in reverse order on success, failure and signals. With `keep`, nothing is
 * released and `kept()` says where everything is.
 */
export class ResourceStack implements AsyncDisposable {
  private readonly entries: Entry[] = [];
  private disposed = false;

  constructor(
    private readonly options: { keep?: boolean; log?: Logger } = {},
  ) {}

  /** Registers a resource; returns a function that releases it early (and only once). */
  add(kind: ResourceRecord['kind'], where: string, release: () => Promise<void> | void): () => Promise<void> {
    const entry: Entry = { kind, where, release };
    this.entries.push(entry);
    return async () => {
      const index = this.entries.indexOf(entry);
      if (index < 0) return;
      this.entries.splice(index, 1);
      await release();
    };
  }

  /** What is registered now, oldest first. */
  list(): ResourceRecord[] {
    return this.entries.map(({ kind, where }) => ({ kind, where }));
  }

  get keep(): boolean {
    return this.options.keep ?? false;
  }

  /** Releases everything in reverse order; one failure does not stop the others. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.keep) return;
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      try {
        await entry.release();
      } catch (error) {
        this.options.log?.warn({ resource: entry.where, err: errorMessage(error) }, 'cleanup failed');
      }
    }
  }
}
