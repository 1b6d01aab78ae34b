import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The manifest of an evidence bundle: every file's path, size and sha256, signed as a whole
 * (manifest.sig). Everything in the bundle but the manifest and its signature is listed,
 * the public key and the index included, so nothing can be changed, added or removed
 * without the check saying which file.
 */

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const PUBLIC_KEY_FILE = 'public-key.pem';
export const MANIFEST_KIND = 'firedrill-evidence';
/** How a bundle's archive is named: its folder's path and this. */
export const ARCHIVE_SUFFIX = /\.(tar\.gz|tgz)$/;

export interface FileDigest {
  /** Relative to the bundle's folder, `/`-separated. */
  path: string;
  sha256: string;
  bytes: number;
}

export interface Manifest {
  formatVersion: 1;
  kind: typeof MANIFEST_KIND;
  createdAt: string;
  firedrill: string;
  /** The key that signed it (its public half is public-key.pem). */
  key: { algorithm: 'ed25519'; fingerprint: string };
  files: FileDigest[];
}

export function digest(path: string, content: Buffer): FileDigest {
  return { path, sha256: createHash('sha256').update(content).digest('hex'), bytes: content.length };
}

/**
 * Every regular file under `dir`, sorted by path, and what is there that is not a regular file
 * or a folder: a symlink could point anywhere, so it is never followed, only named.
 */
export async function digestTree(dir: string): Promise<{ files: FileDigest[]; irregular: string[] }> {
  const files: FileDigest[] = [];
  const irregular: string[] = [];
  const walk = async (relative: string) => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) files.push(digest(path, await readFile(join(dir, path))));
      else irregular.push(path);
    }
  };
  await walk('');
  // By code point, not locale: the same bundle lists its files in the same order everywhere.
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, irregular };
}

function isDigest(value: unknown): value is FileDigest {
  const file = value as Partial<FileDigest> | null;
  return typeof file === 'object' && file !== null && typeof file.path === 'string' && typeof file.sha256 === 'string' && typeof file.bytes === 'number';
}

/** The manifest in `text`, or why it is not one. */
export function parseManifest(text: string): Manifest | { problem: string } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const manifest = data as Partial<Manifest> | null;
  if (typeof manifest !== 'object' || manifest === null || manifest.kind !== MANIFEST_KIND || manifest.formatVersion !== 1) {
    return { problem: 'not a firedrill evidence manifest of format 1' };
  }
  if (!Array.isArray(manifest.files) || !manifest.files.every(isDigest) || typeof manifest.key?.fingerprint !== 'string') {
    return { problem: 'its file list or key is not as firedrill writes them' };
  }
  return manifest as Manifest;
}
