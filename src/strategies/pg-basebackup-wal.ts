import type { RecoveryRecord } from '../journal/types.js';
import type { StartedInstance } from '../providers/provider.js';
import { logTail } from '../providers/readiness.js';
import { formatServerTime } from '../util/time.js';
import { baseBackupOptions, baseBackupState, takeBaseBackup, unpackBaseBackup } from './pg-basebackup.js';
import { BackupDefect } from '../storage/transfer.js';
import { fetchWal, lastWalSegmentBefore, nextWalSegment, switchAndArchive, WAL_PREFIX, walArchiveSetup, walSegmentOf } from './postgres-wal.js';
import { faultXid, postgresTime, recoveryStop, replayedBy, TARGET_NOT_REACHED } from './postgres-recovery.js';
import { defineStrategy, type RecoverRequest, type RecoveryTarget } from './strategy.js';

/** Recovery settings for a target; the fault's transaction id makes "before the fault" exact. */
function recoverySettings(target: RecoveryTarget, request: RecoverRequest): { settings: Record<string, string>; method: string } {
  if (target.kind === 'latest') return { settings: {}, method: 'replay every archived WAL segment (latest)' };
  if (target.kind === 'time') {
    const time = postgresTime(target.time);
    return { settings: { recovery_target_time: time, recovery_target_inclusive: 'false' }, method: `recovery_target_time='${time}'` };
  }
  const xid = faultXid(request);
  return {
    settings: { recovery_target_xid: xid, recovery_target_inclusive: 'false' },
    method: `recovery_target_xid=${xid} exclusive (stop just before the fault's commit)`,
  };
}

export const pgBasebackupWal = defineStrategy({
  name: 'pg-basebackup-wal',
  summary: 'pg_basebackup + continuous WAL archiving; point-in-time restore to just before the fault (by transaction id)',
  engines: ['postgres'],
  pointInTime: true,
  keeps: 'backups',
  archive: { prefix: WAL_PREFIX, file: 'WAL segment', fileOf: (lsn) => walSegmentOf(lsn) },
  logical: false,
  options: baseBackupOptions,
  create(options) {
    let taken = 0;
    return {
      sourceSetup: ({ archive }) => walArchiveSetup(archive),
      // The WAL comes from the archive, like every later segment.
      backup: (context) => takeBaseBackup(context, `pg-basebackup-wal/backup-${++taken}/base`, options, 'none'),
      afterDetection: switchAndArchive,

      async recover(context, request) {
        const state = baseBackupState(request.backup);
        if (!state.startLsn) throw new Error('the base backup recorded no WAL start point (pg_basebackup --verbose printed none), so there is nowhere to start replay');
        const unpacked = await unpackBaseBackup(context, request.backup);
        const first = walSegmentOf(state.startLsn);
        // Before the fault, the segment holding the fault must be there; for the latest, whatever the archive has.
        const needed = request.target.kind === 'before-fault' && request.faultPoint.position ? walSegmentOf(request.faultPoint.position) : undefined;
        const wal = await fetchWal(context, unpacked, first, needed);
        // Every segment the backup was taken across, or the server refuses to start (and a copy
        // that had not caught up when its origin was lost looks exactly like that).
        const last = state.endLsn ? lastWalSegmentBefore(state.endLsn) : first;
        const missing = wal.segments.includes(last) ? undefined : (wal.gap ?? (wal.segments.length > 0 ? nextWalSegment(wal.segments.at(-1)!) : first));
        if (missing) {
          const range = last === first ? '' : ` (its WAL ${first} – ${last})`;
          throw new BackupDefect('missing', `WAL segment ${missing}, which base backup ${request.backup.objects[0]!.key} needs to be consistent${range}, is missing from archive "${context.storage.name}"`, `${WAL_PREFIX}/${missing}`);
        }
        const { settings, method } = recoverySettings(request.target, request);
        // archive_mode off: the restored server's new timeline must never reach the archive it restores from.
        const recovery = { restore_command: `cp ${wal.dir}/%f %p`, recovery_target_action: 'promote', archive_mode: 'off', ...settings };
        const signal = () => context.exec.step(`touch ${unpacked.paths.data}/recovery.signal`, () => unpacked.writeFile(`${unpacked.paths.data}/recovery.signal`, ''));
        let instance: StartedInstance;
        let reached: boolean | null = true;
        try {
          instance = await context.phase('start', async () => {
            await signal();
            return unpacked.start({ settings: recovery });
          });
          await context.phase('replay', () => instance.waitWritable());
        } catch (error) {
          // With hot standby the server can accept connections and only then find the archive
          // ends before the target: both the start and the replay wait can see it.
          if (!TARGET_NOT_REACHED.test(logTail(await unpacked.serverLog(), 40))) throw error;
          // Do what an operator must: recover as far as the archive goes and open, and let the
          // ledger count the real loss.
          reached = false;
          const { restore_command, recovery_target_action, archive_mode } = recovery;
          instance = await context.phase('start', async () => {
            await signal();
            return unpacked.start({ settings: { restore_command, recovery_target_action, archive_mode } });
          });
          await context.phase('replay', () => instance.waitWritable());
        }
        const log = await instance.serverLog();
        const stop = recoveryStop(log);
        if (reached && request.target.kind === 'before-fault') reached = stop?.includes(`transaction ${request.faultPoint.transaction}`) ?? false;
        if (wal.gap) reached = false;
        const { replayedBytes, ...replayed } = await replayedBy(instance);
        const gap = wal.gap ? { what: `WAL segment ${wal.gap}`, location: context.storage.name } : undefined;
        const where = `${stop ?? 'see the server log'}${replayed.stoppedAtUs ? `; last replayed commit at ${formatServerTime(replayed.stoppedAtUs)}` : ''}`;
        const detail =
          reached === false
            ? `${gap ? `WAL segment ${wal.gap} is missing from archive "${context.storage.name}" (${wal.newest && wal.newest > (wal.gap ?? '') ? `later segments up to ${wal.newest} are there` : 'the archive ends before it'}); ` : ''}recovery stopped before the target: ${where}`
            : `${where}; replayed ${wal.segments.length} archived segments`;
        const record: Omit<RecoveryRecord, 'target'> = {
          method,
          reached,
          point: request.target.kind === 'before-fault' ? 'fault' : request.target.kind,
          detail,
          ...(gap ? { gap } : {}),
          ...replayed,
        };
        return { instance, recovery: record, ...(replayedBytes !== undefined ? { replayedBytes } : {}) };
      },
    };
  },
});
