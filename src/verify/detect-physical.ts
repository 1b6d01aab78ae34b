import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { DrillSetupError } from '../util/errors.js';

/** What a physical backup's own files say about how to restore it. */
export type PhysicalBackup =
  | {
      type: 'pg-base-backup';
      format: 'plain' | 'tar';
      /** The data directory (plain), or the tar of it (tar: `base.tar[.gz]`, or one stream as `pg_basebackup -D - -Ft` writes it). */
      data: string;
      /** `pg_wal.tar[.gz]` beside base.tar: the WAL the backup streamed (`-X stream`). */
      walTar?: string;
      gzip: boolean;
      /** A backup_manifest beside base.tar; a plain backup's, or one inside a single tar stream, is in the data directory. */
      manifest?: string;
      /** The segment replay starts at (backup_label's START WAL LOCATION); none for a copy of a stopped cluster. */
      startWal?: string;
    }
  | {
      type: 'pgbackrest';
      repo: string;
      stanza: string;
      /** The newest backup set, and the sets it needs (an incremental's full backup), oldest first. */
      set: string;
      chain: string[];
      /** The repository's WAL archive of the set's database (`15-1`), and the set's first and last segment. */
      archiveId: string;
      archiveStart: string;
      archiveStop: string;
    }
  | {
      type: 'mariadb-backup';
      directory: string;
      /** `backup_type = full-prepared`: its redo log is applied already. */
      prepared: boolean;
    };

/** The facts a physical backup gives besides how to restore it: the server version it came from, when it was taken. */
export interface PhysicalDetected {
  kind: 'pg-base-backup' | 'pgbackrest' | 'mariadb-backup';
  engine: 'postgres' | 'mariadb';
  serverVersion?: string;
  takenAt?: string;
  physical: PhysicalBackup;
}

/** `START WAL LOCATION: 0/2000028 (file 000000010000000000000002)` and `START TIME: 2026-01-10 02:00:01 UTC` of a backup_label. */
export function parseBackupLabel(text: string): { startWal?: string; takenAt?: string } {
  const startWal = /^START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)$/m.exec(text)?.[1];
  const time = /^START TIME: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+)$/m.exec(text);
  // The zone is the server's log_timezone abbreviation; UTC and GMT are exact, another is taken as UTC (approximate).
  const takenAt = time ? new Date(`${time[1]!.replace(' ', 'T')}Z`).toISOString() : undefined;
  return { ...(startWal ? { startWal } : {}), ...(takenAt ? { takenAt } : {}) };
}

/**
 * The first files of a tar (backup_label and PG_VERSION come first in pg_basebackup's), read
 * until every one asked for has gone by, so a large backup is not read to its end.
 */
async function filesAtTarStart(path: string, gzip: boolean, names: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const input = createReadStream(path);
  const extract = tar.extract();
  await new Promise<void>((resolve, reject) => {
    const done = () => {
      input.destroy();
      resolve();
    };
    extract.on('entry', (header, entry, next) => {
      const name = header.name.replace(/^\.\//, '');
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: unknown) => {
        if (names.includes(name)) chunks.push(chunk as Buffer);
      });
      entry.on('end', () => {
        if (names.includes(name)) found.set(name, Buffer.concat(chunks).toString('utf8'));
        if (found.size === names.length) done();
        else next();
      });
      entry.resume();
    });
    extract.on('finish', done);
    extract.on('error', reject);
    input.on('error', reject);
    (gzip ? input.pipe(createGunzip().on('error', reject)) : input).pipe(extract as unknown as NodeJS.WritableStream);
  });
  return found;
}

async function baseBackup(format: 'plain' | 'tar', data: string, files: { label?: string; version?: string }, extra: { walTar?: string; manifest?: string; gzip: boolean }): Promise<PhysicalDetected> {
  if (!files.version) throw new DrillSetupError(`${data} holds no PG_VERSION: it is not a PostgreSQL base backup`, 'name the directory pg_basebackup wrote (or its base.tar), or a copy of a data directory');
  const label = files.label ? parseBackupLabel(files.label) : {};
  return {
    kind: 'pg-base-backup',
    engine: 'postgres',
    serverVersion: files.version.trim(),
    ...(label.takenAt ? { takenAt: label.takenAt } : {}),
    physical: { type: 'pg-base-backup', format, data, gzip: extra.gzip, ...(extra.walTar ? { walTar: extra.walTar } : {}), ...(extra.manifest ? { manifest: extra.manifest } : {}), ...(label.startWal ? { startWal: label.startWal } : {}) },
  };
}

