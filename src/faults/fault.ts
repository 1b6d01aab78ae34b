import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Engine, RowChange, ServerPoint, SqlSession } from '../engines/engine.js';
import type { StartedInstance, StoppedInstance } from '../providers/provider.js';
import type { StorageLocation } from '../storage/storage.js';
import type { BackupResult, StrategyDefinition } from '../strategies/strategy.js';
import type { CommandRunner } from '../util/exec.js';
import type { RowSpool } from './row-spool.js';

/** What a fault may act on: the source firedrill provisioned in this run, its storage, its backups. */
export interface FaultContext {
  engine: Engine;
  /** The provisioned source instance: the server a fault strikes. */
  source: StartedInstance;
  /** Servers running beside the source (a standby) and their regions: only a region loss touches them. */
  beside: ReadonlyArray<{ instance: StartedInstance; region: string }>;
  /** A session to the drill's database on the source (for faults that act through SQL). */
  session: SqlSession;
  /** Every storage location of the drill, by name. */
  storage: ReadonlyMap<string, StorageLocation>;
  /** The region the source runs in. */
  region: string;
  log: Logger;
  exec: CommandRunner;
  /** The drill's own temporary directory (removed with the drill), for what a fault must keep on disk. */
  workDir: string;
  /**
   * Captures the source exactly as of now, for the equality proof. A logical fault calls it
   * inside its transaction, behind the barrier, just before the damage; a fault that destroys
   * the source calls it before destroying anything. Resolves once the snapshot is open.
   */
  capture(): Promise<void>;
}

/** The source after an incident. */
export type SourceAfterFault =
  /** Still serving; `instance` when the fault restarted it (the old handle is stale). */
  | { state: 'running'; instance?: StartedInstance }
  /** Down, and can be started again (crash recovery). */
  | { state: 'stopped'; instance: StoppedInstance }
  /** Down for good: its data is gone. */
  | { state: 'gone' };

/** What an incident did, and its point, from which recovery targets are derived. */
export interface FaultOutcome {
  description: string;
  point: ServerPoint;
  /** The table whose rows were damaged, and those rows as they were just before, when known. */
  damage?: { table: string; rows: RowSpool };
  source: SourceAfterFault;
  /** Storage locations the fault destroyed (a region loss). */
  destroyedLocations?: string[];
  /** What the fault's own detection found (a checksum failure on read), when it has one. */
  detection?: string;
  /** What the figures mean, in words (what a server crash costs with these settings, and what it does not show). */
  notes?: string[];
}

/** What a fault needs to know of the drill to say whether it applies (at `validate`). */
export interface FaultApplicability {
  strategy: StrategyDefinition;
  /** Backups the scenario schedules. */
  backups: number;
  /** Storage locations and their regions. */
  storage: ReadonlyArray<{ name: string; region: string; copyOf?: string }>;
  /** The region the source runs in. */
  region: string;
}

interface FaultBase<Params extends z.ZodObject> {
  kind: string;
  summary: string;
  /** The fault's own fields in the scenario's `fault:` block. */
  params: Params;
  /** Why the fault makes no sense with this drill (a WAL gap for a dump strategy), or undefined. */
  refuse?(drill: FaultApplicability, params: z.infer<Params>): string | undefined;
}

/** A fault that starts the incident: it takes the service down or damages data, and its point is where RTO counts from. */
export interface IncidentDefinition<Params extends z.ZodObject = z.ZodObject> extends FaultBase<Params> {
  role: 'incident';
  /** Logical faults damage data through SQL; the server stays up and the damage replicates. */
  logical: boolean;
  /** The recovery target when the scenario sets none: before a logical fault, the latest for a lost server. */
  defaultTarget: 'before-fault' | 'latest';
  /** What it does to the server: keeps it serving, leaves it stopped (it can start again), or takes it for good. */
  leaves: 'running' | 'stopped' | 'gone';
  /** The row change of its table a responder finds in the server's log to name the bad transaction (a DELETE, an UPDATE). */
  changes?: RowChange;
  inject(context: FaultContext, params: z.infer<Params>): Promise<FaultOutcome>;
  /**
   * The fault's own detection (a query failing on a corrupt page), run in the detect phase in
   * place of the scenario's fixed delay; resolves with how it was noticed, or undefined if it
   * was not within `withinMs`.
   */
  detect?(context: FaultContext, outcome: FaultOutcome, params: z.infer<Params>, withinMs: number): Promise<string | undefined>;
}

/** What a latent fault may damage: the stored backups and archives, found broken when they are needed. */
export interface LatentContext {
  engine: Engine;
  /** The surviving storage locations, by name, and the one recovery will read from. */
  storage: ReadonlyMap<string, StorageLocation>;
  restoreFrom: StorageLocation;
  /** Backups taken, oldest first, with the location each was stored in. */
  backups: ReadonlyArray<{ result: BackupResult; location: string }>;
  strategy: StrategyDefinition;
  /** The incident's point (a gap "at the fault" is the archive file holding it). */
  incident: ServerPoint;
  log: Logger;
  exec: CommandRunner;
}

/** A fault in the backup chain, injected into the stored backups after the incident: what the operator finds when restoring. */
export interface LatentDefinition<Params extends z.ZodObject = z.ZodObject> extends FaultBase<Params> {
  role: 'latent';
  /** Damages the backups; resolves with what it did, in words. */
  inject(context: LatentContext, params: z.infer<Params>): Promise<string>;
}

export type FaultDefinition<Params extends z.ZodObject = z.ZodObject> = IncidentDefinition<Params> | LatentDefinition<Params>;

export function defineFault<Params extends z.ZodObject>(definition: IncidentDefinition<Params>): IncidentDefinition<Params>;
export function defineFault<Params extends z.ZodObject>(definition: LatentDefinition<Params>): LatentDefinition<Params>;
export function defineFault<Params extends z.ZodObject>(definition: FaultDefinition<Params>): FaultDefinition<Params> {
  return definition;
}
