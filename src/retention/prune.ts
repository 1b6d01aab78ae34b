import { archivedName } from '../storage/archive-record.js';
import type { StorageLocation } from '../storage/storage.js';
import type { ArchiveDescription } from '../strategies/strategy.js';
import { describePolicy, keptBy, type RetentionPolicy, type RetentionRule } from './policy.js';

/** A backup as retention sees it: when it was taken, its files, and where its archive starts. */
export interface CatalogEntry {
  index: number;
  takenAt: Date;
  keys: readonly string[];
  startPosition?: string;
  /** The backup this one needs (an incremental's base): kept whenever this one is. */
  basedOn?: number;
}

export interface PruneResult {
  policy: string;
  kept: Array<{ backup: number; rules: Array<RetentionRule | 'base'> }>;
  removed: Array<{ backup: number; keys: string[] }>;
  /** Archived WAL segments or binlogs no kept backup needs: older than the oldest kept backup's first. */
  archiveRemoved: string[];
}

/**
 * Applies a retention policy to the backups in a location, as a backup tool's expire does:
 * the files of every backup no rule keeps — and no kept incremental is based on — are deleted, and so is every archived file older than
 * the first one the oldest kept backup needs. The newest backup, and the archive from its start
 * on, are never deleted: a policy always keeps the newest, and this checks it does.
 */
export async function pruneBackups(location: StorageLocation, catalog: readonly CatalogEntry[], policy: RetentionPolicy, archive?: ArchiveDescription): Promise<PruneResult> {
  const kept: Map<string, Array<RetentionRule | 'base'>> = keptBy(catalog.map((entry) => ({ id: String(entry.index), at: entry.takenAt })), policy);
  // A kept incremental keeps the chain it is restored from.
  for (const entry of [...catalog].sort((a, b) => b.index - a.index)) {
    if (kept.has(String(entry.index)) && entry.basedOn !== undefined && !kept.get(String(entry.basedOn))?.includes('base')) {
      kept.set(String(entry.basedOn), [...(kept.get(String(entry.basedOn)) ?? []), 'base']);
    }
  }
  const newest = [...catalog].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];
  if (newest && !kept.has(String(newest.index))) throw new Error(`retention ${describePolicy(policy)} would delete the newest backup (${newest.index}); refusing to prune`);
  const removed: PruneResult['removed'] = [];
  for (const entry of catalog) {
    if (kept.has(String(entry.index))) continue;
    for (const key of entry.keys) await location.delete(key);
    removed.push({ backup: entry.index, keys: [...entry.keys] });
  }
  const archiveRemoved: string[] = [];
  const starts = catalog.filter((entry) => kept.has(String(entry.index)) && entry.startPosition).map((entry) => archive?.fileOf(entry.startPosition!));
  const oldestNeeded = starts.length > 0 && starts.every((start) => start !== undefined) ? starts.sort()[0] : undefined;
  if (archive && oldestNeeded) {
    for (const key of await location.list(archive.prefix)) {
      if (archivedName(key) >= oldestNeeded) continue;
      await location.delete(key);
      archiveRemoved.push(archivedName(key));
    }
  }
  return {
    policy: describePolicy(policy),
    kept: catalog.filter((entry) => kept.has(String(entry.index))).map((entry) => ({ backup: entry.index, rules: kept.get(String(entry.index))! })),
    removed,
    archiveRemoved,
  };
}
