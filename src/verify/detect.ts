import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConnectionInfo, Engine, EngineName } from '../engines/engine.js';
import type { ServerCommand } from '../engines/server.js';
import { DrillSetupError } from '../util/errors.js';

/** The kinds of backup `firedrill verify` restores, as told from their files. */
export const BACKUP_KINDS = ['pg-custom-dump', 'pg-directory-dump', 'pg-plain-dump', 'pg-dumpall', 'mysqldump'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number];

/**
 * The restore of each kind, as a person would run it, going on past errors so that every one
 * is reported (not only the first) and what did restore can be checked: pg_restore without
 * --exit-on-error, psql with ON_ERROR_STOP off, the MariaDB client with --force. A kind reads
 * stdin unless `path` (the backup, where the server's tools can read it) is given; then a
 * pg_dump archive restores with `jobs` parallel jobs, as pg_restore can only from a file.
 */
export function restoreCommand(kind: BackupKind, engine: Engine, connection: ConnectionInfo, path?: string, jobs = 1): ServerCommand {
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

/** A PostgreSQL major is its first number (`15`); a MariaDB major its first two (`10.11`). */
const PG_MAJOR = (version: string) => version.split('.')[0]!;
const MARIADB_MAJOR = (version: string) => version.split('.').slice(0, 2).join('.');

/**
 * What a backup is, from its files: magic bytes (a pg_dump archive), a directory's toc.dat, a
 * dump's header comments, and its closing line (a dump cut short has none). `kind` overrides
 * the guess, for files whose header was stripped.
 */
export async function detectBackup(paths: readonly string[], kind?: BackupKind): Promise<DetectedBackup> {
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
    if (paths.length > 1) throw new DrillSetupError('a dump directory is one backup on its own', 'verify it alone');
    const entries = await readdir(paths[0]!);
    if (!entries.includes('toc.dat')) throw new DrillSetupError(`${paths[0]} holds no toc.dat: it is not a pg_dump --format=directory dump`, 'name the dump file itself, or a dump directory');
    const header = parseArchiveHeader(await readRange(join(paths[0]!, 'toc.dat'), 'head')) ?? {};
    return withMajor({ kind: kind ?? 'pg-directory-dump', engine: 'postgres', paths: [...paths], ...header }, PG_MAJOR);
  }
  const head = await readRange(paths[0]!, 'head');
  const archive = parseArchiveHeader(head);
  if (archive) {
    // The last byte of a custom-format archive is its table of contents' end; a cut file shows when it is read.
    return withMajor({ kind: kind ?? 'pg-custom-dump', engine: 'postgres', paths: [...paths], ...archive }, PG_MAJOR);
  }
  const text = head.toString('utf8');
  const tail = (await readRange(paths[paths.length - 1]!, 'tail')).toString('utf8');
  // A dump's closing line proves one file whole; SQL files put together by hand (a schema and
  // its data) need not end as a dump does, so they are not judged by it.
  const single = paths.length === 1;
  if (kind === 'mysqldump' || (!kind?.startsWith('pg-') && MYSQL.test(text) && !PG_PLAIN.test(text))) {
    const serverVersion = /^-- Server version\s+(\d+\.\d+\.\d+)/m.exec(text)?.[1];
    const completed = /^-- Dump completed on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/m.exec(tail)?.[1];
    const mysqldump = /^-- (MySQL|MariaDB) dump /m.test(text);
    return withMajor({
      kind: 'mysqldump',
      engine: 'mariadb',
      paths: [...paths],
      ...(serverVersion ? { serverVersion } : {}),
      ...(completed ? { takenAt: new Date(`${completed.replace(' ', 'T')}Z`).toISOString() } : {}),
      // Only mysqldump/mariadb-dump writes the closing line; another tool's file is not judged by it.
      ...(mysqldump && single ? { complete: completed !== undefined } : {}),
    }, MARIADB_MAJOR);
  }
  if (kind === 'pg-dumpall' || PG_CLUSTER.test(text)) {
    return withMajor({ kind: 'pg-dumpall', engine: 'postgres', paths: [...paths], ...pgVersion(text), ...(single ? { complete: /^-- PostgreSQL database cluster dump complete$/m.test(tail) } : {}) }, PG_MAJOR);
  }
  if (kind === 'pg-plain-dump' || PG_PLAIN.test(text)) {
    return withMajor({ kind: 'pg-plain-dump', engine: 'postgres', paths: [...paths], ...pgVersion(text), ...(single ? { complete: /^-- PostgreSQL database dump complete$/m.test(tail) } : {}) }, PG_MAJOR);
  }
  throw new DrillSetupError(`cannot tell what ${paths[0]} is: not a pg_dump archive, nor a PostgreSQL or MySQL/MariaDB dump by its header`, `give its kind: --kind ${BACKUP_KINDS.join('|')}`);
}

function pgVersion(text: string): { serverVersion?: string } {
  const version = /^-- Dumped from database version (\d+(\.\d+)?)/m.exec(text)?.[1];
  return version ? { serverVersion: version } : {};
}

function withMajor(backup: DetectedBackup, major: (version: string) => string): DetectedBackup {
  return backup.serverVersion ? { ...backup, major: major(backup.serverVersion) } : backup;
}
