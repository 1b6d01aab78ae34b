import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseHistory } from '../journal/history.js';
import type { HistoryEntry, Journal } from '../journal/types.js';

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

/** Whether a file's last byte is a newline (or the file is empty or absent). */
async function endsWithNewline(file: string): Promise<boolean> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return true;
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const { buffer } = await handle.read({ buffer: Buffer.alloc(1), position: size - 1 });
    return buffer[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/**
 * Appends entries, one JSON line each. One write per call with O_APPEND: runs sharing a
 * reports folder add whole lines, never interleave inside one. A last line cut short by a
 * crash is ended first, so it cannot swallow the next entry.
 */
export async function appendHistory(file: string, entries: readonly HistoryEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await mkdir(dirname(file), { recursive: true });
  const lead = (await endsWithNewline(file)) ? '' : '\n';
  await appendFile(file, lead + entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''), 'utf8');
}

/** The newest passing drill of this scenario (and strategy, if named) under `outDir`, with its journal and the journal's path, if its folder is still there. */
export async function lastPassing(outDir: string, scenario: string, strategy?: string): Promise<{ journal: Journal; path: string } | undefined> {
  const history = await readHistory(join(resolve(outDir), HISTORY_FILE)).catch(() => []);
  for (const entry of [...history].reverse()) {
    if (entry.scenario !== scenario || (strategy !== undefined && entry.strategy !== strategy) || entry.status !== 'passed') continue;
    try {
      const path = join(resolve(outDir), entry.runId, entry.drillId, 'journal.json');
      return { journal: JSON.parse(await readFile(path, 'utf8')) as Journal, path };
    } catch {
      // That run's folder was removed: look further back.
    }
  }
  return undefined;
}
