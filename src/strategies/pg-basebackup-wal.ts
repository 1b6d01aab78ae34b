import { join } from 'node:path';
import { sleep } from '../util/clock.js';
import { logTail } from '../providers/local/local-server.js';
import { readFile } from 'node:fs/promises';
import { baseBackupOptions, takeBaseBackup, unpackBaseBackup } from './pg-basebackup.js';
import { defineStrategy, type RecoveryTarget, type RestoreRequest } from './strategy.js';

const WAL_PREFIX = 'pg-wal';
const ARCHIVE_WAIT_MS = 60_000;
const TARGET_NOT_REACHED = /recovery ended before configured recovery target was reached/;

/** Recovery settings for a target; the fault's transaction id makes "before the fault" exact. */
function recoverySettings(target: RecoveryTarget, request: RestoreRequest): { settings: Record<string, string>; method: string } {
  if (target.kind === 'latest') return { settings: {}, method: 'replay every archived WAL segment (latest)' };
  if (target.kind === 'time') {
    return { settings: { recovery_target_time: target.time, recovery_target_inclusive: 'false' }, method: `recovery_target_time='${target.time}'` };
  }
  const xid = request.faultPoint?.transaction;
  if (!xid) throw new Error('the fault recorded no transaction id, so "before-fault" cannot be targeted exactly');
  return {
    settings: { recovery_target_xid: xid, recovery_target_inclusive: 'false' },
    method: `recovery_target_xid=${xid} exclusive (stop just before the fault's commit)`,
  };
}

/** What the server log says about where recovery stopped. */
async function recoveryStop(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return /recovery stopping (before|after) [^\n]*/.exec(text)?.[0] ?? /redo done at [^\n]*/.exec(text)?.[0];
}

export const pgBasebackupWal = defineStrategy({
  name: 'pg-basebackup-wal',
  summary: 'pg_basebackup + continuous WAL archiving; point-in-time restore to just before the fault (by transaction id)',
  engines: ['postgres'],
  pointInTime: true,
  options: baseBackupOptions,
  create(options) {
    return {
      sourceSettings: ({ storage }) => ({
        archive_mode: 'on',
        archive_command: storage.walArchiveCommand(WAL_PREFIX),
      }),

      backup: (context) => takeBaseBackup(context, 'pg-basebackup-wal', options.compression),

      async afterDetection(context) {
        // What an operator does first: close the current WAL segment so the fault's commit
        // reaches the archive, and wait until it is there.
        const session = await context.engine.connect(context.source.connection);
        try {
          const [row] = await session.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
          const started = performance.now();
          for (;;) {
            const [status] = await session.query<{ last: string | null; failed: string | null }>(
              'SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_stat_archiver',
            );
            if (status!.last && status!.last >= row!.segment) break;
            if (performance.now() - started > ARCHIVE_WAIT_MS) {
              throw new Error(`WAL segment ${row!.segment} was not archived within ${ARCHIVE_WAIT_MS / 1000} s (last failed: ${status!.failed ?? 'none'}); check archive_command in ${context.source.logFile}`);
            }
            await sleep(50);
          }
        } finally {
          await session.close();
        }
      },

      async restore(context, request) {
        const unpacked = await unpackBaseBackup(context, request.backup);
        const { settings, method } = recoverySettings(request.target, request);
        const recovery = {
          restore_command: context.storage.walRestoreCommand(WAL_PREFIX),
          recovery_target_action: 'promote',
          ...settings,
        };
        await context.exec.run('touch', [join(unpacked.dataDir, 'recovery.signal')], { user: unpacked.user });
        let instance;
        let reached: boolean | null = true;
        try {
          instance = await context.phase('start', () => unpacked.start({ settings: recovery }));
          await context.phase('replay', () => instance!.waitWritable());
        } catch (error) {
          // With hot standby the server can accept connections and only then find the archive
          // ends before the target: both the start and the replay wait can see it.
          if (!TARGET_NOT_REACHED.test(await logTail(unpacked.logFile, 40))) throw error;
          // Do what an operator must: recover as far as the archive goes and open, and let the
          // ledger count the real loss.
          reached = false;
          const { restore_command, recovery_target_action } = recovery;
          await context.exec.run('touch', [join(unpacked.dataDir, 'recovery.signal')], { user: unpacked.user });
          instance = await context.phase('start', () => unpacked.start({ settings: { restore_command, recovery_target_action } }));
          await context.phase('replay', () => instance!.waitWritable());
        }
        const stop = await recoveryStop(unpacked.logFile);
        if (reached && request.target.kind === 'before-fault') {
          reached = stop?.includes(`transaction ${request.faultPoint?.transaction}`) ?? false;
        }
        const detail = reached === false ? `recovery stopped before the target (${stop ?? 'see server log'}); opened at the end of the archive` : (stop ?? 'recovery complete');
        return { instance, recovery: { method, reached, detail } };
      },
    };
  },
});
