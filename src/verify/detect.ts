import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionInfo, DatabaseCharset, Engine, EngineName } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import type { ServerCommand } from '../engines/server.js';
import { DrillSetupError } from '../util/errors.js';
import { detectBaseBackupTar, detectPhysicalDirectory, type PhysicalBackup } from './detect-physical.js';

/** The kinds of backup `firedrill verify` restores, as told from their files. */
export const BACKUP_KINDS = ['pg-custom-dump', 'pg-directory-dump', 'pg-plain-dump', 'pg-dumpall', 'mysqldump', 'pg-base-backup', 'pgbackrest', 'mariadb-backup'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];
/** The kinds restored by copying files into a data directory and starting a server on them, rather than through SQL. */
export type PhysicalKind = PhysicalBackup['type'];

/** What a verification can add to a backup of each kind: a base backup's WAL archive, a mariadb-backup's binlogs, a target to recover to, … */
export const BACKUP_EXTRAS = ['wal', 'binlogs', 'stanza', 'target', 'database'] as const;
export type BackupExtra = (typeof BACKUP_EXTRAS)[number];
export const KIND_EXTRAS: Readonly<Record<BackupKind, readonly BackupExtra[]>> = {
  'pg-custom-dump': [],
  'pg-directory-dump': [],
  'pg-plain-dump': [],
  'pg-dumpall': [],
  mysqldump: [],
  'pg-base-backup': ['wal', 'target', 'database'],
  pgbackrest: ['stanza', 'target', 'database'],
  'mariadb-backup': ['binlogs', 'target', 'database'],
};

/**
 * The restore of each kind, as a person would run it, going on past errors so that every one
 * is reported (not only the first) and what did restore can be checked: pg_restore without
 * --exit-on-error, psql with ON_ERROR_STOP off, the MariaDB client with --force. A kind reads
 * stdin unless `path` (the backup, where the server's tools can read it) is given; then a
 * pg_dump archive restores with `jobs` parallel jobs, as pg_restore can only from a file.
 */
export function restoreCommand(kind: Exclude<BackupKind, PhysicalKind>, engine: Engine, connection: ConnectionInfo, path?: string, jobs = 1): ServerCommand {
  switch (kind) {
    case 'pg-custom-dump':
    case 'pg-directory-dump':
      return { program: 'pg_restore', args: ['--no-password', ...(path && jobs > 1 ? [`--jobs=${jobs}`] : []), ...engine.clientArgs(connection), `--dbname=${connection.database}`, ...(path ? [path] : [])] };
    case 'pg-plain-dump':
    case 'pg-dumpall':
      return { program: 'psql', args: ['-X', '-q', '-v', 'ON_ERROR_STOP=0', ...engine.clientArgs(connection), `--dbname=${connection.database}`] };
    case 'mysqldump':
      return { program: 'mariadb', args: [...engine.clientArgs(connection), '--force', `--database=${connection.database}`] };
  }
}

/** What the backup's own files say about it: the engine, the server version it came from, when it was taken, whether it is whole. */
export interface DetectedBackup {
  kind: BackupKind;
  engine: EngineName;
  /** The files, in the order they restore (a schema file before its data). */
  paths: string[];
  /** The server version the dump was taken from (`15.18`, `10.11.19`), when it says. */
  serverVersion?: string;
  /** The major a restore should run (`15`, `10.11`): the dump's own server's. */
  major?: string;
  /** When it was taken (ISO), when it says. */
  takenAt?: string;
  /** The database it holds, when it says (a custom-format dump names it). */
  database?: string;
  /** False when the dump's closing line is missing: cut short. Undefined when the format has none. */
  complete?: boolean;
  /** The encoding and collation of the database the dump was taken from, as far as it says. */
  charset?: DatabaseCharset;
  /** How a physical backup is laid out, for its restore. */
  physical?: PhysicalBackup;
}

const HEAD_BYTES = 64 * 1024;
const TAIL_BYTES = 4 * 1024;

