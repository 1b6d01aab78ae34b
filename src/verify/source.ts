import { createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { storageTypes } from '../storage/index.js';
import { s3Options } from '../storage/s3.js';
import type { StorageLocation } from '../storage/storage.js';
import { DrillSetupError } from '../util/errors.js';
import type { VerificationSpec } from './spec.js';
import { inBatches } from './verify.js';

/** How to reach the bucket of an `s3://` source; credentials come from the standard AWS chain, never from here. */
export interface S3SourceOptions {
  endpoint?: string;
  pathStyle?: boolean;
  caFile?: string;
}

/** A local copy of what an `s3://` URL names: the record names its files by the URL, not by a temp directory removed afterwards. */
export interface FetchedSource {
  path: string;
  url: string;
}

/** The newest of a directory's files (the latest modified): a nightly job's newest dump. */
async function newestFile(dir: string): Promise<string> {
  const files = await Promise.all((await readdir(dir)).map(async (name) => ({ path: join(dir, name), info: await stat(join(dir, name)) })));
  const newest = files.filter((file) => file.info.isFile()).sort((a, b) => b.info.mtimeMs - a.info.mtimeMs)[0];
  if (!newest) throw new DrillSetupError(`no file in ${dir} to verify`, 'name the directory your backups are written to, or the backup itself');
  return newest.path;
}

/** The bucket of an `s3://` URL, and the prefix (no slash at either end) its location is opened at. */
function openBucket(url: string, prefix: (rest: string) => string, options: S3SourceOptions | undefined): { bucket: string; prefix: string; rest: string; location: StorageLocation } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new DrillSetupError(`${url} names no object or prefix`, 'write s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ (a directory, or with --newest its newest object)');
  const [, bucket, rest] = match as unknown as [string, string, string];
  const root = prefix(rest).replace(/^\/+|\/+$/g, '');
  if (root === '' || root === '.') throw new DrillSetupError(`${url}: a backup at the bucket's top level cannot be read here`, 'keep backups under a prefix (s3://BUCKET/PREFIX/…)');
  const endpoint = options?.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const location = storageTypes.s3.reopen(
    'backups',
    s3Options.parse({ type: 's3', bucket, prefix: root, ...(endpoint ? { endpoint } : {}), ...(options?.pathStyle ? { pathStyle: true } : {}), ...(options?.caFile ? { caFile: options.caFile } : {}) }),
    root,
  );
  return { bucket, prefix: root, rest, location };
}

async function fetchObject(location: StorageLocation, key: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  // World-readable, as the directories above: the restore's tools run as the server's account.
  await pipeline(await location.get(key), createWriteStream(path, { mode: 0o644 }));
}

/**
 * A pgBackRest repository is refused from a bucket: it holds every backup set and the whole WAL
 * archive, and `pgbackrest verify` reads all of it, so a copy would be the entire repository to
 * restore one set. pgBackRest reads an S3 repository itself (repo1-type=s3), with credentials in
 * its own configuration, which a verification does not write yet.
 */
const PGBACKREST_INFO = /^backup\/[^/]+\/backup\.info$/;

/**
 * Every object under `s3://bucket/prefix/` fetched into `into`, each key below the prefix a path
 * below it: a directory backup (a base backup, a mariadb-backup, a directory dump) or a WAL or
 * binlog archive, verified as the local directory it now is. Only list and get: the bucket is
 * never written to.
 */
