import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseHistory } from '../journal/history.js';
import type { HistoryEntry } from '../journal/types.js';

/** The history file's name in the reports folder: `<reports>/history.jsonl`. */
export const HISTORY_FILE = 'history.jsonl';

/** Reads a history file, oldest first; none yet is an empty history. */
export async function readHistory(file: string): Promise<HistoryEntry[]> {
  try {
    return parseHistory(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Appends entries, one JSON line each. One write per call with O_APPEND: runs sharing a
 * reports folder add whole lines, never interleave inside one.
 */
export async function appendHistory(file: string, entries: readonly HistoryEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''), 'utf8');
}
