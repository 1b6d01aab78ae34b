import type { ConnectionInfo, Engine, SqlSession } from '../engines/engine.js';
import type { StartedInstance } from '../providers/provider.js';

/** A deterministic pseudo-random source (mulberry32), so the same seed gives the same data and load. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LoadContext {
  engine: Engine;
  /** The instance being loaded: the engine's client runs beside it. */
  instance: StartedInstance;
  /** The drill's database on it, from this machine. */
  connection: ConnectionInfo;
  session: SqlSession;
}

/** One write of the workload: its business statements, and the row id it creates (for damage accounting). */
export interface WorkloadWrite {
  statements: string[];
  /** Id of the row it creates (the leading key of every row it writes), for damage accounting. */
  ref: number | null;
}

export interface Dataset {
  describe(): string;
  /** Creates and fills the schema in an empty database. */
  load(context: LoadContext): Promise<void>;
  /**
   * What the load would produce, as a string to hash into the seeded-data cache's key: the
   * statements it runs, or the files' contents. Whatever changes the data must change it. Known
   * before any server runs.
   */
  identity(): Promise<string>;
  /** The business part of one workload transaction. */
  write(writer: number, seq: number, random: () => number): WorkloadWrite;
}

/** Ids of rows the workload creates: far above seeded ids, unique per writer and sequence. */
export function workloadId(writer: number, seq: number): number {
  return 1_000_000_000 + writer * 10_000_000 + seq;
}
