import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import {
  checkOutcome,
  failuresFirst,
  formatBytes,
  formatServerTime,
  formatWallTime,
  runHeadline,
  summarizeDrill,
  verdictHeadline,
} from '../../src/report/format.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

describe('report formatting', () => {
  it('formats sizes in binary units', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(5_832_704)).toBe('5.6 MiB');
    expect(formatBytes(16 * 1024 ** 4)).toBe('16.0 TiB');
  });

  it('keeps all six digits of a server timestamp', () => {
    expect(formatServerTime(1_763_731_226_562_312)).toBe('2025-11-21T13:20:26.562312Z');
    expect(formatServerTime(1_763_731_226_000_007)).toBe('2025-11-21T13:20:26.000007Z');
  });

  it('shows wall times in UTC, and odd input as it is', () => {
    expect(formatWallTime('2026-11-21T14:20:04.112+01:00')).toBe('2026-11-21 13:20:04 UTC');
    expect(formatWallTime('yesterday')).toBe('yesterday');
  });

  it('says in one sentence why a drill got its verdict', () => {
    expect(verdictHeadline(load('passed'))).toBe('All 5 objectives met; all 3 checks passed.');
    expect(verdictHeadline(load('breached'))).toBe('1 of 4 objectives breached (rto-service); all 3 checks passed.');
    expect(verdictHeadline(load('error'))).toBe('Could not run: pgbackrest not found on PATH (spawn pgbackrest ENOENT)');
    expect(verdictHeadline({ ...load('error'), status: 'interrupted', errors: [] })).toBe('Interrupted before the drill finished.');
  });

  it('summarizes drills and runs', () => {
    expect(summarizeDrill(load('error'))).toMatchObject({ verdict: 'ERROR', rtoService: 'not measured', objectivesMet: '0/2' });
    expect(summarizeDrill(load('breached'))).toMatchObject({ verdict: 'FAIL', lostWrites: '4,271', objectivesMet: '3/4' });
    expect(runHeadline([])).toBe('0 drills');
    expect(runHeadline([load('passed')])).toBe('1 drill: 1 passed');
  });

  it('orders drills needing attention first and keeps the rest in order', () => {
    const statuses = ['passed', 'interrupted', 'failed', 'passed', 'error'] as const;
    const ordered = failuresFirst(statuses.map((status, index) => ({ status, index })), (item) => item.status);
    expect(ordered.map((item) => item.index)).toEqual([4, 2, 1, 0, 3]);
  });

  it('describes a check by what was expected and found', () => {
    expect(checkOutcome({ name: 'c', expect: '= 1', value: '2', passed: false, detail: 'off by one' })).toBe('expected = 1, got 2 (off by one)');
    expect(checkOutcome({ name: 'c', passed: true })).toBe('passed');
  });
});
