import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import {
  checkOutcome,
  damageSummary,
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
    const passed = load('passed');
    expect(verdictHeadline(passed)).toBe(`All ${passed.objectives.length} objectives met.`);
    const breached = load('breached');
    const failing = breached.objectives.filter((objective) => !objective.passed).map((objective) => objective.name);
    expect(verdictHeadline(breached)).toBe(`${failing.length} of ${breached.objectives.length} objectives breached (${failing.join(', ')}).`);
    expect(failing).toEqual(['RTO (service)', 'RPO (data loss)', 'RPO (lost writes)', 'check: the newest orders are back']);
    expect(verdictHeadline(load('error'))).toBe('Could not run: check "invoices are back" cannot run: relation "invoices" does not exist');
    expect(verdictHeadline({ ...load('error'), status: 'interrupted', errors: [] })).toBe('Interrupted before the drill finished.');
  });

  it('summarizes drills and runs', () => {
    expect(summarizeDrill(load('error'))).toMatchObject({ verdict: 'ERROR', rtoService: 'not measured', objectivesMet: '0/0' });
    const breached = load('breached');
    expect(summarizeDrill(breached)).toMatchObject({
      verdict: 'FAIL',
      lostWrites: new Intl.NumberFormat('en-US').format(breached.measurements.lostWrites!),
      objectivesMet: `${breached.objectives.length - 4}/${breached.objectives.length}`,
    });
    expect(runHeadline([])).toBe('0 drills');
    expect(runHeadline([load('passed')])).toBe('1 drill: 1 passed');
  });

  it('orders drills needing attention first and keeps the rest in order', () => {
    const statuses = ['passed', 'interrupted', 'failed', 'passed', 'error'] as const;
    const ordered = failuresFirst(statuses.map((status, index) => ({ status, index })), (item) => item.status);
    expect(ordered.map((item) => item.index)).toEqual([4, 2, 1, 0, 3]);
  });

  it('says what became of the damage: rows back, rows that belonged to lost writes, rows still damaged', () => {
    expect(damageSummary({ table: 'orders', affectedRows: 11_448, restoredRows: 10_507, missingRows: 941, explainedByLostWrites: 941, tablePresent: true, undone: true })).toBe(
      '10,507 of 11,448 damaged rows back; 941 belonged to writes the restore lost',
    );
    expect(damageSummary({ table: 'orders', affectedRows: 100, restoredRows: 90, missingRows: 10, explainedByLostWrites: 4, tablePresent: true, undone: false })).toBe(
      '90 of 100 damaged rows back; 4 belonged to writes the restore lost; 6 still damaged',
    );
    expect(damageSummary({ table: 'orders', affectedRows: 100, restoredRows: 0, missingRows: 100, explainedByLostWrites: 0, tablePresent: false, undone: false })).toBe('table orders missing after the restore');
  });

  it('describes a check by what was expected and found', () => {
    expect(checkOutcome({ name: 'c', expect: '= 1', value: '2', passed: false, detail: 'off by one' })).toBe('expected = 1, got 2 (off by one)');
    expect(checkOutcome({ name: 'c', passed: true })).toBe('passed');
  });
});
