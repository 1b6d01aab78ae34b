import { z } from 'zod';
import { formatBinlogPosition, userDatabases, type BinlogPosition } from '../engines/mariadb.js';
import type { ServerPoint } from '../engines/engine.js';
import type { StartedInstance } from '../providers/provider.js';
import { waitUntil } from '../providers/readiness.js';
import { BackupDefect, storeOutput, verifiedFile } from '../storage/transfer.js';
import type { StorageLocation } from '../storage/storage.js';
import { BINLOG_SETTINGS, withSession } from './mariadb-tools.js';
import { defineStrategy, type BackupResult, type PendingCapture, type StrategyContext } from './strategy.js';

/**
 * The account mariadb-dump connects as. Its own name is how the barrier holder recognises the
 * dump's transaction among the workload's (they all connect as root).
 */
const DUMP_USER = 'firedrill_dump';
const SNAPSHOT_WAIT_MS = 30_000;
/** mariadb-dump's last line: a dump without it was cut short. */
const COMPLETED = /-- Dump completed( on [^\n]*)?\s*$/;

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
async function dumpHasSnapshot(session: import('../engines/engine.js').SqlSession): Promise<boolean> {
  const [row] = await session.query<{ n: string }>(
    `SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.USER = '${DUMP_USER}'`,
  );
  return Number(row!.n) > 0;
}

/** The binlog coordinates `--master-data=2` wrote, as a comment near the top of the stored dump. */
async function dumpCoordinates(storage: StorageLocation, key: string): Promise<BinlogPosition> {
  const stream = await storage.get(key);
  let head = '';
  for await (const chunk of stream) {
    head += (chunk as Buffer).toString('utf8');
    if (head.length >= 64 * 1024) break;
  }
  stream.destroy();
  const match = /CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(head);
  if (!match) throw new Error(`${key} has no binlog coordinates (CHANGE MASTER TO comment); was the source's binary log on?`);
  return { file: match[1]!, pos: Number(match[2]) };
}

/**
 * mariadb-dump of every user database under load, streamed into the storage location, with a
 * consistency point that splits the workload's acknowledged writes exactly, like pg-dump's
 * exported snapshot: the barrier holds new writes back from before the dump starts until its
 * transaction is open, so every write acknowledged before the barrier's time is in the dump
 * and none after; a source capture opens its own snapshot under the same barrier. The dump's
 * own binlog coordinates must equal the binlog's end under the barrier, or it fails loudly.
 */
export async function takeDump(context: StrategyContext, key: string, options: { capture: boolean }): Promise<BackupResult> {
  const { engine, source, storage } = context;
  const connection = { ...source.connection, database: engine.databaseName };
  const barrier = await engine.connect(connection);
  const observer = await engine.connect(connection);
  let point: ServerPoint;
  let capture: PendingCapture | undefined;
  let stored;
  try {
    const databases = await userDatabases(observer);
    const release = await engine.holdBarrier(barrier);
    let exited = false;
    const dump = storeOutput(
      source,
      storage,
      key,
      'mariadb-dump',
      [...engine.clientArgs({ ...source.localConnection, user: DUMP_USER }), '--single-transaction', '--master-data=2', '--routines', '--triggers', '--events', '--hex-blob', '--databases', ...databases],
      { env: engine.clientEnv(source.localConnection) },
    ).finally(() => (exited = true));
    dump.catch(() => undefined);
    // A small dump can open its snapshot and finish between two polls: finishing while the
    // barrier is still held proves the snapshot was taken under it just as well.
    const held = await waitUntil(async () => exited || (await dumpHasSnapshot(observer)), {
      timeoutMs: SNAPSHOT_WAIT_MS,
      what: 'mariadb-dump opening its snapshot',
      signal: context.providerContext.signal,
    })
      .then(async () => {
        if (options.capture) capture = await context.captureSource({ exact: true });
        return engine.currentPoint(observer);
      })
      .catch((error: unknown) => error as Error);
    await release();
    // The dump's own error says more than "it exited".
    stored = await dump;
    if (held instanceof Error) throw held;
    point = held;
  } finally {
    await barrier.close();
    await observer.close();
  }
  const coordinates = await dumpCoordinates(storage, key);
  const position = formatBinlogPosition(coordinates);
  if (position !== point.position) {
    throw new Error(`the dump is consistent with binlog ${position}, but the barrier held the binlog at ${point.position}: its snapshot was not taken under the barrier, so the ledger cannot be split by it`);
  }
  const gtid = await withSession(context, source, async (session) => {
    const [row] = await session.query<{ gtid: string | null }>(`SELECT BINLOG_GTID_POS(${engine.literal(coordinates.file)}, ${coordinates.pos}) AS gtid`);
    return row!.gtid ?? '';
  });
  return {
    objects: [{ name: 'dump', ...stored.object }],
    consistentAt: { serverTimeUs: point.serverTimeUs, position, detail: `mariadb-dump --single-transaction snapshot opened under the barrier; GTID ${gtid || 'none'}` },
    state: { position, gtid },
    startPosition: position,
    ...(capture ? { capture } : {}),
  };
}

/** Loads the dump into a fresh, initialized instance: fetched beside it (checksum verified), checked complete, loaded. */
export async function restoreDump(context: StrategyContext, backup: BackupResult): Promise<StartedInstance> {
  const dump = backup.objects.find((object) => object.name === 'dump')!;
  const instance = await context.phase('target', async () => {
    const created = await context.createInstance('restore');
    await created.initialize();
    return created.start();
  });
  const file = await context.phase('fetch', () => verifiedFile(context.exec, instance, context.storage, dump, instance.paths.scratch));
  await context.phase('verify-backup', async () => {
    const { stdout } = await instance.run('tail', ['-c', '256', file]);
    if (!COMPLETED.test(stdout)) throw new BackupDefect('unrestorable', `the dump ${dump.key} is cut short: it does not end with mariadb-dump's "-- Dump completed" line`, dump.key);
  });
  await context.phase('restore', () => instance.run('mariadb', context.engine.clientArgs(instance.localConnection), { stdinFile: file, env: context.engine.clientEnv(instance.localConnection) }));
  return instance;
}

export const mysqldump = defineStrategy({
  name: 'mysqldump',
  summary: 'mariadb-dump --single-transaction --routines --triggers --events under load; load into a fresh instance',
  engines: ['mariadb'],
  pointInTime: false,
  keeps: 'backups',
  logical: true,
  options: z.strictObject({}),
  create() {
    let taken = 0;
    return {
      sourceSetup: () => ({ settings: BINLOG_SETTINGS }),
      prepare: createDumpUser,
      // The dump restores to its snapshot: the source is captured in the same instant.
      backup: (context) => takeDump(context, `mysqldump/backup-${++taken}/dump.sql`, { capture: true }),
      async recover(context, { backup }) {
        const instance = await restoreDump(context, backup);
        return {
          instance,
          recovery: { method: 'load the dump (the state at its snapshot)', reached: true, point: 'backup', detail: `a dump restores to the moment it was taken (binlog ${backup.consistentAt?.position}); writes after it are lost` },
        };
      },
    };
  },
});
