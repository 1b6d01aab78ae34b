import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { mariadbClientArgs, mariadbEnv } from '../engines/mariadb-binaries.js';
import { formatBinlogPosition, userDatabases, type BinlogPosition } from '../engines/mariadb.js';
import type { ServerPoint, SqlSession } from '../engines/engine.js';
import type { StartedDatabaseInstance } from '../providers/provider.js';
import { waitUntil } from '../providers/readiness.js';
import { BINLOG_SETTINGS, mariadbTool, withSession } from './mariadb-tools.js';
import { defineStrategy, type BackupResult, type StrategyContext } from './strategy.js';

/**
 * The account mariadb-dump connects as. Its own name is how the barrier holder recognises the
 * dump's transaction among the workload's (they all connect as root).
 */
const DUMP_USER = 'firedrill_dump';
const SNAPSHOT_WAIT_MS = 30_000;

/** Creates the dump account (before the workload, so its statements are not in the replayed binlog range). */
export async function createDumpUser(context: StrategyContext): Promise<void> {
  await withSession(context, context.source, async (session) => {
    await session.query(`CREATE USER IF NOT EXISTS '${DUMP_USER}'@'%'`);
    // What --single-transaction --master-data --routines --triggers --events needs, and no more:
    // MariaDB hands the dump its snapshot's binlog coordinates as status variables, without
    // FLUSH TABLES WITH READ LOCK, so neither RELOAD nor LOCK TABLES nor BINLOG MONITOR.
    await session.query(`GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* TO '${DUMP_USER}'@'%'`);
  });
}

/** Has mariadb-dump opened its consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT)? */
async function dumpHasSnapshot(session: SqlSession): Promise<boolean> {
  const [row] = await session.query<{ n: string }>(
    `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.USER = '${DUMP_USER}'`,
  );
  return Number(row!.n) > 0;
}

/** The binlog coordinates `--master-data=2` wrote, as a comment near the top of the dump. */
async function dumpCoordinates(file: string): Promise<BinlogPosition> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read({ buffer: Buffer.alloc(64 * 1024) });
    const match = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(buffer.subarray(0, bytesRead).toString('utf8'));
    if (!match) throw new Error(`${file} has no binlog coordinates (CHANGE MASTER TO comment); was the source's binary log on?`);
    return { file: match[1]!, pos: Number(match[2]) };
  } finally {
    await handle.close();
  }
}

/**
 * mariadb-dump of every user database under load, with a consistency point that splits the
 * workload's acknowledged writes exactly, like pg-dump's exported snapshot: the barrier holds
 * new writes back from before the dump starts until its transaction is open, so every write
 * acknowledged before the barrier's time is in the dump and none after. The dump's own binlog
 * coordinates must equal the binlog's end under the barrier, or it fails loudly.
 */
export async function takeDump(context: StrategyContext, prefix: string): Promise<BackupResult> {
  const { engine, source, exec, workDir, storage } = context;
  const dumpFile = join(workDir, 'dump.sql');
  const connection = { ...source.connection, database: engine.databaseName };
  const tool = await mariadbTool(context, 'mariadb-dump');
  const barrier = await engine.connect(connection);
  const observer = await engine.connect(connection);
  let point: ServerPoint;
  try {
    const databases = await userDatabases(observer);
    const release = await engine.holdBarrier(barrier);
    let exited = false;
    let dumpError: unknown;
    const dump = exec
      .run(
        tool,
        [...mariadbClientArgs({ ...source.connection, user: DUMP_USER }), '--single-transaction', '--master-data=2', '--routines', '--triggers', '--events', '--hex-blob', '--databases', ...databases],
        { stdoutFile: dumpFile, env: mariadbEnv(source.connection) },
      )
      .catch((error: unknown) => (dumpError = error))
      .finally(() => (exited = true));
    // A small dump can open its snapshot and finish between two polls: finishing while the
    // barrier is still held proves the snapshot was taken under it just as well.
    const opened = waitUntil(async () => exited || (await dumpHasSnapshot(observer)), {
      timeoutMs: SNAPSHOT_WAIT_MS,
      what: 'mariadb-dump opening its snapshot',
      signal: context.providerContext.signal,
    }).then(() => engine.currentPoint(observer));
    const held = await opened.catch((error: unknown) => error as Error);
    await release();
    await dump;
    // The dump's own error says more than "it exited".
    if (dumpError) throw dumpError;
    if (held instanceof Error) throw held;
    point = held;
  } finally {
    await barrier.close();
    await observer.close();
  }
  const coordinates = await dumpCoordinates(dumpFile);
  const position = formatBinlogPosition(coordinates);
  if (position !== point.position) {
    throw new Error(`the dump is consistent with binlog ${position}, but the barrier held the binlog at ${point.position}: its snapshot was not taken under the barrier, so the ledger cannot be split by it`);
  }
  const gtid = await withSession(context, source, async (session) => {
    const [row] = await session.query<{ gtid: string | null }>(`SELECT BINLOG_GTID_POS(${engine.literal(coordinates.file)}, ${coordinates.pos}) AS gtid`);
    return row!.gtid ?? '';
  });
  return {
    objects: [{ name: 'dump', ...(await storage.put(`${prefix}/dump.sql`, dumpFile)) }],
    consistentAt: { serverTimeUs: point.serverTimeUs, position, detail: `mariadb-dump --single-transaction snapshot opened under the barrier; GTID ${gtid || 'none'}` },
    state: { key: `${prefix}/dump.sql`, position, gtid },
  };
}

/** Loads the dump into a fresh, initialized instance; the instance is the dump's moment. */
export async function restoreDump(context: StrategyContext, backup: BackupResult): Promise<StartedDatabaseInstance> {
  const { key } = backup.state as { key: string };
  const dump = await context.phase('fetch', () => context.storage.fetch(key, context.workDir));
  const instance = await context.phase('start', async () => {
    const created = await context.provider.create({ name: 'restore', engine: context.engine, version: context.version }, context.providerContext);
    await created.initialize();
    return created.start();
  });
  const client = await mariadbTool(context, 'mariadb');
  await context.phase('restore', () => context.exec.run(client, mariadbClientArgs(instance.connection), { stdinFile: dump, env: mariadbEnv(instance.connection) }));
  return instance;
}

export const mysqldump = defineStrategy({
  name: 'mysqldump',
  summary: 'mariadb-dump --single-transaction --routines --triggers --events under load; load into a fresh instance',
  engines: ['mariadb'],
  pointInTime: false,
  options: z.strictObject({}),
  create() {
    return {
      sourceSettings: () => BINLOG_SETTINGS,
      prepare: createDumpUser,
      backup: (context) => takeDump(context, 'mysqldump'),
      async restore(context, { backup }) {
        const instance = await restoreDump(context, backup);
        return {
          instance,
          recovery: { method: 'load the dump (the state at its snapshot)', reached: true, detail: `a dump restores to the moment it was taken (binlog ${backup.consistentAt?.position}); writes after it are lost` },
        };
      },
    };
  },
});
