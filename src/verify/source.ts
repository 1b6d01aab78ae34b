import { createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { storageTypes } from '../storage/index.js';
import { s3Options } from '../storage/s3.js';
import { DrillSetupError } from '../util/errors.js';

/** How to reach the bucket of an `s3://` source; credentials come from the standard AWS chain, never from here. */
export interface S3SourceOptions {
  endpoint?: string;
  pathStyle?: boolean;
  caFile?: string;
}

/** The newest of a directory's files (the latest modified): a nightly job's newest dump. */
async function newestFile(dir: string): Promise<string> {
  const files = await Promise.all((await readdir(dir)).map(async (name) => ({ path: join(dir, name), info: await stat(join(dir, name)) })));
  const newest = files.filter((file) => file.info.isFile()).sort((a, b) => b.info.mtimeMs - a.info.mtimeMs)[0];
  if (!newest) throw new DrillSetupError(`no file in ${dir} to verify`, 'name the directory your backups are written to, or the backup itself');
  return newest.path;
}

/**
 * The backup's files on this machine. A local path is used as it is (read, never written);
 * with `newest`, the latest modified file of the directory named. An `s3://bucket/key` is
 * fetched into `dir` — or with `newest`, the latest modified object under `s3://bucket/prefix/`
 * — using only reads on the bucket (list, head, get), so a verification cannot change it.
 */
export async function resolveSource(given: readonly string[], dir: string, options: { newest?: boolean; s3?: S3SourceOptions }): Promise<{ paths: string[]; source: string }> {
  const s3 = given.find((path) => path.startsWith('s3://'));
  if (!s3) {
    if (!options.newest) return { paths: [...given], source: given.join(' ') };
    if (given.length !== 1) throw new DrillSetupError('--newest picks one backup from one directory', 'name one directory (or one s3:// prefix)');
    const path = await newestFile(given[0]!);
    return { paths: [path], source: path };
  }
  if (given.length !== 1) throw new DrillSetupError('an s3:// backup is verified on its own', 'name one s3:// object, or one prefix with --newest');
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(s3);
  if (!match) throw new DrillSetupError(`${s3} names no object or prefix`, 'write s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ with --newest');
  const [, bucket, rest] = match as unknown as [string, string, string];
  const prefix = options.newest ? rest.replace(/\/+$/, '') : posix.dirname(rest);
  if (prefix === '' || prefix === '.') throw new DrillSetupError(`${s3}: a backup at the bucket's top level cannot be read here`, 'keep backups under a prefix (s3://BUCKET/PREFIX/…)');
  const endpoint = options.s3?.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const location = storageTypes.s3.reopen(
    'backups',
    s3Options.parse({ type: 's3', bucket, prefix, ...(endpoint ? { endpoint } : {}), ...(options.s3?.pathStyle ? { pathStyle: true } : {}), ...(options.s3?.caFile ? { caFile: options.s3.caFile } : {}) }),
    prefix,
  );
  let key = posix.basename(rest);
  if (options.newest) {
    const keys = await location.list('');
    const stated = await Promise.all(keys.map(async (candidate) => ({ key: candidate, modifiedAt: (await location.stat(candidate))?.modifiedAt?.getTime() ?? 0 })));
    const newest = stated.sort((a, b) => b.modifiedAt - a.modifiedAt)[0];
    if (!newest) throw new DrillSetupError(`no object under s3://${bucket}/${prefix}/`, 'check the prefix, the endpoint and the credentials');
    key = newest.key;
  }
  const path = join(dir, basename(key));
  await pipeline(await location.get(key), createWriteStream(path, { mode: 0o644 }));
  return { paths: [path], source: `s3://${bucket}/${prefix}/${key}` };
}
