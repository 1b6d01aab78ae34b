import { PassThrough } from 'node:stream';
import type { StartedInstance } from '../providers/provider.js';
import { onInstance } from './session.js';
import { waitUntil } from '../providers/readiness.js';
import type { Engine, Replication } from './engine.js';

const WAIT_MS = 60_000;
/** Semi-synchronous replication falls back to asynchronous after this timeout: an hour, so it never does so silently in a drill. */
const SEMI_SYNC_TIMEOUT_MS = 3_600_000;

interface SlaveStatus {
  Slave_IO_Running: string;
  Slave_SQL_Running: string;
  Seconds_Behind_Master: string | null;
  Read_Master_Log_Pos: string;
  Exec_Master_Log_Pos: string;
  Master_Log_File: string;
  Relay_Master_Log_File: string;
  Last_IO_Error: string;
  Last_SQL_Error: string;
}


const status = (engine: Engine, standby: StartedInstance) => onInstance(engine, standby, async (session) => (await session.query<SlaveStatus>('SHOW SLAVE STATUS'))[0]);

/** The GTID just before `gtid` in its domain (`0-1-42` → `0-1-41`). */
function previousGtid(gtid: string): string {
  const [domain, server, seq] = gtid.split('-');
  return `${domain}-${server}-${Number(seq) - 1}`;
}

/**
 * MariaDB replication from a GTID position: a mariadb-backup of the primary streamed straight
 * into the standby, prepared, started as server 2, and replicating from the GTID the backup is
 * consistent with; semi-synchronous for `sync` (a commit is acknowledged once the standby has
 * the event). Promotion applies what the relay log holds (or stops just before the fault) and
 * opens the standby for writes.
 */
