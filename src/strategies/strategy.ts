import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Engine, EngineName, ServerPoint } from '../engines/engine.js';
import type { RecoveryRecord } from '../journal/types.js';
import type { SourceCapture } from '../measure/equality.js';
import type { Provider, ProviderContext, StartedInstance, StoppedInstance } from '../providers/provider.js';
import type { StorageLocation, StoredObject } from '../storage/storage.js';
import type { CommandRunner } from '../util/exec.js';

/** Where recovery should stop: just before the fault's transaction, the end of what was kept, or a time. */
export type RecoveryTarget = { kind: 'before-fault' } | { kind: 'latest' } | { kind: 'time'; time: string };

/** What a strategy gets from the drill. */
export interface StrategyContext {
  engine: Engine;
  provider: Provider;
  providerContext: ProviderContext;
  /** The source: running until a fault stops it (check `isRunning()` after one). */
  source: StartedInstance;
  /**
   * Where backups are written, and during recovery where they are read from: the location that
   * survived the fault (a region loss leaves only the off-site copy).
   */
  storage: StorageLocation;
  /**
   * Where the server's own archiving (archive_command, a binlog streamer) writes its files: the
   * primary location when a server can write into it, else a spool on the source's host that
   * the drill drains into primary (and whose lag it measures). Restores read `storage`.
   */
  archive: StorageLocation;
  exec: CommandRunner;
  log: Logger;
  /** A scratch directory of the drill's own on this machine. */
  workDir: string;
  /** Runs `fn` as a named, timed phase of the drill's timeline. */
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** The region the source runs in. */
  region: string;
  /**
   * A new instance of the source's engine, version and image (a restore target, a standby),
   * registered for cleanup; in the source's region unless told otherwise.
   */
  createInstance(name: string, options?: { settings?: Record<string, string>; region?: string }): Promise<StoppedInstance>;
  /**
   * Captures the source as of now for the equality proof: call it at the instant the backup is
   * consistent with (while the barrier holds the workload back), or with the snapshot a dump
   * exported. `exact`: the restore will be exactly this instant (a dump's snapshot), so every
   * row must match; otherwise the workload's rows are left to the ledger. Resolves once the
   * snapshot is open; the digests are read in the background.
   */
  captureSource(options?: { importSnapshot?: string; exact?: boolean }): Promise<PendingCapture>;
}

/** A capture of the source whose snapshot is open; its digests are still being read. */
export interface PendingCapture {
  readonly done: Promise<SourceCapture>;
}

export interface SourceSetup {
  settings?: Record<string, string>;
  writable?: string[];
}

/** What a backup produced. */
export interface BackupResult {
  objects: Array<StoredObject & { name: string }>;
  /** The instant the backup is consistent with, where the strategy can know it. */
  consistentAt?: { serverTimeUs?: number; position?: string; detail?: string };
  /** Strategy-private facts the restore needs (file keys, LSNs). */
  state: Record<string, unknown>;
  /** Where in the archive (WAL, binlog) a restore of this backup starts replaying, for strategies that keep one. */
  startPosition?: string;
  /** The backup (by its 1-based index in the drill) this one needs to be restored: an incremental's base. */
  basedOn?: number;
  /** The source as of the backup's instant, when the backup restores to it. */
  capture?: PendingCapture;
}

export interface RecoverRequest {
  /** The backup to restore (the newest usable one); a replica strategy may ignore it. */
  backup: BackupResult;
  target: RecoveryTarget;
  /** The fault's point, from which a point-in-time target is derived (never guessed). */
  faultPoint: ServerPoint;
}

export interface RecoverResult {
  instance: StartedInstance;
  recovery: Omit<RecoveryRecord, 'target'>;
  /**
   * Bytes of WAL or binlog recovery read and applied, from the backup's position to where it
   * stopped: what the replay phase's time is for (not the archive's whole files, which hold the
   * seed before the backup and the fault and the writes after the target). The journal's
   * `volume.logBytes`; absent when the restore replayed no log.
   */
  replayedBytes?: number;
}

/** One backup procedure and its restore path, or a standby and its failover. */
export interface Strategy {
  /**
   * What the source needs before it starts: server settings (WAL archiving, binary log) and
   * directories of this machine its account must be able to write (an archive directory).
   */
  sourceSetup?(context: Pick<StrategyContext, 'storage' | 'archive' | 'engine'>): SourceSetup;
  /** Runs before the workload starts (archive streams, stanzas, dump accounts, ...). */
  prepare?(context: StrategyContext): Promise<void>;
  /** Takes one backup while the workload runs (the first, or a scheduled later one). */
  backup(context: StrategyContext): Promise<BackupResult>;
  /**
   * After the fault is detected: what an operator does first (switch and archive the current
   * WAL segment, flush the binlog). The source may be dead: then only what it had already
   * shipped counts, which is the real RPO.
   */
  afterDetection?(context: StrategyContext): Promise<void>;
  /**
   * Servers it keeps running beside the source (a standby), with their regions: a fault that
   * takes the source's region takes those in it too.
   */
  beside?(): Array<{ instance: StartedInstance; region: string }>;
  /** Figures sampled every second while the workload runs (a standby's lag), for the journal. */
  sample?(context: StrategyContext): Promise<Record<string, number | null>>;
  /**
   * Restores into a fresh instance (or promotes a standby) and starts it, writable. A backup
   * that is damaged or incomplete throws a BackupDefect, so the drill can try an older one.
   */
  recover(context: StrategyContext, request: RecoverRequest): Promise<RecoverResult>;
}

export interface StrategyDefinition<Options extends z.ZodObject = z.ZodObject> {
  name: string;
  summary: string;
  engines: readonly EngineName[];
  /** Can restore to an arbitrary point (before the fault), not only to the backup. */
  pointInTime: boolean;
  /** What it keeps: backup files, or a standby to fail over to. */
  keeps: 'backups' | 'standby';
  /** Its continuous archive (WAL, binlogs), for the faults that break one: where, what a file is called, which file holds a position. */
  archive?: ArchiveDescription;
  /**
   * What the server writes into the primary storage location itself, through its own tools
   * (`each WAL segment`, `its pgBackRest repository`): such a location must be a plain directory
   * the server can write files into. Derived from `archive` when there is one.
   */
  serverWrites?: string;
  /** Storage types the tool's own client writes its repository into (pgBackRest's S3), though the server cannot write files there. */
  nativeStorage?: readonly string[];
  /** The backup tool keeps its own catalog of backups (pgBackRest's backup.info): retention from outside would break it. */
  ownCatalog?: boolean;
  /** Programs it needs beyond the engine's own, and how to get them (for `firedrill doctor`). */
  tools?: ReadonlyArray<{ program: string; versionArgs: string[]; install: string }>;
  /** The restore re-creates objects from SQL (materialized views are refreshed, sequences set). */
  logical: boolean;
  /** The strategy's options in the scenario (`strategy: { name, ...options }`), with defaults. */
  options: Options;
  create(options: z.infer<Options>): Strategy;
}

export interface ArchiveDescription {
  /** Key prefix of the archived files in a storage location. */
  prefix: string;
  /** What one file is, in words: `WAL segment`, `binlog`. */
  file: string;
  /** The file a position (an LSN, a binlog position) is in. */
  fileOf(position: string): string;
}

/** Helper for registries: keeps each definition's option type. */
export function defineStrategy<Options extends z.ZodObject>(definition: StrategyDefinition<Options>): StrategyDefinition<Options> {
  return definition;
}