/** A PostgreSQL base backup in one tar (`pg_basebackup -D - -Ft`, firedrill's own pg-basebackup strategies' format). */
export async function detectBaseBackupTar(path: string): Promise<PhysicalDetected | undefined> {
  const gzip = await isGzipFile(path);
  const files = await filesAtTarStart(path, gzip, ['backup_label', 'PG_VERSION']).catch(() => new Map<string, string>());
  if (!files.has('PG_VERSION')) return undefined;
  return baseBackup('tar', path, { label: files.get('backup_label'), version: files.get('PG_VERSION') }, { gzip });
}

async function isGzipFile(path: string): Promise<boolean> {
  const handle = createReadStream(path, { start: 0, end: 1 });
  const chunks: Buffer[] = [];
  for await (const chunk of handle) chunks.push(chunk as Buffer);
  const head = Buffer.concat(chunks);
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** `[section]` and `key=value` lines of a pgBackRest info file (backup.info), values as written (JSON). */
function parseInfoFile(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!) ?? new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    if (current && at > 0) current.set(line.slice(0, at), line.slice(at + 1));
  }
  return sections;
}

/**
 * The newest backup set of a pgBackRest stanza, from its backup.info: its label, the sets it
 * references, its WAL range and the database version it came from. An encrypted repository's
 * info file is not text, and cannot be read without its passphrase.
 */
export function parseBackupInfo(text: string, where: string): { set: string; chain: string[]; serverVersion: string; takenAt?: string; archiveId: string; archiveStart: string; archiveStop: string } {
  if (!text.startsWith('[backrest]')) {
    throw new DrillSetupError(`${where} is not readable as text: the repository is encrypted (repo1-cipher-type) or damaged`, 'verify an unencrypted repository; encrypted ones are not supported yet');
  }
  const sections = parseInfoFile(text);
  const sets = [...(sections.get('backup:current') ?? new Map<string, string>())].map(([label, json]) => ({ label, ...(JSON.parse(json) as { 'backup-reference'?: string[]; 'backup-archive-start': string; 'backup-archive-stop': string; 'backup-timestamp-stop': number; 'db-id': number }) }));
  const newest = sets.sort((a, b) => a['backup-timestamp-stop'] - b['backup-timestamp-stop']).at(-1);
  if (!newest) throw new DrillSetupError(`${where} lists no backup: the stanza has never been backed up, or every backup expired`, 'take a backup (pgbackrest backup), or name another stanza');
  const history = sections.get('db:history')?.get(String(newest['db-id']));
  const version = (history ? (JSON.parse(history) as { 'db-version': string })['db-version'] : sections.get('db')?.get('db-version'))?.replaceAll('"', '') ?? '';
  return {
    set: newest.label,
    chain: [...(newest['backup-reference'] ?? []), newest.label],
    serverVersion: version,
    takenAt: new Date(newest['backup-timestamp-stop'] * 1000).toISOString(),
    archiveId: `${version}-${newest['db-id']}`,
    archiveStart: newest['backup-archive-start'],
    archiveStop: newest['backup-archive-stop'],
  };
}

async function pgbackrestRepository(repo: string, stanza: string | undefined): Promise<PhysicalDetected> {
  const stanzas = (await readdir(join(repo, 'backup')).catch(() => [] as string[])).sort();
  const chosen = stanza ?? (stanzas.length === 1 ? stanzas[0] : undefined);
  if (!chosen) {
    throw new DrillSetupError(stanzas.length === 0 ? `${repo} holds no backup/<stanza>/ directory: it is not a pgBackRest repository` : `${repo} holds the stanzas ${stanzas.join(', ')}`, stanzas.length === 0 ? 'name the repository directory (repo1-path)' : `name one: --stanza ${stanzas[0]}`);
  }
  const file = join(repo, 'backup', chosen, 'backup.info');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new DrillSetupError(`${file} cannot be read: ${stanzas.includes(chosen) ? 'the stanza has no backup.info' : `there is no stanza "${chosen}" (there is ${stanzas.join(', ') || 'none'})`}`, 'check --stanza and the repository path (repo1-path)');
  });
  const { serverVersion, takenAt, ...set } = parseBackupInfo(text, file);
  return { kind: 'pgbackrest', engine: 'postgres', serverVersion, ...(takenAt ? { takenAt } : {}), physical: { type: 'pgbackrest', repo, stanza: chosen, ...set } };
}