export function mariadbReplication(engine: Engine): Replication {
  return {
    primarySettings: () => ({ 'log-bin': 'binlog', 'binlog-format': 'ROW', 'server-id': '1' }),

    async createStandby(primary, standby, { sync, delayMs, exec }) {
      const copy = `${standby.paths.scratch}/standby-copy`;
      await standby.claim(copy);
      const pipe = new PassThrough();
      // Streamed from one instance's tool into the other's: no file in between.
      await Promise.all([
        primary.run('mariadb-backup', [...engine.clientArgs(primary.localConnection), '--backup', '--stream=mbstream', `--target-dir=${primary.paths.scratch}/tmp`, `--datadir=${primary.paths.data}`], {
          env: engine.clientEnv(primary.localConnection),
          stdout: { stream: pipe, describe: '| the next command' },
        }),
        standby.run('mbstream', ['-x', '-C', copy], { stdin: { stream: pipe, describe: 'the previous command |' } }),
      ]);
      await standby.run('mariadb-backup', ['--no-defaults', '--prepare', `--target-dir=${copy}`]);
      const gtid = /\S+\s+\d+\s+(\S+)/.exec((await standby.readFile(`${copy}/xtrabackup_binlog_info`)).toString('utf8'))?.[1];
      if (!gtid) throw new Error('the copy for the standby has no GTID (xtrabackup_binlog_info); is the primary\'s binary log on?');
      await standby.claim(standby.paths.data);
      await standby.run('mariadb-backup', ['--no-defaults', '--move-back', `--target-dir=${copy}`, `--datadir=${standby.paths.data}`]);
      const started = await standby.start({ settings: { 'server-id': '2', 'log-bin': 'binlog', 'binlog-format': 'ROW', 'skip-slave-start': 'ON', 'read-only': 'ON' } });
      const change = `SET GLOBAL gtid_slave_pos = '${gtid}';
        CHANGE MASTER TO MASTER_HOST = '${primary.peer.host}', MASTER_PORT = ${primary.peer.port}, MASTER_USER = '${primary.connection.user}', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos, MASTER_DELAY = ${Math.round(delayMs / 1000)}`;
      await exec.step(`on the standby: ${change.replace(/\s+/g, ' ')}; START SLAVE`, () =>
        onInstance(engine, started, async (session) => {
          if (sync) await session.query('SET GLOBAL rpl_semi_sync_slave_enabled = ON');
          await session.query(change);
          await session.query('START SLAVE');
        }),
      );
      await waitUntil(async () => (await status(engine, started))?.Slave_IO_Running === 'Yes', { timeoutMs: WAIT_MS, what: 'the standby replicating from the primary' });
      if (sync) {
        // Only now: with no semi-synchronous standby connected, every commit would wait for the timeout.
        await exec.step(`on the primary: SET GLOBAL rpl_semi_sync_master_timeout = ${SEMI_SYNC_TIMEOUT_MS}, rpl_semi_sync_master_enabled = ON`, () =>
          onInstance(engine, primary, (session) => session.query(`SET GLOBAL rpl_semi_sync_master_timeout = ${SEMI_SYNC_TIMEOUT_MS}; SET GLOBAL rpl_semi_sync_master_enabled = ON`)),
        );
        await waitUntil(
          async () => {
            const [row] = await onInstance(engine, primary, (session) => session.query<{ Value: string }>("SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'"));
            return Number(row?.Value ?? 0) >= 1;
          },
          { timeoutMs: WAIT_MS, what: 'the primary waiting for the standby on every commit (semi-synchronous)' },
        );
      }
      return started;
    },

    async lag(primary, standby) {
      // The standby first: the primary can only have moved on since, so the difference is never negative.
      const slave = await status(engine, standby);
      const [master] = await onInstance(engine, primary, (session) => session.query<{ File: string; Position: string }>('SHOW MASTER STATUS'));
      const bytes = master && slave && slave.Relay_Master_Log_File === master.File ? Number(master.Position) - Number(slave.Exec_Master_Log_Pos) : null;
      return { bytes, ms: slave?.Seconds_Behind_Master == null ? null : Number(slave.Seconds_Behind_Master) * 1000 };
    },

    async promote(standby, { before, delayMs = 0, exec }) {
      let reached = true;
      let detail: string;
      if (before?.transaction) {
        // A delayed standby that has not applied the fault yet: apply up to just before it, at once.
        const until = previousGtid(before.transaction);
        await exec.step(`on the standby: STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE UNTIL master_gtid_pos = '${until}'`, () =>
          onInstance(engine, standby, (session) => session.query(`STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE UNTIL master_gtid_pos = '${until}'`)),
        );
        await waitUntil(async () => (await status(engine, standby))?.Slave_SQL_Running === 'No', { timeoutMs: WAIT_MS, what: 'the standby applying up to just before the fault' });
        const [row] = await onInstance(engine, standby, (session) => session.query<{ pos: string }>('SELECT @@gtid_slave_pos AS pos'));
        reached = row!.pos.split(',').map((gtid) => gtid.trim()).includes(until);
        detail = `applied up to GTID ${row!.pos}, just before the fault's ${before.transaction}`;
      } else {
        // Everything received is applied before the standby stops being one. MASTER_DELAY can only
        // be changed by CHANGE MASTER, which would drop the relay log the old primary can no longer
        // send again: a delayed standby applies its last events when their delay is up.
        await exec.step('on the standby: STOP SLAVE IO_THREAD, wait until the relay log is applied', () => onInstance(engine, standby, (session) => session.query('STOP SLAVE IO_THREAD')));
        await waitUntil(
          async () => {
            const slave = await status(engine, standby);
            return !slave || slave.Exec_Master_Log_Pos === slave.Read_Master_Log_Pos || slave.Slave_SQL_Running !== 'Yes';
          },
          { timeoutMs: WAIT_MS + delayMs, what: 'the standby applying its relay log' },
        );
        const slave = await status(engine, standby);
        if (slave?.Last_SQL_Error) reached = false;
        detail = slave?.Last_SQL_Error
          ? `the standby stopped applying: ${slave.Last_SQL_Error}`
          : `the standby was promoted with everything it had received${delayMs ? ', once its apply delay had passed' : ''}`;
      }
      await exec.step('on the standby: STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF', () =>
        onInstance(engine, standby, (session) => session.query('STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF')),
      );
      await standby.waitWritable();
      return { instance: standby, reached, detail };
    },
  };
}
