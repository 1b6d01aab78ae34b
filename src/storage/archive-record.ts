import { digest } from './digest.js';
import type { StorageLocation } from './storage.js';

/**
 * What a continuous archive (WAL segments, binlogs) held once the source had shipped all it
 * would: every file's size and sha256, as an archiving tool records them. A restore compares
 * the archive with it, so a file removed or changed since is a finding, even where recovery
 * cannot tell: a missing newest file looks like the end of the archive, and a damaged record
 * in a WAL segment ends replay as quietly as the end of the WAL does.
 */
export interface ArchiveRecord {
  location: string;
  prefix: string;
  files: ReadonlyMap<string, { sizeBytes: number; sha256: string }>;
}


/** The name of an archived file, without the archive's prefix. */
export const archivedName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

export async function recordArchive(location: StorageLocation, prefix: string): Promise<ArchiveRecord> {
  const files = new Map<string, { sizeBytes: number; sha256: string }>();
  for (const key of (await location.list(prefix)).sort()) files.set(key, await digest(location, key));
  return { location: location.name, prefix, files };
}

/** The recorded files now missing from the archive, and those whose bytes changed, by name, in archive order. */
export async function checkArchive(location: StorageLocation, record: ArchiveRecord): Promise<{ missing: string[]; changed: string[] }> {
  const present = new Set(await location.list(record.prefix));
  const missing: string[] = [];
  const changed: string[] = [];
  for (const [key, recorded] of record.files) {
    if (!present.has(key)) {
      missing.push(archivedName(key));
      continue;
    }
    const found = await digest(location, key);
    if (found.sha256 !== recorded.sha256 || found.sizeBytes !== recorded.sizeBytes) changed.push(archivedName(key));
  }
  return { missing, changed };
}
