import { z } from 'zod';
import type { BackgroundProcess, InstanceBase } from '../providers/provider.js';
import { recordArchive } from '../storage/archive-record.js';
import type { StoredObject } from '../storage/storage.js';
import { BackupDefect, verifyStored } from '../storage/transfer.js';
import { waitUntil } from '../providers/readiness.js';
import { DrillSetupError } from '../util/errors.js';
import { copyArchiveCommand } from './postgres-wal.js';
import { emptyRestoreTarget, faultXid, postgresTime, startPreparedRestore } from './postgres-recovery.js';
import { serverDirectory, sourceAnswers } from './source.js';
import { defineStrategy, type BackupResult, type RecoverRequest, type StrategyContext } from './strategy.js';

const SERVER = 'firedrill';
/** Barman's home (its catalog of backups and WAL) inside the primary storage location. */
const HOME = 'barman';

interface BarmanBackup {
  id: string;
  beginWal: string;
  endWal: string;
  beginLsn: string;
  endLsn: string;
}

const homeOf = (context: Pick<StrategyContext, 'storage'>) => serverDirectory(context.storage, HOME, 'Barman\'s catalog');

/** How WAL reaches Barman: streamed by pg_receivewal (a segment as it is written), or pushed by archive_command (a segment once it is closed). */
type WalMethod = 'streaming' | 'archive';

/**
 * Barman's configuration beside an instance, as a file of its own (`barman -c`): its home in
 * the storage location, the source reached over its socket for backups (pg_basebackup) and WAL
 * (pg_receivewal through a replication slot), the PostgreSQL programs of the source's version.
 */
async function configure(context: StrategyContext, instance: InstanceBase, source: { socket: string; port: number; bin: string }, wal: WalMethod): Promise<string> {
  const dir = `${instance.paths.scratch}/barman`;
  await instance.claim(dir);
  const config = `${dir}/barman.conf`;
  const conninfo = `host=${source.socket} port=${source.port} user=postgres dbname=postgres`;
  const text = [
    '[barman]',
    `barman_home = ${homeOf(context)}`,
    'barman_user = postgres',
    `log_file = ${dir}/barman.log`,
    'log_level = INFO',
    // Retention is the drill's to decide; Barman keeps every backup.
    'minimum_redundancy = 0',
    // A backup starts at once, as pgBackRest's start-fast: no spread checkpoint to wait for.
    'immediate_checkpoint = true',
    `[${SERVER}]`,
    'description = firedrill drill source',
    `conninfo = ${conninfo}`,
    `streaming_conninfo = ${conninfo}`,
    'backup_method = postgres',
    `streaming_archiver = ${wal === 'streaming' ? 'on' : 'off'}`,
    `archiver = ${wal === 'archive' ? 'on' : 'off'}`,
    ...(wal === 'streaming' ? ['slot_name = barman'] : []),
    `path_prefix = ${source.bin}`,
    '',
  ].join('\n');
  const archiving = wal === 'streaming' ? 'streaming_archiver = on' : 'archiver = on';
  await context.exec.step(`write ${config}: barman_home = ${homeOf(context)}, [${SERVER}] backup_method = postgres, ${archiving}`, () => instance.writeFile(config, text));
  return config;
}

const barman = (config: string, ...args: string[]) => ['-c', config, ...args];

/**
 * What an operator does first, and what Barman's cron does on its own: close the current WAL
 * segment, and move what pg_receivewal streamed into the catalog (`archive-wal`) until that
 * segment is there. A source that no longer answers switches nothing: what had streamed is
 * collected, and that is the real RPO.
 */
