import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_TREND_LENGTH, historyEntry, historyFor, parseHistory } from '../../src/journal/history.js';
import type { HistoryEntry, Journal } from '../../src/journal/types.js';
import { chartModel } from '../../src/report/html-charts.js';
import { renderDrillHtml, renderRunIndexHtml } from '../../src/report/html.js';
import { appendHistory, readHistory } from '../../src/runner/history.js';
import { loadFixture } from '../support/comparison.js';

/** A history line of `scenario` with `strategy`, run `day` days into November. */
function line(day: number, overrides: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    at: `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`,
    runId: `run-${day}`,
    drillId: 'orders--pg-basebackup-wal',
    scenario: 'orders',
    scenarioHash: 'a'.repeat(64),
    strategy: 'pg-basebackup-wal',
    engine: 'postgres',
    status: 'passed',
    rtoServiceMs: 3000 + day * 100,
    rtoVerifiedMs: 3100 + day * 100,
    dataLossMs: 0,
    lostWrites: 600,
    backupSizeBytes: 5_000_000 + day * 100_000,
    backupDurationMs: 900,
    dataset: 'built-in shop, scale 1 (1000 customers, 200 products, 10000 orders)',
    ...overrides,
  };
}

describe('history lines', () => {
  it('records a drill compactly: figures to the microsecond, the dataset it seeded', () => {
    const journal = loadFixture('passed');
    journal.measurements.rtoServiceMs = 11_090.123456789;
    journal.phases.find((phase) => phase.name === 'seed')!.detail = 'built-in shop, scale 2 (2000 customers, 400 products, 20000 orders)';
    const us = (ms: number) => Math.round(ms * 1000) / 1000;
    expect(historyEntry(journal)).toEqual({
      at: journal.startedAt,
      runId: journal.runId,
      drillId: journal.drillId,
      scenario: 'fixture-bad-delete-pitr',
      scenarioHash: journal.scenario.hash,
      strategy: 'pg-basebackup-wal',
      engine: 'postgres',
      status: 'passed',
      rtoServiceMs: 11_090.123,
      rtoVerifiedMs: us(journal.measurements.rtoVerifiedMs!),
      dataLossMs: us(journal.measurements.dataLossMs!),
      lostWrites: journal.measurements.lostWrites,
      backupSizeBytes: journal.backup!.sizeBytes,
      backupDurationMs: us(journal.backup!.durationMs),
      dataset: 'built-in shop, scale 2 (2000 customers, 400 products, 20000 orders)',
    });
    // A drill that never got to a backup still has a line, with what it did not measure as null.
    expect(historyEntry(loadFixture('error'))).toMatchObject({ status: 'error', rtoServiceMs: null, backupSizeBytes: null, backupDurationMs: null });
  });

  it('keys a compared strategy by its label, so option variants trend apart', () => {
    const journal = { ...loadFixture('passed'), strategy: 'pg-dump', comparison: { label: 'pg-dump (jobs=4)', index: 1, repetition: 1, repetitions: 1 } };
    expect(historyEntry(journal).strategy).toBe('pg-dump (jobs=4)');
  });

  it('reads lines oldest first and skips the ones it cannot read', () => {
    const text = [JSON.stringify(line(3)), '{"at": "2026-11-0', '', 'not json', JSON.stringify({ some: 'object' }), JSON.stringify(line(1))].join('\n');
    expect(parseHistory(text).map((entry) => entry.runId)).toEqual(['run-1', 'run-3']);
  });
});

describe('history slices', () => {
  const entries = [
    line(1, { status: 'failed' }),
    line(2, { strategy: 'pg-dump', status: 'passed' }),
    line(3, { status: 'failed' }),
    line(4, { scenario: 'other', status: 'passed' }),
    line(5, { status: 'error', rtoServiceMs: null }),
  ];

  it('takes the earlier drills of the same scenario and strategy, oldest first', () => {
    const slice = historyFor(entries, { scenario: 'orders', strategy: 'pg-basebackup-wal', runId: 'now' });
    expect(slice.entries.map((entry) => entry.runId)).toEqual(['run-1', 'run-3', 'run-5']);
  });

  it('names the last passing drill of the scenario with any strategy', () => {
    expect(historyFor(entries, { scenario: 'orders', strategy: 'pg-basebackup-wal', runId: 'now' }).lastPassed).toEqual({ at: '2026-11-02T02:00:00.000Z', runId: 'run-2', strategy: 'pg-dump' });
    expect(historyFor(entries, { scenario: 'unknown', strategy: 'pg-dump', runId: 'now' })).toEqual({ entries: [], lastPassed: null });
  });

  it('leaves out the drill\'s own run, and keeps only the newest entries', () => {
    expect(historyFor(entries, { scenario: 'orders', strategy: 'pg-basebackup-wal', runId: 'run-5' }).entries.map((entry) => entry.runId)).toEqual(['run-1', 'run-3']);
    const many = Array.from({ length: 40 }, (_, day) => line(day + 1));
    const slice = historyFor(many, { scenario: 'orders', strategy: 'pg-basebackup-wal', runId: 'now' });
    expect(slice.entries).toHaveLength(HISTORY_TREND_LENGTH);
    expect(slice.entries[0]!.runId).toBe(`run-${40 - HISTORY_TREND_LENGTH + 1}`);
    expect(historyFor(many, { scenario: 'orders', strategy: 'pg-basebackup-wal', runId: 'now' }, 2).entries.map((entry) => entry.runId)).toEqual(['run-39', 'run-40']);
  });
});

