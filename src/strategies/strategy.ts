import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Engine, EngineName, ServerPoint } from '../engines/engine.js';
import type { RecoveryRecord } from '../journal/types.js';
import type { Provider, ProviderContext, StartedDatabaseInstance } from '../providers/provider.js';
import type { StorageLocation, StoredObject } from '../storage/storage.js';
import type { CommandRunner } from '../util/exec.js';

/** Where recovery should stop: just before the fault's transaction, the end of what was kept, or a time. */
export type RecoveryTarget = { kind: 'before-fault' } | { kind: 'latest' } | { kind: 'time'; time: string };

/** What a strategy gets from the drill. */
export interface StrategyContext {
  engine: Engine;
  provider: Provider;
  providerContext: ProviderContext;
  /** The source database's version pin, for instances the restore creates. */
  version?: string;
  source: StartedDatabaseInstance;
  storage: StorageLocation;
  exec: CommandRunner;
  log: Logger;
  /** A scratch directory of the drill's own. */
  workDir: string;
  /** Runs `fn` as a named, timed phase of the drill's timeline. */
  phase<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** What a backup produced. */
export interface BackupResult {
  objects: Array<StoredObject & { name: string }>;
  /** The instant the backup is consistent with, where the strategy can know it. */
  consistentAt?: { serverTimeUs?: number; position?: string; detail?: string };
  /** Strategy-private facts the restore needs (file keys, LSNs). */
  state: Record<string, unknown>;
}

export interface RestoreRequest {
  backup: BackupResult;
  target: RecoveryTarget;
  /** The fault's point, from which a PITR target is derived (never guessed). */
  faultPoint?: ServerPoint;
}

export interface RestoreResult {
  instance: StartedDatabaseInstance;
  recovery: Omit<RecoveryRecord, 'target'>;
}

/** One backup procedure and its restore path. */
export interface Strategy {
  /** Server settings the source needs (WAL archiving, binary log). */
  sourceSettings?(context: Pick<StrategyContext, 'storage'>): Record<string, string>;
  /** Runs before the workload starts (create archive locations, stanzas, ...). */
  prepare?(context: StrategyContext): Promise<void>;
  /** Takes the base backup while the workload runs. */
  backup(context: StrategyContext): Promise<BackupResult>;
  /** After the fault is detected: what an operator does first (switch and archive the current WAL segment). */
  afterDetection?(context: StrategyContext): Promise<void>;
  /** Restores into a fresh instance and starts it, writable. */
  restore(context: StrategyContext, request: RestoreRequest): Promise<RestoreResult>;
}

export interface StrategyDefinition<Options extends z.ZodObject = z.ZodObject> {
  name: string;
  summary: string;
  engines: readonly EngineName[];
  /** Can restore to an arbitrary point (before the fault), not only to the backup. */
  pointInTime: boolean;
  /** The strategy's options in the scenario (`strategy: { name, ...options }`), with defaults. */
  options: Options;
  create(options: z.infer<Options>): Strategy;
}

/** Helper for registries: keeps each definition's option type. */
export function defineStrategy<Options extends z.ZodObject>(definition: StrategyDefinition<Options>): StrategyDefinition<Options> {
  return definition;
}