async function switchAndCollect(context: StrategyContext, config: string): Promise<void> {
  const collect = () => context.source.run('barman', barman(config, 'archive-wal', SERVER), { quiet: true });
  if (!(await sourceAnswers(context))) {
    await collect();
    return;
  }
  const session = await context.engine.connect(context.source.connection);
  let segment: string;
  try {
    // A checkpoint before, so there is WAL to switch away from on an idle server, and one after:
    // pg_receivewal closes a segment only once WAL of the next one reaches it.
    [{ segment }] = (await context.exec.step('on the source: CHECKPOINT; SELECT pg_switch_wal(); CHECKPOINT; then barman archive-wal until that segment is in the catalog', async () => {
      await session.query('CHECKPOINT');
      const switched = await session.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
      await session.query('CHECKPOINT');
      return switched;
    })) as [{ segment: string }];
  } finally {
    await session.close();
  }
  const key = `${HOME}/${SERVER}/wals/${segment.slice(0, 16)}/${segment}`;
  await waitUntil(async () => {
    await collect();
    return (await context.storage.stat(key)) !== undefined;
  }, { timeoutMs: 60_000, what: `Barman receiving WAL segment ${segment}`, signal: context.providerContext.signal });
}

/** `barman show-backup` as fields. */
async function showBackup(instance: InstanceBase, config: string, id: string): Promise<BarmanBackup> {
  const { stdout } = await instance.run('barman', barman(config, '-f', 'json', 'show-backup', SERVER, id), { quiet: true });
  const shown = (JSON.parse(stdout) as Record<string, { base_backup_information?: Record<string, string>; wal_information?: Record<string, string> } & Record<string, unknown>>)[SERVER]!;
  const base = shown.base_backup_information ?? {};
  const field = (name: string) => String(base[name] ?? (shown as Record<string, unknown>)[name] ?? '');
  return { id: String(shown.backup_id ?? id), beginWal: field('begin_wal'), endWal: field('end_wal'), beginLsn: field('begin_lsn'), endLsn: field('end_lsn') };
}

/** Barman's recovery target options. */
function targetArgs(request: RecoverRequest): { args: string[]; method: string } {
  const target = request.target;
  if (target.kind === 'latest') return { args: [], method: 'barman recover (replay every archived WAL segment)' };
  if (target.kind === 'time') {
    const time = postgresTime(target.time);
    return { args: ['--target-time', time, '--exclusive', '--target-action', 'promote'], method: `barman recover --target-time '${time}' --exclusive` };
  }
  const xid = faultXid(request);
  return { args: ['--target-xid', xid, '--exclusive', '--target-action', 'promote'], method: `barman recover --target-xid ${xid} --exclusive (stop just before the fault's commit)` };
}

