import { z } from 'zod';
import type { SqlSession } from '../engines/engine.js';
import { BackupDefect, storeOutput, verifiedFile } from '../storage/transfer.js';
import { defineStrategy, type BackupResult, type PendingCapture, type StrategyContext } from './strategy.js';

/**
 * Opens a snapshot that splits the workload's writes exactly: the barrier holds new writes
 * back while the snapshot is exported, so every write before its time is in the dump and
 * none after. pg_dump then reads through `--snapshot`, and so does the source capture the
 * restore is compared with.
 */
async function exportSnapshot(context: StrategyContext): Promise<{ snapshot: string; serverTimeUs: number; position: string; session: SqlSession; capture: PendingCapture }> {
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
      const capture = await context.captureSource({ importSnapshot: row!.snapshot, exact: true });
      return { snapshot: row!.snapshot, serverTimeUs: Number(row!.t), position: row!.lsn, session, capture };
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
  keeps: 'backups',
  logical: true,
  options: z.strictObject({
    jobs: z.number().int().min(1).max(32).default(2).describe('Parallel jobs for pg_restore'),
    compression: z.number().int().min(0).max(9).default(6).describe('pg_dump compression level (0-9)'),
  }),
  create(options) {
    let taken = 0;
    return {
      async backup(context): Promise<BackupResult> {
        const { source, engine, storage } = context;
        const prefix = `pg-dump/backup-${++taken}`;
        const env = engine.clientEnv(source.localConnection);
        const snapshot = await exportSnapshot(context);
        let dump;
        try {
          // Streamed from pg_dump's stdout into the storage location: no copy on the way.
          dump = await storeOutput(
            source,
            storage,
            `${prefix}/database.dump`,
            'pg_dump',
            ['--format=custom', `--compress=${options.compression}`, `--snapshot=${snapshot.snapshot}`, ...engine.clientArgs(source.localConnection), `--dbname=${engine.databaseName}`],
            { env },
          );
        } finally {
          await snapshot.session.query('COMMIT').catch(() => undefined);
          await snapshot.session.close();
        }
        const globals = await storeOutput(source, storage, `${prefix}/globals.sql`, 'pg_dumpall', ['--globals-only', ...engine.clientArgs(source.localConnection), '--database=postgres'], { env });
        return {
          objects: [
            { name: 'dump', ...dump.object },
            { name: 'globals', ...globals.object },
          ],
          consistentAt: { serverTimeUs: snapshot.serverTimeUs, position: snapshot.position, detail: `exported snapshot ${snapshot.snapshot}` },
          state: {},
          capture: snapshot.capture,
        };
      },

      async recover(context, { backup }) {
        const { engine, storage } = context;
        const dump = backup.objects.find((object) => object.name === 'dump')!;
        const globals = backup.objects.find((object) => object.name === 'globals')!;
        const instance = await context.phase('target', async () => {
          const created = await context.createInstance('restore');
          await created.initialize();
          return created.start();
        });
        // pg_restore --jobs needs a file it can seek in: the dump itself where the instance sees
        // the storage, a copy beside the server otherwise; its checksum verified either way.
        const [dumpFile, globalsFile] = await context.phase('fetch', () =>
          Promise.all([dump, globals].map((object) => verifiedFile(context.exec, instance, storage, object, instance.paths.scratch))),
        );
        await context.phase('verify-backup', async () => {
          // The table of contents must parse; what it restores is compared with the source afterwards.
          const listed = await instance.run('pg_restore', ['--list', dumpFile], { allowFailure: true });
          if (listed.exitCode !== 0) throw new BackupDefect('unrestorable', `pg_restore cannot read the dump's table of contents: ${listed.stderr.trim().split('\n').slice(-3).join('; ')}`, dump.key);
        });
        const env = engine.clientEnv(instance.localConnection);
        await context.phase('restore', async () => {
          // Roles first (the dump refers to them); "role already exists" for the bootstrap user is expected.
          await instance.run('psql', ['-X', '-q', ...engine.clientArgs(instance.localConnection), '--dbname=postgres', '-f', globalsFile], { env });
          await instance.run('pg_restore', ['--create', '--exit-on-error', `--jobs=${options.jobs}`, ...engine.clientArgs(instance.localConnection), '--dbname=postgres', dumpFile], { env });
        });
        return {
          instance,
          recovery: { method: 'pg_restore of the dump (the state at its snapshot)', reached: true, point: 'backup', detail: 'a dump restores to the moment it was taken; writes after it are lost' },
        };
      },
    };
  },
});