async function readRange(path: string, position: 'head' | 'tail'): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, position === 'head' ? HEAD_BYTES : TAIL_BYTES);
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, position === 'head' ? 0 : size - length);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The header of a pg_dump archive (custom format, or a directory's toc.dat): "PGDMP", the
 * archive version, int and offset sizes, the format, the compression, the creation time, the
 * database name and the server and pg_dump versions. Integers are a sign byte and `intSize`
 * little-endian bytes; strings an integer length and the bytes. From archive version 1.15
 * (pg_dump 16) the compression is one byte, before it an integer.
 */
export function parseArchiveHeader(head: Buffer): { takenAt?: string; database?: string; serverVersion?: string } | undefined {
  if (head.subarray(0, 5).toString('latin1') !== 'PGDMP') return undefined;
  const [vmaj, vmin] = [head[5]!, head[6]!];
  const intSize = head[8]!;
  let at = 11;
  const int = (): number => {
    const negative = head[at]! !== 0;
    let value = 0;
    for (let index = 0; index < intSize; index++) value += head[at + 1 + index]! * 2 ** (8 * index);
    at += 1 + intSize;
    return negative ? -value : value;
  };
  const str = (): string | undefined => {
    const length = int();
    if (length < 0) return undefined;
    const text = head.subarray(at, at + length).toString('utf8');
    at += length;
    return text;
  };
  try {
    if (vmaj > 1 || (vmaj === 1 && vmin >= 15)) at += 1;
    else int();
    const [sec, min, hour, mday, mon, year] = [int(), int(), int(), int(), int(), int()];
    int(); // isdst
    const database = str();
    const serverVersion = str()?.split(' ')[0];
    // pg_dump writes the local time of the machine it ran on; without its zone the instant is approximate.
    const takenAt = new Date(Date.UTC(1900 + year, mon, mday, hour, min, sec)).toISOString();
    return { takenAt, ...(database ? { database } : {}), ...(serverVersion ? { serverVersion } : {}) };
  } catch {
    return {};
  }
}

const PG_PLAIN = /^-- PostgreSQL database dump$/m;
const PG_CLUSTER = /^-- PostgreSQL database cluster dump$/m;
const MYSQL = /^-- (MySQL|MariaDB) dump |^# Sequel Pro SQL dump|^\/\*!40101 SET /m;


/**
 * What a backup is, from its files: magic bytes (a pg_dump archive), a directory's toc.dat, a
 * dump's header comments, and its closing line (a dump cut short has none). `kind` overrides
 * the guess, for files whose header was stripped.
 */
export async function detectBackup(paths: readonly string[], kind?: BackupKind, options: { stanza?: string } = {}): Promise<DetectedBackup> {
  if (paths.length === 0) throw new DrillSetupError('no backup to verify', 'name a dump file, a dump directory, or SQL files in the order they restore');
  const infos = await Promise.all(
    paths.map(async (path) => {
      try {
        return await stat(path);
      } catch {
        throw new DrillSetupError(`no backup at ${path}`, 'check the path; a directory must be a pg_dump --format=directory dump (it holds toc.dat)');
      }
    }),
  );
  if (infos[0]!.isDirectory()) {
    if (paths.length > 1) throw new DrillSetupError('a backup directory is one backup on its own', 'verify it alone');
    const entries = await readdir(paths[0]!);
    if (!entries.includes('toc.dat')) {
      const physical = await detectPhysicalDirectory(paths[0]!, { ...options, ...(kind ? { kind } : {}) });
      if (!physical) throw new DrillSetupError(`${paths[0]} is no backup firedrill knows: no toc.dat (pg_dump --format=directory), PG_VERSION or base.tar (a base backup), backup/ and archive/ (a pgBackRest repository), or xtrabackup_checkpoints (a mariadb-backup)`, 'name the backup directory itself');
      return withMajor({ ...physical, paths: [...paths] });
    }
    const toc = await readRange(join(paths[0]!, 'toc.dat'), 'head');
    const header = parseArchiveHeader(toc) ?? {};
    return withMajor({ kind: kind ?? 'pg-directory-dump', engine: 'postgres', paths: [...paths], ...header, ...charsetOf(toc.toString('utf8')) });
  }
  const head = await readRange(paths[0]!, 'head');
  const archive = parseArchiveHeader(head);
  if (archive) {
    // The last byte of a custom-format archive is its table of contents' end; a cut file shows when it is read.
    return withMajor({ kind: kind ?? 'pg-custom-dump', engine: 'postgres', paths: [...paths], ...archive, ...charsetOf(head.toString('utf8')) });
  }
  if (kind === 'pg-base-backup' || (!kind && isTar(head))) {
    const physical = paths.length === 1 ? await detectBaseBackupTar(paths[0]!) : undefined;
    if (physical) return withMajor({ ...physical, paths: [...paths] });
    if (kind) throw new DrillSetupError(`${paths[0]} is not a base backup: a tar of one holds PG_VERSION`, 'name the directory pg_basebackup wrote, its base.tar[.gz], or one tar stream of pg_basebackup -D - -Ft');
  }
  const text = head.toString('utf8');
  const tail = (await readRange(paths[paths.length - 1]!, 'tail')).toString('utf8');
  // A dump's closing line proves one file whole; SQL files put together by hand (a schema and
  // its data) need not end as a dump does, so they are not judged by it.
  const single = paths.length === 1;
  if (kind === 'mysqldump' || (!kind?.startsWith('pg-') && MYSQL.test(text) && !PG_PLAIN.test(text))) {
    const serverVersion = /^-- Server version\s+(\d+\.\d+\.\d+)/m.exec(text)?.[1];
    const completed = dumpCompletedAt(tail);
    const mysqldump = /^-- (MySQL|MariaDB) dump /m.test(text);
    return withMajor({
      kind: 'mysqldump',
      engine: 'mariadb',
      paths: [...paths],
      ...(serverVersion ? { serverVersion } : {}),
      ...(completed ? { takenAt: completed } : {}),
      // Only mysqldump/mariadb-dump writes the closing line; another tool's file is not judged by it.
      ...(mysqldump && single ? { complete: completed !== undefined } : {}),
    });
  }
  if (kind === 'pg-dumpall' || PG_CLUSTER.test(text)) {
    return withMajor({ kind: 'pg-dumpall', engine: 'postgres', paths: [...paths], ...pgVersion(text), ...(single ? { complete: /^-- PostgreSQL database cluster dump complete$/m.test(tail) } : {}) });
  }
  if (kind === 'pg-plain-dump' || PG_PLAIN.test(text)) {
    return withMajor({ kind: 'pg-plain-dump', engine: 'postgres', paths: [...paths], ...pgVersion(text), ...charsetOf(text), ...(single ? { complete: /^-- PostgreSQL database dump complete$/m.test(tail) } : {}) });
  }
  throw new DrillSetupError(`cannot tell what ${paths[0]} is: not a pg_dump archive, nor a PostgreSQL or MySQL/MariaDB dump by its header`, `give its kind: --kind ${BACKUP_KINDS.join('|')}`);
}

/**
 * When mysqldump/mariadb-dump finished, from its closing line, as ISO 8601 (it writes UTC for a
 * dump in UTC, the default of --tz-utc). The hour is padded with a space, not a zero:
 * `-- Dump completed on 2026-12-02  1:22:58`.
 */
export function dumpCompletedAt(tail: string): string | undefined {
  const match = /^-- Dump completed on (\d{4}-\d\d-\d\d) +(\d?\d):(\d\d):(\d\d)/m.exec(tail);
  if (!match) return undefined;
  const [, day, hour, minute, second] = match;
  return new Date(`${day}T${hour!.padStart(2, '0')}:${minute}:${second}Z`).toISOString();
}

/** A gzip stream (a compressed tar), or a tar by its ustar magic at byte 257. */
const isTar = (head: Buffer) => (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(257, 262).toString('latin1') === 'ustar';

/**
 * Encodings PostgreSQL can write a dump in but not keep a database in (pg_dump -E SJIS): the
 * dump's client_encoding says nothing about its database then.
 */
const CLIENT_ONLY_ENCODINGS = new Set(['SJIS', 'SHIFT_JIS_2004', 'BIG5', 'GBK', 'UHC', 'GB18030', 'JOHAB']);

/**
 * The encoding and locale of the database a PostgreSQL dump was taken from. An archive (custom or
 * directory format) holds its database's CREATE DATABASE in the table of contents, which is not
 * compressed: `ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'en_US.UTF-8'` (or LC_COLLATE
 * and LC_CTYPE apart, ICU_LOCALE for ICU). A plain dump has only its `SET client_encoding`,
 * which is the database's unless it was dumped with another (-E).
 */
export function charsetOf(text: string): { charset?: DatabaseCharset } {
  const create = /CREATE DATABASE .* WITH TEMPLATE = template0 ([^;\n]*);/.exec(text)?.[1];
  const field = (name: string) => (create ? new RegExp(`(?:^| )${name} = '((?:[^']|'')*)'`).exec(create)?.[1]?.replaceAll("''", "'") : undefined);
  const client = /^SET client_encoding = '([^']+)';$/m.exec(text)?.[1];
  const encoding = field('ENCODING') ?? (client && !CLIENT_ONLY_ENCODINGS.has(client.toUpperCase()) ? client : undefined);
  const locale = field('LOCALE');
  const collation = field('LC_COLLATE') ?? locale;
  const ctype = field('LC_CTYPE') ?? locale;
  const icuLocale = create && /LOCALE_PROVIDER = icu\b/.test(create) ? field('ICU_LOCALE') : undefined;
  const charset: DatabaseCharset = { ...(encoding ? { encoding } : {}), ...(collation ? { collation } : {}), ...(ctype ? { ctype } : {}), ...(icuLocale ? { icuLocale } : {}) };
  return Object.keys(charset).length > 0 ? { charset } : {};
}

function pgVersion(text: string): { serverVersion?: string } {
  const version = /^-- Dumped from database version (\d+(\.\d+)?)/m.exec(text)?.[1];
  return version ? { serverVersion: version } : {};
}

/** The major a restore runs (`15`, `10.11`): the engine's own reading of the backup's server version. */
function withMajor(backup: DetectedBackup): DetectedBackup {
  return backup.serverVersion ? { ...backup, major: engines[backup.engine].server.majorOf(backup.serverVersion) } : backup;
}
