import type { DrillOptions, DrillOutcome } from '../../src/runner/drill.js';
import type { AckedWrite } from '../../src/workload/ledger.js';
import { drill } from './drills.js';

/** A drill whose recovered database the test reads itself, so the loss is counted without the drill's own arithmetic. */
export interface CountedOutcome extends DrillOutcome {
  /** Acknowledged writes (by the client's own record) whose ledger row the recovered database does not hold; undefined when nothing was recovered. */
  lostByTest?: AckedWrite[];
}

const keyOf = (write: { writer: number; seq: number }) => `${write.writer}/${write.seq}`;

/**
 * Runs a drill and, on the recovered database, reads every workload row with the test's own
 * query; the writes the client saw acknowledged and the database does not have are the loss.
 */
export async function drillCounting(yaml: string, options: Pick<DrillOptions, 'hooks'> = {}): Promise<CountedOutcome> {
  let present: Set<string> | undefined;
  const outcome = await drill(yaml, {
    hooks: {
      ...options.hooks,
      async afterRecovery(instance) {
        const session = await instance.engine.connect({ ...instance.connection, database: instance.engine.databaseName });
        try {
          const rows = await session.query<{ writer: number | string; seq: number | string }>('SELECT writer, seq FROM firedrill_ledger');
          present = new Set(rows.map((row) => keyOf({ writer: Number(row.writer), seq: Number(row.seq) })));
        } finally {
          await session.close();
        }
      },
    },
  });
  if (!present) return outcome;
  const found = present;
  return { ...outcome, lostByTest: outcome.ledger.acked.filter((write) => !found.has(keyOf(write))) };
}

/**
 * The writes lost are a tail: every acknowledged write after the newest one still present is
 * lost, none before it (what a crash or a lost disk does, as opposed to holes in the middle).
 */
export function isTail(acked: readonly AckedWrite[], lost: readonly AckedWrite[]): boolean {
  const lostKeys = new Set(lost.map(keyOf));
  const kept = acked.filter((write) => !lostKeys.has(keyOf(write)));
  const newestKept = Math.max(-Infinity, ...kept.map((write) => write.serverTimeUs));
  const oldestLost = Math.min(Infinity, ...lost.map((write) => write.serverTimeUs));
  return oldestLost >= newestKept;
}
