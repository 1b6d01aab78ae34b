import type { Logger } from 'pino';
import type { ConnectionInfo, Engine } from '../engines/engine.js';
import type { CommandRunner } from '../util/exec.js';
import type { ServiceUser } from '../util/os-user.js';
import type { ResourceStack } from '../util/resources.js';

/** What a provider needs from the drill to create instances. */
export interface ProviderContext {
  exec: CommandRunner;
  resources: ResourceStack;
  /** The drill's temp directory; instances live in subdirectories of it. */
  workDir: string;
  log: Logger;
  signal?: AbortSignal;
  /** Records a server log so the drill can keep a copy beside its journal after teardown. */
  keepLog(name: string, path: string): void;
}

export interface InstanceSpec {
  /** Short role name, unique in the drill: `source`, `restore`. */
  name: string;
  engine: Engine;
  /** Engine major version, when the scenario pins one. */
  version?: string;
  /** Extra server settings (`wal_level=replica`, `archive_command=...`). */
  settings?: Record<string, string>;
}

/** How long a readiness wait took, and how finely it could tell. */
export interface ReadinessRecord {
  waitedMs: number;
  /** The poll interval: the resolution of every time measured through this wait. */
  pollIntervalMs: number;
}

/**
 * An instance that exists on disk but is not running: a fresh data directory to initialize,
 * or one a restore fills. `start()` returns the started type, so the lifecycle is in the types.
 */
export interface DatabaseInstance {
  readonly name: string;
  readonly engine: Engine;
  readonly dataDir: string;
  readonly logFile: string;
  /** The account the server and its tools run as (root only). */
  readonly user: ServiceUser | undefined;
  /** Creates an empty cluster in dataDir (initdb / mariadb-install-db). */
  initialize(): Promise<void>;
  start(options?: { settings?: Record<string, string> }): Promise<StartedDatabaseInstance>;
}

export interface StartedDatabaseInstance {
  readonly name: string;
  readonly engine: Engine;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user: ServiceUser | undefined;
  readonly connection: ConnectionInfo;
  readonly pid: number | undefined;
  readonly readiness: ReadinessRecord;
  /** Waits until the server accepts writes (a restored server leaves recovery first). */
  waitWritable(timeoutMs?: number): Promise<ReadinessRecord>;
  /** Clean shutdown. */
  stop(): Promise<void>;
  /** kill -9: the crash a drill can inject. */
  kill(): Promise<void>;
  /** Stops (or kills) the server and deletes its data directory. */
  destroy(): Promise<void>;
}

export interface Provider {
  readonly name: string;
  /** Allocates an instance (directory, port) and registers it for cleanup. */
  create(spec: InstanceSpec, context: ProviderContext): Promise<DatabaseInstance>;
}
