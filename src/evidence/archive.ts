import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { errorMessage } from '../util/errors.js';
import { digest, type FileDigest } from './manifest.js';

/** Something in a bundle that does not check out, and which file it is. */
export interface BundleProblem {
  file: string;
  problem: string;
}

/**
 * Packs files of `dir` (paths relative to it, `/`-separated) into a .tar.gz, under one top
 * folder `root` so that unpacking it makes the bundle's folder. Every entry has the same
 * `mtime` (the bundle's creation): the same bundle makes the same archive.
 */
export async function packArchive(dir: string, paths: readonly string[], root: string, mtime: Date, out: string): Promise<void> {
  const pack = tar.pack();
  const writing = pipeline(pack, createGzip(), createWriteStream(out));
  const folders = new Set<string>();
  const folder = (name: string) => {
    if (folders.has(name)) return;
    folders.add(name);
    pack.entry({ name: `${name}/`, type: 'directory', mode: 0o755, mtime });
  };
  folder(root);
  for (const path of paths) {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth++) folder(`${root}/${parts.slice(0, depth).join('/')}`);
    pack.entry({ name: `${root}/${path}`, mode: 0o644, mtime }, await readFile(join(dir, path)));
  }
  pack.finalize();
  await writing;
}

/**
 * Reads a bundle's .tar.gz without unpacking it: the digest of every file under its top
 * folder, the content of the files named in `keep`, and what is wrong with the archive
 * itself — an entry outside the folder, one that is not a file, a path there twice, or a
 * stream that breaks off (a damaged or cut archive: gzip's own check fails on a flipped byte).
 */
export async function readArchive(file: string, keep: readonly string[]): Promise<{ files: FileDigest[]; kept: Map<string, Buffer>; problems: BundleProblem[]; damaged?: BundleProblem }> {
  const files: FileDigest[] = [];
  const kept = new Map<string, Buffer>();
  const problems: BundleProblem[] = [];
  const seen = new Set<string>();
  let root: string | undefined;
  const extract = tar.extract();
  const reading = pipeline(createReadStream(file), createGunzip(), extract);
  // Awaited below; this only keeps a failure while the loop still runs from going unhandled.
  reading.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const name = entry.header.name.replace(/\/+$/, '');
      root ??= name.split('/')[0]!;
      const path = name.startsWith(`${root}/`) ? name.slice(root.length + 1) : undefined;
      if (entry.header.type === 'directory') continue;
      if (path === undefined) problems.push({ file: name, problem: `outside the bundle's folder ${root}/ in the archive: added after signing` });
      else if (entry.header.type !== 'file') problems.push({ file: path, problem: `a ${entry.header.type ?? 'special entry'}, not a file: added after signing` });
      else if (seen.has(path)) problems.push({ file: path, problem: 'in the archive twice: added after signing' });
      else {
        seen.add(path);
        const content = Buffer.concat(chunks);
        files.push(digest(path, content));
        if (keep.includes(path)) kept.set(path, content);
      }
    }
    await reading;
  } catch (error) {
    return { files, kept, problems, damaged: { file: basename(file), problem: `cannot be read to its end (${errorMessage(error)}): the archive was damaged or cut short` } };
  }
  return { files, kept, problems };
}
