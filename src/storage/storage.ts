import type { ServiceUser } from '../util/os-user.js';

/** A backup file as stored: where, how big, its content hash. */
export interface StoredObject {
  location: string;
  key: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * A named place backups live ("primary", "offsite"). Strategies write and read through this,
 * never through paths of their own, so a region loss can destroy one location and not another.
 */
export interface StorageLocation {
  readonly name: string;
  readonly type: string;
  /** Human-readable address for journals (no credentials). */
  readonly address: string;
  /** Creates the location (and registers it for cleanup when firedrill owns it). */
  open(owner: ServiceUser | undefined): Promise<void>;
  /** Stores a local file under `key`. */
  put(key: string, file: string): Promise<StoredObject>;
  /**
   * Makes the object available as a local file and returns its path. A local directory
   * returns the stored file itself (nothing to fetch); remote storage downloads into `scratchDir`.
   */
  fetch(key: string, scratchDir: string): Promise<string>;
  list(prefix: string): Promise<string[]>;
  /** Deletes one object (a lost WAL segment, an expired backup). */
  remove(key: string): Promise<void>;
  /** Shell command for PostgreSQL's archive_command / restore_command (with %p and %f). */
  walArchiveCommand(prefix: string): string;
  walRestoreCommand(prefix: string): string;
  /** Destroys everything stored here (what a region loss does). */
  destroy(): Promise<void>;
}
