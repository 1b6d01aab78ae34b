import { onInstance } from './session.js';
import { waitUntil } from '../providers/readiness.js';
import type { Engine, Replication } from './engine.js';

/** The name the standby connects with: how the primary's synchronous_standby_names finds it. */
const STANDBY_NAME = 'firedrill_standby';
const WAIT_MS = 60_000;


/** PostgreSQL streaming replication: pg_basebackup from the primary, standby.signal, primary_conninfo; pg_promote. */
export function postgresReplication(engine: Engine): Replication {
  return {
    primarySettings: () => ({ wal_level: 'replica', max_wal_senders: '10', hot_standby: 'on' }),

    async createStandby(primary, standby, { sync, delayMs, exec }) {
      await standby.claim(standby.paths.data);
      // Run beside the standby (its version), reading from the primary over the network as a standby host would.
      await standby.run('pg_basebackup', ['-D', standby.paths.data, '--wal-method=stream', '--checkpoint=fast', '--no-password', '-h', primary.peer.host, '-p', String(primary.peer.port), '-U', primary.connection.user], {
        env: engine.clientEnv(primary.connection),
      });
      await exec.step(`touch ${standby.paths.data}/standby.signal`, () => standby.writeFile(`${standby.paths.data}/standby.signal`, ''));
      const started = await standby.start({
        settings: {
          primary_conninfo: `host=${primary.peer.host} port=${primary.peer.port} user=${primary.connection.user} application_name=${STANDBY_NAME}`,
          hot_standby: 'on',
          // The standby's own timeline must never reach the primary's archive.
          archive_mode: 'off',
        },
      });
      if (delayMs > 0) {
        // Set once the standby is consistent: delayed from its start, it would not even open
        // until the base copy's own commits were a delay old.
        await exec.step(`on the standby: ALTER SYSTEM SET recovery_min_apply_delay = '${Math.round(delayMs)}ms'; SELECT pg_reload_conf()`, () =>
          onInstance(engine, started, async (session) => {
            await session.query(`ALTER SYSTEM SET recovery_min_apply_delay = '${Math.round(delayMs)}ms'`);
            await session.query('SELECT pg_reload_conf()');
          }),
        );
      }
      const state = () => onInstance(engine, primary, (session) => session.query<{ state: string; sync_state: string }>(`SELECT state, sync_state FROM pg_stat_replication WHERE application_name = '${STANDBY_NAME}'`));
      await waitUntil(async () => (await state())[0]?.state === 'streaming', { timeoutMs: WAIT_MS, what: 'the standby streaming from the primary' });
      if (sync) {
        // Only now: with no standby connected, every commit would wait for one.
        await exec.step(`on the primary: ALTER SYSTEM SET synchronous_standby_names = '${STANDBY_NAME}'; SELECT pg_reload_conf()`, () =>
          onInstance(engine, primary, async (session) => {
            await session.query(`ALTER SYSTEM SET synchronous_standby_names = '${STANDBY_NAME}'`);
            await session.query('SELECT pg_reload_conf()');
          }),
        );
        await waitUntil(async () => (await state())[0]?.sync_state === 'sync', { timeoutMs: WAIT_MS, what: 'the primary waiting for the standby on every commit' });
      }
      return started;
    },

    async lag(primary) {
      const [row] = await onInstance(engine, primary, (session) =>
        session.query<{ bytes: string | null; ms: string | null }>(
          `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS bytes, (extract(epoch from replay_lag) * 1000)::text AS ms
             FROM pg_stat_replication WHERE application_name = '${STANDBY_NAME}'`,
        ),
      );
      const bytes = row?.bytes == null ? null : Number(row.bytes);
      // replay_lag is NULL once a standby has caught up and nothing happened for a while: no lag then.
      return { bytes, ms: row?.ms != null ? Number(row.ms) : bytes === 0 ? 0 : null };
    },

    async promote(standby, { before, exec }) {
      if (before?.transaction) {
        // A delayed standby that has not applied the fault yet: replay just up to it, then promote.
        const stopped = await standby.stop();
        const instance = await stopped.start({
          settings: {
            recovery_min_apply_delay: '0',
            recovery_target_xid: before.transaction,
            recovery_target_inclusive: 'false',
            recovery_target_action: 'promote',
          },
        });
        await instance.waitWritable();
        const log = await instance.serverLog();
        const stop = /recovery stopping before commit of transaction \d+[^\n]*/.exec(log)?.[0];
        return { instance, reached: Boolean(stop?.includes(`transaction ${before.transaction}`)), detail: stop ?? 'the standby was promoted without stopping before the fault (had it applied it already?)' };
      }
      // Promotion ends the apply delay: the rest of what it received is replayed at once.
      await exec.step('on the standby: SELECT pg_promote(wait => true)', () => onInstance(engine, standby, (session) => session.query('SELECT pg_promote(true, 60)')));
      await standby.waitWritable();
      return { instance: standby, reached: true, detail: 'the standby was promoted with everything it had received' };
    },
  };
}