export async function fetchPrefix(url: string, into: string, options?: S3SourceOptions): Promise<FetchedSource> {
  const { location, bucket, prefix } = openBucket(url, (rest) => rest, options);
  const where = `s3://${bucket}/${prefix}/`;
  // A key ending in "/" is a folder marker (the console's "create folder"), not a file.
  const keys = (await location.list('')).filter((key) => key !== '' && !key.endsWith('/'));
  if (keys.length === 0) throw new DrillSetupError(`no object under ${where}`, 'check the prefix, the endpoint and the credentials');
  if (keys.some((key) => PGBACKREST_INFO.test(key))) {
    throw new DrillSetupError(
      `${where} is a pgBackRest repository: one kept in S3 is not verified, because pgbackrest verify reads every backup set and the whole WAL archive, and fetching them all to restore one set is the entire repository`,
      'verify it on a host where the repository is a directory (repo1-type=posix), or sync a copy (aws s3 sync) and verify that',
    );
  }
  for (const key of keys) {
    // A key can hold "..": none may land outside the directory it is fetched into.
    const inside = relative(into, resolve(into, key));
    if (inside.startsWith('..')) throw new DrillSetupError(`${where}${key} would be fetched outside its directory`, 'rename the object: keys below a backup prefix are paths inside the backup');
  }
  await mkdir(into, { recursive: true, mode: 0o755 });
  await inBatches(keys, (key) => fetchObject(location, key, join(into, key)), 16);
  return { path: into, url: where };
}

/**
 * The backup's files on this machine. A local path is used as it is (read, never written);
 * with `newest`, the latest modified file of the directory named. An `s3://bucket/key` is
 * fetched into `dir` — with `newest`, the latest modified object under `s3://bucket/prefix/`;
 * without it, a URL ending in "/" is a directory and every object under it is fetched — using
 * only reads on the bucket (list, head, get), so a verification cannot change it.
 */
export async function resolveSource(given: readonly string[], dir: string, options: { newest?: boolean; s3?: S3SourceOptions }): Promise<{ paths: string[]; source: string; fetched?: FetchedSource }> {
  const s3 = given.find((path) => path.startsWith('s3://'));
  if (!s3) {
    if (!options.newest) return { paths: [...given], source: given.join(' ') };
    if (given.length !== 1) throw new DrillSetupError('--newest picks one backup from one directory', 'name one directory (or one s3:// prefix)');
    const path = await newestFile(given[0]!);
    return { paths: [path], source: path };
  }
  if (given.length !== 1) throw new DrillSetupError('an s3:// backup is verified on its own', 'name one s3:// object, one prefix ending in "/" (a directory), or one prefix with --newest');
  const into = join(dir, 'backup');
  if (!options.newest && s3.endsWith('/')) {
    const fetched = await fetchPrefix(s3, into, options.s3);
    return { paths: [fetched.path], source: fetched.url, fetched };
  }
  const { location, bucket, prefix, rest } = openBucket(s3, (path) => (options.newest ? path : posix.dirname(path)), options.s3);
  let key = posix.basename(rest);
  if (options.newest) {
    const keys = await location.list('');
    const stated = await Promise.all(keys.map(async (candidate) => ({ key: candidate, modifiedAt: (await location.stat(candidate))?.modifiedAt?.getTime() ?? 0 })));
    const newest = stated.sort((a, b) => b.modifiedAt - a.modifiedAt)[0];
    if (!newest) throw new DrillSetupError(`no object under s3://${bucket}/${prefix}/`, 'check the prefix, the endpoint and the credentials');
    key = newest.key;
  }
  const path = join(into, posix.basename(key));
  await fetchObject(location, key, path);
  const url = `s3://${bucket}/${prefix}/${key}`;
  return { paths: [path], source: url, fetched: { path, url } };
}

/**
 * The WAL archive and binlogs a verification names, where they are `s3://` prefixes, fetched into
 * `dir` (each a directory, with or without the closing "/"): the spec with their local copies.
 */
export async function resolveArchives(spec: VerificationSpec, dir: string, s3?: S3SourceOptions): Promise<{ spec: VerificationSpec; fetched: FetchedSource[] }> {
  const fetched: FetchedSource[] = [];
  const local = { ...spec };
  for (const field of ['wal', 'binlogs'] as const) {
    const url = spec[field];
    if (!url?.startsWith('s3://')) continue;
    const copy = await fetchPrefix(url.endsWith('/') ? url : `${url}/`, join(dir, field), s3);
    fetched.push(copy);
    local[field] = copy.path;
  }
  return { spec: local, fetched };
}
