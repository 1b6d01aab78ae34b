import type { RecoveryRecord } from '../journal/types.js';
import type { StartedInstance, StoppedInstance } from '../providers/provider.js';
import { logTail } from '../providers/readiness.js';
import { formatServerTime } from '../util/time.js';
import type { RecoverRequest, RecoverResult, StrategyContext } from './strategy.js';

export const TARGET_NOT_REACHED = /recovery ended before configured recovery target was reached/;

/** What the server log says about where recovery stopped. */
export function recoveryStop(log: string): string | undefined {
  return /recovery stopping (before|after) [^\n]*/.exec(log)?.[0] ?? /redo done at [0-9A-F]+\/[0-9A-F]+/.exec(log)?.[0];
}

/**
 * Where recovery stopped, from the recovered server: the time of the last transaction it
 * replayed (µs since the epoch; it stays set after promotion), and the bytes of WAL it applied,
 * from the start the backup's label gave (the label is renamed backup_label.old once read) to
 * the last record replayed.
 */
export async function replayedBy(instance: StartedInstance): Promise<Pick<RecoveryRecord, 'stoppedAtUs'> & Pick<RecoverResult, 'replayedBytes'>> {
  const label = await instance.readFile(`${instance.paths.data}/backup_label.old`).then(String, () => '');
  const start = /^START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/m.exec(label)?.[1];
  const session = await instance.engine.connect(instance.connection);
  try {
    const [row] = await session.query<{ t: string | null; bytes: string | null }>(
      `SELECT (extract(epoch from pg_last_xact_replay_timestamp()) * 1000000)::bigint::text AS t, ${start ? `pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '${start}')::bigint::text` : 'NULL'} AS bytes`,
    );
    return { ...(row?.t ? { stoppedAtUs: Number(row.t) } : {}), ...(row?.bytes ? { replayedBytes: Number(row.bytes) } : {}) };
  } finally {
    await session.close();
  }
}

/**
 * Starts a PostgreSQL restore that a backup tool prepared (its recovery settings written into
 * the data directory) and waits until it accepts writes. When the archive ends before the
 * target, PostgreSQL refuses to open: `again` prepares the restore once more without a target,
 * and it opens as far as the archive goes, as an operator would — `reached` is false then.
 * The record says where recovery stopped and the last commit it replayed.
 */
export async function startPreparedRestore(
  context: StrategyContext,
  target: StoppedInstance,
  request: RecoverRequest,
  how: { method: string; again: () => Promise<void>; restored: string },
): Promise<RecoverResult> {
  let instance: StartedInstance;
  let reached: boolean | null = true;
  try {
    instance = await context.phase('start', () => target.start({ settings: {} }));
    await context.phase('replay', () => instance.waitWritable());
  } catch (error) {
    if (!TARGET_NOT_REACHED.test(logTail(await target.serverLog(), 40))) throw error;
    reached = false;
    await context.phase('restore', how.again);
    instance = await context.phase('start', () => target.start({ settings: {} }));
    await context.phase('replay', () => instance.waitWritable());
  }
  const stop = recoveryStop(await instance.serverLog());
  if (reached && request.target.kind === 'before-fault') reached = stop?.includes(`transaction ${request.faultPoint.transaction}`) ?? false;
  const { replayedBytes, ...replayed } = await replayedBy(instance);
  const where = `${stop ?? 'see the server log'}${replayed.stoppedAtUs ? `; last replayed commit at ${formatServerTime(replayed.stoppedAtUs)}` : ''}`;
  const recovery: Omit<RecoveryRecord, 'target'> = {
    method: how.method,
    reached,
    point: request.target.kind === 'before-fault' ? 'fault' : request.target.kind,
    detail: `${reached === false ? 'recovery stopped before the target: ' : ''}${where}; ${how.restored}`,
    ...replayed,
  };
  return { instance, recovery, ...(replayedBytes !== undefined ? { replayedBytes } : {}) };
}

/** Phase `target`: the instance a physical restore goes into, its data directory made and left empty. */
export function emptyRestoreTarget(context: StrategyContext): Promise<StoppedInstance> {
  return context.phase('target', async () => {
    const instance = await context.createInstance('restore');
    await instance.claim(instance.paths.data);
    return instance;
  });
}

/** The fault's transaction id, which makes "before the fault" exact; a drill without one cannot target it. */
export function faultXid(request: RecoverRequest): string {
  const xid = request.faultPoint.transaction;
  if (!xid) throw new Error('the fault recorded no transaction id, so "before-fault" cannot be targeted exactly');
  return xid;
}

/** A time target as PostgreSQL and its tools read it: a numeric zone (the server parses it before it knows abbreviations). */
export const postgresTime = (time: string) => new Date(time).toISOString().replace('T', ' ').replace('Z', '+00');
