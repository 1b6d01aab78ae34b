import { join } from 'node:path';
import { z } from 'zod';
import type { SqlSession } from '../engines/engine.js';
import { pgConnectionArgs, pgEnv, pgTool } from './postgres-tools.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

const DUMP_KEY = 'pg-dump/database.dump';
const GLOBALS_KEY = 'pg-dump/globals.sql';

/**
 * Opens a snapshot that splits the workload's writes exactly: the barrier holds new writes
 * back while the snapshot is exported, so every write before its time is in the dump and
 * none after. pg_dump then reads through `--snapshot`.
 */
async function exportSnapshot(context: StrategyContext): Promise<{ snapshot: string; serverTimeUs: number; position: string; session: SqlSession }> {
  const { engine, source } = context;
  const connection = { ...source.connection, database: engine.databaseName };
  const barrier = await engine.connect(connection);
  const session = await engine.connect(connection);
  try {
    const release = await engine.holdBarrier(barrier);
    try {
      await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const [row] = await session.query<{ snapshot: string; t: string; lsn: string }>(
        `SELECT pg_export_snapshot() AS snapshot, (extract(epoch from clock_timestamp()) * 1000000)::bigint AS t, pg_current_wal_lsn()::text AS lsn`,
      );
      return { snapshot: row!.snapshot, serverTimeUs: Number(row!.t), position: row!.lsn, session };
    } finally {
      await release();
    }
  } catch (error) {
    await session.close();
    throw error;
  } finally {
    await barrier.close();
  }
}

export const pgDump = defineStrategy({
  name: 'pg-dump',
  summary: 'pg_dump --format=custom (+ pg_dumpall --globals-only) under load; pg_restore --jobs into a fresh instance',
  engines: ['postgres'],
  pointInTime: false,
  options: z.strictObject({
    jobs: z.number().int().min(1).max(32).default(2).describe('Parallel jobs for pg_restore'),
    compression: z.number().int().min(0).max(9).default(6).describe('pg_dump compression level (0-9)'),
  }),
  create(options) {
    return {
      async backup(context): Promise<BackupResult> {
        const { source, engine, storage, exec, workDir } = context;
        const dumpFile = join(workDir, 'database.dump');
        const globalsFile = join(workDir, 'globals.sql');
        const snapshot = await exportSnapshot(context);
        try {
          await exec.run(
            await pgTool(context, 'pg_dump'),
            ['--format=custom', `--compress=${options.compression}`, `--snapshot=${snapshot.snapshot}`, `--file=${dumpFile}`, ...pgConnectionArgs(source.connection), `--dbname=${engine.databaseName}`],
            { env: pgEnv(source.connection) },
          );
        } finally {
          await snapshot.session.query('COMMIT').catch(() => undefined);
          await snapshot.session.close();
        }
        await exec.run(await pgTool(context, 'pg_dumpall'), ['--globals-only', `--file=${globalsFile}`, ...pgConnectionArgs(source.connection), '--database=postgres'], {
          env: pgEnv(source.connection),
        });
        return {
          objects: [
            { name: 'dump', ...(await storage.put(DUMP_KEY, dumpFile)) },
            { name: 'globals', ...(await storage.put(GLOBALS_KEY, globalsFile)) },
          ],
          consistentAt: { serverTimeUs: snapshot.serverTimeUs, position: snapshot.position, detail: `exported snapshot ${snapshot.snapshot}` },
          state: {},
        };
      },

      async restore(context) {
        const { provider, providerContext, engine, storage, exec, workDir } = context;
        const [dump, globals] = await context.phase('fetch', () => Promise.all([storage.fetch(DUMP_KEY, workDir), storage.fetch(GLOBALS_KEY, workDir)]));
        const instance = await context.phase('start', async () => {
          const created = await provider.create({ name: 'restore', engine, version: context.version }, providerContext);
          await created.initialize();
          return created.start();
        });
        await context.phase('restore', async () => {
          // Roles first (the dump refers to them); "role already exists" for the bootstrap user is expected.
          await exec.run(await pgTool(context, 'psql'), ['-X', '-q', ...pgConnectionArgs(instance.connection), '--dbname=postgres', '-f', globals], { env: pgEnv(instance.connection) });
          await exec.run(
            await pgTool(context, 'pg_restore'),
            ['--create', '--exit-on-error', `--jobs=${options.jobs}`, ...pgConnectionArgs(instance.connection), '--dbname=postgres', dump],
            { env: pgEnv(instance.connection) },
          );
        });
        return {
          instance,
          recovery: { method: 'pg_restore of the dump (the state at its snapshot)', reached: true, detail: 'a dump restores to the moment it was taken; writes after it are lost' },
        };
      },
    };
  },
});