/** A mariadb-backup directory: its checkpoints file says whether it is prepared, its info file the server version and when it ended. */
async function mariadbBackup(dir: string, checkpoints: string): Promise<PhysicalDetected> {
  const type = /^backup_type = (\S+)$/m.exec(await readFile(join(dir, checkpoints), 'utf8'))?.[1];
  if (type !== 'full-backuped' && type !== 'full-prepared') {
    throw new DrillSetupError(`${dir} is a mariadb-backup of type ${type ?? 'unknown'}: only a full backup is verified`, 'prepare the incremental onto its full backup first (mariadb-backup --prepare --incremental-dir), then verify the full one');
  }
  const info = await readFile(join(dir, 'xtrabackup_info'), 'utf8').catch(() => '');
  const serverVersion = /^server_version = (\d+\.\d+\.\d+)/m.exec(info)?.[1];
  // mariadb-backup writes the local time of the machine it ran on, without its zone: approximate.
  const ended = /^end_time = (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$/m.exec(info)?.[1];
  return {
    kind: 'mariadb-backup',
    engine: 'mariadb',
    ...(serverVersion ? { serverVersion } : {}),
    ...(ended ? { takenAt: new Date(`${ended.replace(' ', 'T')}Z`).toISOString() } : {}),
    physical: { type: 'mariadb-backup', directory: dir, prepared: type === 'full-prepared' },
  };
}

/**
 * A directory that is a physical backup, told by its files: PG_VERSION (a plain base backup or
 * a data directory copy), base.tar[.gz] (a tar-format base backup), backup/<stanza>/backup.info
 * (a pgBackRest repository), xtrabackup_checkpoints or mariadb_backup_checkpoints (a
 * mariadb-backup). Undefined when it is none of these.
 */
export async function detectPhysicalDirectory(dir: string, options: { stanza?: string; kind?: string } = {}): Promise<PhysicalDetected | undefined> {
  const entries = await readdir(dir);
  const read = (name: string) => (entries.includes(name) ? readFile(join(dir, name), 'utf8') : Promise.resolve(undefined));
  if (entries.includes('PG_VERSION')) return baseBackup('plain', dir, { label: await read('backup_label'), version: await read('PG_VERSION') }, { gzip: false });
  const base = ['base.tar.gz', 'base.tar'].find((name) => entries.includes(name));
  if (base) {
    const tablespaces = entries.filter((name) => /^\d+\.tar(\.gz)?$/.test(name));
    if (tablespaces.length > 0) throw new DrillSetupError(`${dir} holds tablespaces (${tablespaces.join(', ')}): a base backup with tablespaces is not verified yet`, 'verify a backup of a cluster without tablespaces');
    const gzip = base.endsWith('.gz');
    const files = await filesAtTarStart(join(dir, base), gzip, ['backup_label', 'PG_VERSION']);
    const walTar = entries.find((name) => name === `pg_wal.tar${gzip ? '.gz' : ''}`);
    return baseBackup('tar', join(dir, base), { label: files.get('backup_label'), version: files.get('PG_VERSION') }, {
      gzip,
      ...(walTar ? { walTar: join(dir, walTar) } : {}),
      ...(entries.includes('backup_manifest') ? { manifest: join(dir, 'backup_manifest') } : {}),
    });
  }
  // A repository (repo1-path) holds both: the backup sets and the WAL archive.
  if (options.kind === 'pgbackrest' || (entries.includes('backup') && entries.includes('archive'))) return pgbackrestRepository(dir, options.stanza);
  const checkpoints = ['mariadb_backup_checkpoints', 'xtrabackup_checkpoints'].find((name) => entries.includes(name));
  if (checkpoints) return mariadbBackup(dir, checkpoints);
  return undefined;
}