export const barmanStrategy = defineStrategy({
  name: 'barman',
  summary: 'Barman: backups with pg_basebackup (backup_method postgres), WAL streamed by pg_receivewal through a slot or pushed by archive_command, barman recover to just before the fault',
  engines: ['postgres'],
  pointInTime: true,
  keeps: 'backups',
  serverWrites: 'its Barman catalog',
  ownCatalog: true,
  tools: [{ program: 'barman', versionArgs: ['--version'], install: 'apt-get install -y barman' }],
  logical: false,
  options: z.strictObject({
    wal: z
      .enum(['streaming', 'archive'])
      .default('streaming')
      .describe('How WAL reaches Barman: streaming (pg_receivewal through a slot: the open segment too) or archive (archive_command copies each closed segment into Barman\'s incoming directory)'),
  }),
  create({ wal }) {
    let config: string | undefined;
    let streamer: BackgroundProcess | undefined;
    let source: { socket: string; port: number; bin: string } | undefined;
    const stored = new Map<string, StoredObject[]>();
    return {
      sourceSetup: (context) => {
        const settings = { wal_level: 'replica', max_wal_senders: '10', max_replication_slots: '10' };
        if (wal === 'streaming') return { settings, writable: [homeOf(context)] };
        // Barman's incoming directory, which it moves segments out of into its catalog (archive-wal).
        const incoming = `${homeOf(context)}/${SERVER}/incoming`;
        return {
          settings: { ...settings, archive_mode: 'on', archive_command: copyArchiveCommand(incoming) },
          writable: [homeOf(context), `${homeOf(context)}/${SERVER}`, incoming],
        };
      },

      async prepare(context) {
        const found = await context.source.run('barman', ['--version'], { allowFailure: true, quiet: true }).catch((error: unknown) => ({ exitCode: 127, stderr: String(error) }));
        if (found.exitCode !== 0) throw new DrillSetupError('Barman is not installed beside the source (barman --version failed)', 'apt-get install -y barman on this machine');
        const bin = (await context.source.run('pg_config', ['--bindir'], { quiet: true })).stdout.trim();
        source = { socket: context.source.paths.scratch, port: context.source.localConnection.port, bin };
        config = await configure(context, context.source, source, wal);
        if (wal === 'archive') {
          await switchAndCollect(context, config);
          return;
        }
        await context.source.run('barman', barman(config, 'receive-wal', '--create-slot', SERVER));
        // WAL streams from now on, as Barman's cron would keep it streaming.
        streamer = await context.source.spawn('barman', barman(config, 'receive-wal', SERVER), { logFile: `${context.source.paths.scratch}/barman/receive-wal.log` });
        // Barman backs up a server once WAL reaches its catalog: once pg_receivewal streams, the
        // segment it is receiving is switched and collected.
        // (A storage location lists no .partial file: it is one being written. Look beside the server.)
        const streaming = `${homeOf(context)}/${SERVER}/streaming`;
        await waitUntil(async () => /\.partial$/m.test((await context.source.run('sh', ['-c', 'ls "$0" 2>/dev/null || true', streaming], { quiet: true })).stdout), {
          timeoutMs: 60_000,
          what: 'pg_receivewal streaming for Barman',
          failFast: async () => ((await streamer!.isRunning()) ? undefined : `barman receive-wal exited (see ${context.source.paths.scratch}/barman/receive-wal.log)`),
          signal: context.providerContext.signal,
        });
        await switchAndCollect(context, config);
      },

      async backup(context): Promise<BackupResult> {
        const { stdout } = await context.source.run('barman', barman(config!, 'backup', '--wait', SERVER));
        const id = /Backup (\d{8}T\d{6})/.exec(stdout)?.[1] ?? (await context.source.run('barman', barman(config!, 'list-backups', '--minimal', SERVER), { quiet: true })).stdout.trim().split('\n')[0]!;
        const shown = await showBackup(context.source, config!, id);
        const files = await recordArchive(context.storage, `${HOME}/${SERVER}/base/${shown.id}`);
        const objects = [...files.files].map(([key, file]) => ({ name: key.slice(`${HOME}/${SERVER}/base/${shown.id}/`.length), location: context.storage.name, key, ...file }));
        stored.set(shown.id, objects);
        return {
          objects,
          consistentAt: { position: shown.endLsn, detail: `Barman backup ${shown.id}; WAL ${shown.beginWal} – ${shown.endWal} (${shown.beginLsn} – ${shown.endLsn})` },
          state: { ...shown },
          startPosition: shown.beginLsn,
        };
      },

      async afterDetection(context) {
        await switchAndCollect(context, config!);
        await streamer?.stop();
      },

      async recover(context, request) {
        const backup = request.backup.state as unknown as BarmanBackup;
        const target = await emptyRestoreTarget(context);
        const restoreConfig = await configure(context, target, source!, wal);
        await context.phase('verify-backup', async () => {
          await context.exec.step(`sha256sum every file of Barman backup ${backup.id}: compared with the checksums recorded at backup time`, () => verifyStored(context.storage, stored.get(backup.id) ?? []));
          // The WAL the backup needs to be consistent, in Barman's catalog.
          const checked = await target.run('barman', barman(restoreConfig, 'check-backup', SERVER, backup.id), { allowFailure: true });
          if (checked.exitCode !== 0) throw new BackupDefect('missing', `barman check-backup finds backup ${backup.id} unusable: ${(checked.stderr || checked.stdout).trim().replace(/\s+/g, ' ')}`, `${HOME}/${SERVER}/base/${backup.id}`);
        });
        const { args, method } = targetArgs(request);
        // Barman recover disables archive_command in the restored server: it never writes into the catalog.
        const recover = (extra: string[]) => target.run('barman', barman(restoreConfig, 'recover', ...extra, SERVER, backup.id, target.paths.data));
        await context.phase('restore', () => recover(args));
        return startPreparedRestore(context, target, request, {
          method,
          again: async () => {
            await target.run('sh', ['-c', 'rm -rf "$0"/* "$0"/.[!.]*', target.paths.data]);
            await recover([]);
          },
          restored: `restored Barman backup ${backup.id}, WAL from its catalog`,
        });
      },
    };
  },
});
