import type { Logger } from 'pino';
import type { ConnectionInfo, Engine } from '../engines/engine.js';
import type { ServerPaths } from '../engines/server.js';
import type { CommandRunner, Input, Output, RunResult } from '../util/exec.js';
import type { ResourceHandle } from '../util/registry.js';
import type { ResourceStack } from '../util/resources.js';

/** What a provider needs from the drill to create instances. */
export interface ProviderContext {
  exec: CommandRunner;
  resources: ResourceStack;
  /** The drill's temp directory on this machine; local instances live in subdirectories of it. */
  workDir: string;
  log: Logger;
  /** The run's id: containers and volumes are labelled with it, so cleanup can find them. */
  runId: string;
  signal?: AbortSignal;
  /** Keeps a server's log (already scrubbed of secrets) for the drill to copy beside its journal. */
  saveLog(name: string, text: string): void;
}

export interface InstanceSpec {
  /** Short role name, unique in the drill: `source`, `restore`, `standby`. */
  name: string;
  engine: Engine;
  /** Engine version, when the scenario pins one (`15`, `10.11`). */
  version?: string;
  /** Server settings every start of this instance gets (`wal_level=replica`, `archive_command=...`). */
  settings?: Record<string, string>;
  /** Container image (docker provider); default: the engine's official image of the version. */
  image?: string;
  /**
   * Directories of this machine the server and its tools must see under the same path: a
   * local storage location an archive command copies into, a spool an uploader drains.
   */
  shared?: readonly string[];
  /** Directories (inside `shared` ones) the server's account must be able to write, created before it starts. */
  writable?: readonly string[];
  /**
   * Directories of this machine its tools read and must never write (a backup being verified),
   * under the same path: a container gets them bound read-only.
   */
  readOnly?: readonly string[];
}

/** A program running in the background beside a server (a binlog streamer). */
export interface BackgroundProcess {
  readonly description: string;
  isRunning(): Promise<boolean>;
  /** SIGTERM, then SIGKILL after a grace period; resolves when it is gone. */
  stop(): Promise<void>;
}

/** How long a readiness wait took, and how finely it could tell. */
export interface ReadinessRecord {
  waitedMs: number;
  /** The poll interval: the resolution of every time measured through this wait. */
  pollIntervalMs: number;
}

export interface ToolOptions {
  stdin?: Input;
  /** A file beside the server (as the server sees it) to feed to stdin, instead of `stdin`. */
  stdinFile?: string;
  stdout?: Output;
  env?: Record<string, string>;
  /** Return a failed exit code instead of throwing. */
  allowFailure?: boolean;
  /** Run as root rather than the server's account (to read a file the account cannot). */
  asRoot?: boolean;
  /** Keep it out of the runbook (a `--version` query). */
  quiet?: boolean;
}

/**
 * What every instance can do, running or not: run the engine's own programs beside the server
 * (so their version matches it), and reach the files of its data area. Paths are as the server
 * sees them (`paths`): this machine's for a local instance, the container's for a docker one.
 */
export interface InstanceBase {
  readonly name: string;
  readonly engine: Engine;
  /** The provider that made it (`local`, `docker`), for the journal. */
  readonly provider: string;
  readonly paths: ServerPaths;
  /** Version of the server binaries (`15.18`, `10.11.19`). */
  readonly version: string;
  /** Major version (`15`, `10.11`): what a restore of a backup of this instance must run. */
  readonly major: string;
  /** Where the instance is, for a person: a directory, a container. */
  readonly location: string;
  /** Runs a program beside the server as the server's account: the engine's tools, tar, cat, dd. */
  run(program: string, args: readonly string[], options?: ToolOptions): Promise<RunResult>;
  /** Starts a program beside the server in the background, its output in `logFile` (a path beside the server), registered for cleanup. */
  spawn(program: string, args: readonly string[], options: { logFile: string; env?: Record<string, string> }): Promise<BackgroundProcess>;
  readFile(path: string): Promise<Buffer>;
  writeFile(path: string, content: string | Buffer): Promise<void>;
  /** Creates a directory (and its parents) owned by the server's account. */
  claim(path: string): Promise<void>;
  /** The server's log so far (empty when it never started). */
  serverLog(): Promise<string>;
  /** Stops the server if it runs, removes its data and everything else of the instance. */
  destroy(): Promise<void>;
}

/**
 * An instance whose server is not running: a fresh one to initialize, one a restore fills, or
 * one whose server stopped or crashed. `start()` returns the started type, so the lifecycle is
 * in the types.
 */
export interface StoppedInstance extends InstanceBase {
  readonly state: 'stopped';
  /** Creates an empty cluster in the data directory (initdb / mariadb-install-db). */
  initialize(): Promise<void>;
  /**
   * Keeps a copy of the data directory (its server shut down cleanly) in the cache under `key`,
   * for `fillFromCache` in later runs. The provider adds what makes two data directories
   * interchangeable (the binaries, the image); a copy another run kept first is left as it is.
   */
  keepInCache(key: string): Promise<void>;
  /**
   * Instead of `initialize()`: the data directory becomes a copy of the one kept under `key`.
   * False, and nothing changed, when there is none.
   */
  fillFromCache(key: string): Promise<boolean>;
  start(options?: { settings?: Record<string, string> }): Promise<StartedInstance>;
}

export interface StartedInstance extends InstanceBase {
  readonly state: 'started';
  /** How firedrill reaches the server from this machine. */
  readonly connection: ConnectionInfo;
  /** How a tool running beside the server (`run`) reaches it. */
  readonly localConnection: ConnectionInfo;
  /** How another instance of the drill (a standby, a binlog streamer) reaches it. */
  readonly peer: { host: string; port: number };
  readonly readiness: ReadinessRecord;
  /** Waits until the server accepts writes (a restored server leaves recovery first). */
  waitWritable(timeoutMs?: number): Promise<ReadinessRecord>;
  /** Is the server process still there? */
  isRunning(): Promise<boolean>;
  /** Clean shutdown; the instance can be started again. */
  stop(): Promise<StoppedInstance>;
  /** SIGKILL of every process of the server at once, as a crash; the instance can be started again (crash recovery). */
  kill(): Promise<StoppedInstance>;
}

export interface Provider {
  readonly name: string;
  /** Runs servers from container images: a scenario's `target.image` applies to it. */
  readonly runsImages: boolean;
  /** Whether this provider can run `engine` here at all (binaries installed, an engine answering). */
  available(engine: Engine, version?: string): Promise<{ ok: true } | { ok: false; reason: string; hint: string }>;
  /** Allocates an instance (directory or container) and registers it for cleanup. */
  create(spec: InstanceSpec, context: ProviderContext): Promise<StoppedInstance>;
  /** Removes one recorded resource of a run that died (a container by id). */
  removeLeftover?(handle: ResourceHandle): Promise<void>;
  /** Resources this provider finds labelled with a run that is not among `aliveRuns` (containers, networks, volumes). */
  findLeftovers?(aliveRuns: ReadonlySet<string>): Promise<Array<{ runId: string; kind: string; where: string; remove(): Promise<void> }>>;
}
