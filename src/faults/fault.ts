import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Engine, ServerPoint, SqlSession } from '../engines/engine.js';
import type { StartedDatabaseInstance } from '../providers/provider.js';

export interface FaultContext {
  engine: Engine;
  /** The provisioned source instance: the only thing a fault may touch. */
  instance: StartedDatabaseInstance;
  /** A session to the drill's database on the source. */
  session: SqlSession;
  log: Logger;
}

/** What the fault did, and its point, from which recovery targets are derived. */
export interface FaultOutcome {
  description: string;
  point: ServerPoint;
  /** The table whose rows were damaged and their fingerprints just before, when known. */
  damage?: { table: string; before: Map<string, string> };
}

export interface FaultDefinition<Params extends z.ZodObject = z.ZodObject> {
  kind: string;
  summary: string;
  /** Logical faults damage data through SQL; the server stays up. */
  logical: boolean;
  /** The fault's own fields in the scenario's `fault:` block. */
  params: Params;
  inject(context: FaultContext, params: z.infer<Params>): Promise<FaultOutcome>;
}

export function defineFault<Params extends z.ZodObject>(definition: FaultDefinition<Params>): FaultDefinition<Params> {
  return definition;
}