describe('history file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'firedrill-history-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per drill and reads them back; no file is an empty history', async () => {
    const file = join(dir, 'reports', 'history.jsonl');
    expect(await readHistory(file)).toEqual([]);
    await appendHistory(file, [line(1), line(2)]);
    await appendHistory(file, [line(3)]);
    await appendHistory(file, []);
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')).toHaveLength(4);
    expect(JSON.parse(text.split('\n')[2]!)).toEqual(line(3));
    expect((await readHistory(file)).map((entry) => entry.runId)).toEqual(['run-1', 'run-2', 'run-3']);
  });

  it('survives a line cut short by a crash, and the next entry is not lost with it', async () => {
    const file = join(dir, 'history.jsonl');
    await writeFile(file, `${JSON.stringify(line(1))}\n{"at":"2026-11-02T02:0`);
    await appendHistory(file, [line(3)]);
    expect((await readHistory(file)).map((entry) => entry.runId)).toEqual(['run-1', 'run-3']);
  });
});

describe('history in the drill report', () => {
  function withHistory(entries: HistoryEntry[], lastPassed: Journal['history'] extends infer H ? (H extends { lastPassed: infer L } ? L : never) : never, status: Journal['status'] = 'failed'): Journal {
    const journal = loadFixture('passed');
    return { ...journal, scenario: { ...journal.scenario, name: 'orders' }, status, history: { entries, lastPassed } };
  }

  it('charts RTO and data loss over earlier runs with this run last, failures marked', () => {
    const journal = withHistory([line(1), line(2, { status: 'failed', rtoVerifiedMs: null })], null);
    const model = chartModel(journal).history!;
    expect(model.labels).toEqual(['11-01 02:00', '11-02 02:00', 'this run']);
    expect(model.passed).toEqual([true, false, false]);
    expect(model.datasets.map((dataset) => dataset.label)).toEqual(['RTO (service)', 'RTO (verified)', 'data loss']);
    // This run's point is its history entry (figures kept to the millisecond), in seconds.
    const seconds = (ms: number) => Number((ms / 1000).toFixed(3));
    const own = historyEntry(journal);
    expect(model.datasets[0]!.values).toEqual([3.1, 3.2, seconds(own.rtoServiceMs!)]);
    expect(model.datasets[1]!.values).toEqual([3.2, null, seconds(own.rtoVerifiedMs!)]);
    expect(Math.abs(own.rtoServiceMs! - journal.measurements.rtoServiceMs!)).toBeLessThan(1);
    expect(model.datasets[1]!.texts[1]).toBe('not measured');
  });

  it('shows the trend table, where the scenario changed, and when the scenario last passed', () => {
    const grown = line(2, { scenarioHash: 'b'.repeat(64), dataset: 'built-in shop, scale 4 (4000 customers, 800 products, 40000 orders)' });
    const journal = withHistory([line(1), grown], { at: '2026-11-02T02:00:00.000Z', runId: 'run-2', strategy: 'pg-basebackup-wal' });
    journal.scenario.hash = grown.scenarioHash;
    const page = renderDrillHtml(journal);
    const history = page.slice(page.indexOf('id="history"'), page.indexOf('id="environment"'));
    expect(history).toContain('<canvas id="chart-history"');
    expect(history).toContain('<dt>last passing drill of this scenario</dt><dd>2026-11-02 02:00:00 UTC</dd>');
    expect(history).toContain('scale 4 (4000 customers');
    expect(history.match(/pill-info">changed/g)).toHaveLength(1);
    expect(history).toContain('The scenario itself changed from the drill of 2026-11-02 02:00:00 UTC (built-in shop, scale 4 (4000 customers, 800 products, 40000 orders)) on');
    expect(page).toContain('<a href="#history">History</a>');
    // A failing drill says in its masthead when the scenario last passed.
    expect(page).toMatch(/<dt>last passed<\/dt><dd>2026-11-02 02:00:00 UTC<\/dd>/);
  });

  it('says the trend starts here on a first run, and shows nothing for a journal without history', () => {
    const first = renderDrillHtml(withHistory([], null, 'passed'));
    expect(first).toContain('the trend starts with this one');
    expect(first).toContain('<dt>last passing drill of this scenario</dt><dd>this one</dd>');
    expect(first).not.toContain('<canvas id="chart-history"');
    expect(renderDrillHtml(loadFixture('passed'))).not.toContain('id="history"');
  });

  it('shows in the run index when each drill\'s scenario last passed', () => {
    const failing = withHistory([], { at: '2026-11-02T02:00:00.000Z', runId: 'run-2', strategy: 'pg-dump' });
    const never = withHistory([], null);
    const page = renderRunIndexHtml([failing, never, withHistory([], null, 'passed')], ['a', 'b', 'c']);
    expect(page).toContain('<th scope="col" class="num">Last passed</th>');
    expect(page).toContain('2026-11-02 02:00:00 UTC (pg-dump)');
    expect(page).toContain('never on record');
    expect(page).toContain('this run');
    expect(renderRunIndexHtml([loadFixture('passed')], ['a'])).not.toContain('Last passed');
  });
});
