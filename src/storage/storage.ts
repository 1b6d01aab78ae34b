import type { Readable } from 'node:stream';

/** A backup file as stored: where, how big, its content hash. */
export interface StoredObject {
  location: string;
  key: string;
  sizeBytes: number;
  sha256: string;
}

/** A storage operation that failed, named with the location, so a permission problem never reads as an empty archive. */
export class StorageError extends Error {
  constructor(
    readonly location: string,
    readonly operation: 'put' | 'get' | 'stat' | 'list' | 'delete' | 'open' | 'destroy',
    readonly key: string,
    cause: unknown,
    hint?: string,
  ) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`storage "${location}": cannot ${operation} ${key || '(root)'}: ${reason}${hint ? ` (${hint})` : ''}`, { cause });
    this.name = 'StorageError';
  }
}

/** The object is not there: a fetch of a backup that was never stored, or was deleted. */
export class ObjectNotFoundError extends StorageError {
  constructor(location: string, key: string, cause: unknown) {
    super(location, 'get', key, cause, 'the object does not exist in this location');
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * A named place backups live ("primary", "offsite"): a plain object store. Strategies write
 * and read through this, never through paths of their own, so a region loss can destroy one
 * location and not another, and the same strategy stores into a directory or a bucket.
 */
export interface StorageLocation {
  readonly name: string;
  readonly type: string;
  /** The region it is in; a region loss destroys every location of that region. */
  readonly region: string;
  /** Human-readable address for journals (never credentials). */
  readonly address: string;
  /** The directory or key prefix holding this location's objects: what cleanup removes after a dead run. */
  readonly root: string;
  /**
   * The directory holding the objects, when the location is one on this machine: a server's
   * archive command can copy into it directly (and containers see it at the same path).
   */
  readonly directory?: string;
  /** Creates the location (its directory, its prefix). */
  open(): Promise<void>;
  /** Stores a stream under `key`, computing its size and sha256 on the way; a half-written object is never visible. */
  put(key: string, source: Readable): Promise<StoredObject>;
  /** Reads an object as a stream; ObjectNotFoundError when it is not there. */
  get(key: string): Promise<Readable>;
  /** Size, and when it was last written (a newest backup is chosen by it). */
  stat(key: string): Promise<{ sizeBytes: number; modifiedAt?: Date } | undefined>;
  /** Keys under a prefix, sorted; an absent prefix is empty, any other failure throws. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Destroys everything stored here (cleanup; what a region loss does). */
  destroy(): Promise<void>;
}
