import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildComparisons, columnWinners, COMPARISON_METRICS, median, metricStats, rangesOverlap, type ComparedEntry } from '../../src/compare/comparison.js';
import { renderConsoleComparison } from '../../src/report/console.js';
import { drillTitle, formatSpread } from '../../src/report/format.js';
import { comparisonChartModel, renderComparisonHtml } from '../../src/report/html-compare.js';
import { writeReports, type ComparisonJson } from '../../src/report/index.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { planDrills } from '../../src/runner/run.js';
import { parseScenario } from '../../src/scenario/loader.js';
import { COMPARED_SCENARIO, comparisonJournals, loadFixture } from '../support/comparison.js';

/** Winners by column the fixture comparison is built to have (see test/support/comparison.ts). */
const EXPECTED_WINNERS = {
  rtoServiceMs: ['pg-dump (jobs=4)'],
  // pg-dump is faster, but one of its runs did not measure this: it cannot be best.
  rtoVerifiedMs: ['pg-basebackup-wal'],
  dataLossMs: ['pg-basebackup-wal'],
  lostWrites: ['pg-basebackup-wal'],
  lostBeforeFault: ['pg-basebackup-wal'],
  backupDurationMs: ['pg-dump (jobs=4)'],
  backupSizeBytes: ['pg-dump (jobs=4)'],
  keptBytes: ['pg-dump (jobs=4)'],
  restoreDurationMs: ['pg-dump (jobs=4)'],
  backupThroughputChange: ['pg-dump (jobs=4)'],
  backupLatencyChange: ['pg-basebackup'],
};

function entry(label: string, values: Array<number | null>): ComparedEntry {
  const stats = metricStats(values);
  return { label, strategy: label, index: 0, drills: [], statuses: [], stats: { rtoServiceMs: stats } as ComparedEntry['stats'] };
}

describe('comparison figures', () => {
  it('takes the median of the measured values, with the mean of the middle two for an even count', () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(metricStats([3, null, 1])).toEqual({ values: [3, null, 1], median: 2, min: 1, max: 3, complete: false });
    expect(metricStats([null])).toMatchObject({ median: null, min: null, max: null, complete: false });
  });

  it('names the best complete entries of a column, ties shared, and none when nothing sets them apart', () => {
    const lower = { key: 'rtoServiceMs', better: 'lower' } as const;
    expect(columnWinners([entry('a', [5]), entry('b', [3]), entry('c', [3])], lower)).toEqual(['b', 'c']);
    expect(columnWinners([entry('a', [5]), entry('b', [3])], { ...lower, better: 'higher' })).toEqual(['a']);
    // All equal, a single entry, or a single measured one: nothing to pick between.
    expect(columnWinners([entry('a', [0]), entry('b', [0])], lower)).toEqual([]);
    expect(columnWinners([entry('a', [1])], lower)).toEqual([]);
    expect(columnWinners([entry('a', [1]), entry('b', [null])], lower)).toEqual([]);
    // A better median that some run failed to measure does not win.
    expect(columnWinners([entry('a', [5, 6]), entry('b', [1, null])], lower)).toEqual(['a']);
  });

  it('flags a best median whose range over the runs overlaps another entry\'s', () => {
    const lower = { key: 'rtoServiceMs', better: 'lower' } as const;
    expect(rangesOverlap([entry('a', [3, 4, 5]), entry('b', [4.5, 6, 7])], lower, ['a'])).toBe(true);
    expect(rangesOverlap([entry('a', [3, 4, 5]), entry('b', [5.5, 6, 7])], lower, ['a'])).toBe(false);
    expect(rangesOverlap([entry('a', [3, 4, 5]), entry('b', [1, 2, 2.5])], { ...lower, better: 'higher' }, ['a'])).toBe(false);
    const [comparison] = buildComparisons(comparisonJournals(3));
    expect(comparison!.overlapping).toMatchObject({ rtoServiceMs: false, dataLossMs: false, rtoVerifiedMs: true });
    expect(Object.values(buildComparisons(comparisonJournals(1))[0]!.overlapping).every((overlap) => !overlap)).toBe(true);
  });

  it('groups the journals of a comparison by entry, in listed order, drills by repetition', () => {
    const journals = comparisonJournals(3);
    const plain = loadFixture('passed');
    const [comparison, ...others] = buildComparisons([plain, ...[...journals].reverse()]);
    expect(others).toEqual([]);
    expect(comparison!.scenario).toBe(COMPARED_SCENARIO);
    expect(comparison!.repetitions).toBe(3);
    expect(comparison!.entries.map((e) => e.label)).toEqual(['pg-basebackup-wal', 'pg-basebackup', 'pg-dump (jobs=4)']);
    // Indexes point into the array given (the plain journal is index 0; the rest reversed).
    const wal = comparison!.entries[0]!;
    expect(wal.drills.map((index) => [index, index === 0 ? undefined : [plain, ...[...journals].reverse()][index]!.comparison!.repetition])).toEqual([
      [9, 1],
      [6, 2],
      [3, 3],
    ]);
    expect(wal.stats.rtoServiceMs).toMatchObject({ values: [11_090, 11_755, 12_421], median: 11_755, min: 11_090, max: 12_421, complete: true });
    expect(comparison!.entries[2]!.stats.rtoVerifiedMs).toMatchObject({ values: [9100, null, 9828], median: 9464, complete: false });
    expect(comparison!.winners).toEqual(EXPECTED_WINNERS);
  });

  it('keeps comparisons of different runs and scenarios apart, and makes none of plain drills', () => {
    const other = comparisonJournals(1).map((journal) => ({ ...journal, runId: 'another-run' }));
    expect(buildComparisons([...comparisonJournals(1), ...other]).map((c) => [c.runId, c.entries.length])).toEqual([
      ['run-compare', 3],
      ['another-run', 3],
    ]);
    expect(buildComparisons(['passed', 'breached', 'error'].map(loadFixture))).toEqual([]);
  });

  it('measures restore duration from detection to service, and the backup\'s load as the change in throughput', () => {
    const [comparison] = buildComparisons(comparisonJournals(1));
    const dump = comparison!.entries[2]!;
    expect(dump.stats.restoreDurationMs.median).toBeCloseTo(3200, 6);
    expect(dump.stats.backupThroughputChange.median).toBeCloseTo((190.2 / 200 - 1) * 100, 6);
    expect(dump.stats.backupLatencyChange.median).toBeCloseTo((9.8 / 4 - 1) * 100, 6);
    // A paced workload keeps its rate through a slower backup: no throughput figure, the latency one stays.
    const paced = buildComparisons(comparisonJournals(1).map((journal) => ({ ...journal, workload: { ...journal.workload, targetRate: 200 } })))[0]!.entries[2]!;
    expect(paced.stats.backupThroughputChange.median).toBeNull();
    expect(paced.stats.backupLatencyChange.median).toBeCloseTo((9.8 / 4 - 1) * 100, 6);
  });
});

describe('comparison report', () => {
  const journals = comparisonJournals(3);
  const comparisons = buildComparisons(journals);
  const links = journals.map((journal) => `${journal.drillId}/report.html`);
  const page = renderComparisonHtml(journals, comparisons, links);
  const rows = page.slice(page.indexOf('<div class="comparison">')).split('<tr>').slice(2);

  it('highlights the best cell of each column, and only those', () => {
    const highlighted = rows.map((row) => {
      const cells = row.split('<td').slice(2);
      return cells.flatMap((cell, column) => (cell.includes('class="win"') ? [COMPARISON_METRICS[column]!.key] : []));
    });
    const label = ['pg-basebackup-wal', 'pg-basebackup', 'pg-dump (jobs=4)'];
    for (const [row, keys] of highlighted.entries()) {
      const expected = Object.entries(EXPECTED_WINNERS)
        .filter(([, winners]) => winners.includes(label[row]!))
        .map(([key]) => key);
      expect(keys, label[row]).toEqual(expected);
    }
    // The quickest in most columns failed its objectives: it does not rank first.
    expect(page).toContain(
      'Ranked by verdict, then RTO (verified), data loss and lost writes: 1. pg-basebackup-wal (passed 3 of 3), 2. pg-dump (jobs=4) (failed 3 of 3), 3. pg-basebackup (failed 3 of 3). By column: pg-dump (jobs=4) is best in 6 of 11; pg-basebackup-wal in 4, pg-basebackup in 1.',
    );
  });

  it('shows medians with the range of the runs, and says when a run did not measure a figure', () => {
    expect(rows[0]).toContain('11.76 s');
    expect(rows[0]).toContain('<span class="spread">11.09–12.42 s</span>');
    expect(rows[0]).toContain('<span class="spread">every run</span>'); // data loss: 0 ms each time
    expect(rows[2]).toContain('<span class="spread">2 of 3 measured</span>');
    expect(formatSpread('ms', { min: 950, max: 1020 })).toBe('950 ms – 1.02 s');
    expect(formatSpread('percent', { min: -10.8, max: -9.1 })).toBe('−10.8 – −9.1 %');
    expect(formatSpread('rows', { min: 1005, max: 1126 })).toBe('1,005–1,126');
  });

  it('links each strategy to its own drill reports, one per run', () => {
    for (const link of links) expect(page).toContain(`href="${link}"`);
    expect(rows[0]).toContain(`<a href="${COMPARED_SCENARIO}--pg-basebackup-wal--r1/report.html">pg-basebackup-wal</a>`);
    expect(rows[0]).toMatch(/<a class="pill pill-pass" href="orders-bad-delete--pg-basebackup-wal--r2\/report.html"[^>]*>#2 PASS<\/a>/);
  });

  it('charts each column best first, the winner in green, with whiskers over the runs', () => {
    const model = comparisonChartModel(comparisons);
    expect(model.charts.map((chart) => chart.id)).toEqual(COMPARISON_METRICS.map((metric) => `chart-0-${metric.key}`));
    const dataLoss = model.charts.find((chart) => chart.id === 'chart-0-dataLossMs')!;
    expect(dataLoss.axis).toBe('seconds');
    expect(dataLoss.bars.map((bar) => [bar.label, bar.winner])).toEqual([
      ['pg-basebackup-wal', true],
      ['pg-dump (jobs=4)', false],
      ['pg-basebackup', false],
    ]);
    const size = model.charts.find((chart) => chart.id === 'chart-0-backupSizeBytes')!;
    expect(size.axis).toBe('MiB');
    const load = model.charts.find((chart) => chart.id === 'chart-0-backupThroughputChange')!;
    expect(load.bars[0]!.label).toBe('pg-dump (jobs=4)'); // higher (less slowdown) is better
    expect(load.xMin).toBeLessThan(0);
    const rto = model.charts.find((chart) => chart.id === 'chart-0-rtoServiceMs')!;
    expect(rto.bars[1]).toMatchObject({ label: 'pg-basebackup-wal', value: 11.755, min: 11.09, max: 12.421, text: '11.76 s', spread: '11.09–12.42 s' });
    // Every chart has its table.
    expect(page.match(/<details class="data">/g)).toHaveLength(COMPARISON_METRICS.length);
  });

  it('is one self-contained page under the same policy as the drill report', () => {
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain(`content="default-src &#39;none&#39;; script-src &#39;sha256-`);
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
  });

  it('puts the comparison in the Markdown summary and the console, best in bold or starred', () => {
    const markdown = renderMarkdown(journals);
    expect(markdown).toContain('### Comparison: orders-bad-delete (medians of 3 runs, range in brackets)');
    // pg-dump's RTO (verified) is lower but incomplete: the best complete one overlaps it.
    expect(markdown).toContain('| pg-basebackup-wal | 11.76 s (11.09–12.42 s) | **13.32 s**~ (12.57–14.08 s) | **0 ms** (0 ms) |');
    expect(markdown).toContain('~ marks a best whose range overlaps another strategy\'s');
    expect(markdown).toContain('| orders-bad-delete | pg-dump (jobs=4) #2 | **FAIL** |');
    const text = renderConsoleComparison(journals);
    expect(text).toContain('comparison: orders-bad-delete (medians of 3 runs; * best in its column, *~ best but its range overlaps another\'s)');
    expect(text).toMatch(/pg-dump \(jobs=4\) +8\.53 s \* +9\.46 s +14\.58 s/);
    expect(renderConsoleComparison([loadFixture('passed')])).toBe('');
    expect(drillTitle(journals[4]!)).toBe('orders-bad-delete (pg-basebackup #2)');
  });
});

describe('compare reporter', () => {
  let runDir: string;
  beforeEach(async () => {
    runDir = await mkdtemp(join(tmpdir(), 'firedrill-compare-'));
  });
  afterEach(async () => {
    await rm(runDir, { recursive: true, force: true });
  });

  it('writes compare.html and compare.json beside the run\'s other reports', async () => {
    const journals = comparisonJournals(2);
    const dirs = journals.map((journal) => journal.drillId);
    const outcome = await writeReports(journals, runDir, dirs, undefined, { env: {} });
    expect(outcome.errors).toEqual([]);
    for (const file of ['compare.html', 'compare.json', 'index.html', 'junit.xml', 'summary.md', 'summary.json']) expect(existsSync(join(runDir, file)), file).toBe(true);
    const json = JSON.parse(await readFile(join(runDir, 'compare.json'), 'utf8')) as ComparisonJson;
    expect(json.columns.map((column) => column.key)).toEqual(COMPARISON_METRICS.map((metric) => metric.key));
    const [comparison] = json.comparisons;
    expect(comparison).toMatchObject({ runId: 'run-compare', scenario: COMPARED_SCENARIO, engine: 'postgres', repetitions: 2 });
    expect(comparison!.winners.dataLossMs).toEqual(['pg-basebackup-wal']);
    const wal = comparison!.strategies[0]!;
    expect(wal.wins).toEqual(['rtoVerifiedMs', 'dataLossMs', 'lostWrites', 'lostBeforeFault']);
    expect(wal.figures.rtoServiceMs).toEqual({ values: [11_090, 11_755], median: 11_422.5, min: 11_090, max: 11_755, complete: true });
    expect(wal.drills).toEqual([
      { drillId: `${COMPARED_SCENARIO}--pg-basebackup-wal--r1`, repetition: 1, status: 'passed', report: `${COMPARED_SCENARIO}--pg-basebackup-wal--r1/report.html`, journal: `${COMPARED_SCENARIO}--pg-basebackup-wal--r1/journal.json` },
      { drillId: `${COMPARED_SCENARIO}--pg-basebackup-wal--r2`, repetition: 2, status: 'passed', report: `${COMPARED_SCENARIO}--pg-basebackup-wal--r2/report.html`, journal: `${COMPARED_SCENARIO}--pg-basebackup-wal--r2/journal.json` },
    ]);
    // Drill reports link back to the comparison.
    expect(await readFile(join(runDir, dirs[0]!, 'report.html'), 'utf8')).toContain('<a href="../compare.html">pg-basebackup-wal · run 1 of 2</a>');
  });

  it('writes no comparison for a run of plain drills', async () => {
    const outcome = await writeReports([loadFixture('passed')], runDir, ['passed'], ['compare'], { env: {} });
    expect(outcome).toEqual({ files: [], errors: [] });
  });
});

describe('planDrills', () => {
  const base = `name: plan
target: { engine: postgres }
fault: { kind: bad-delete, table: orders }
`;

  it('runs a scenario with one strategy as one drill, unchanged', async () => {
    const scenario = await parseScenario(`${base}strategy: pg-dump\n`, 'plan.yaml');
    expect(planDrills([scenario])).toEqual([{ scenario, drillId: 'plan--pg-dump' }]);
  });

  it('runs each listed strategy, round by round when repeated, with a drill id per repetition', async () => {
    const scenario = await parseScenario(`${base}strategies: [pg-dump, { name: pg-basebackup-wal, compression: none }]\n`, 'plan.yaml');
    const plans = planDrills([scenario], { repeat: 2 });
    expect(plans.map((plan) => [plan.drillId, plan.scenario.strategy.name, plan.comparison])).toEqual([
      ['plan--pg-dump--r1', 'pg-dump', { label: 'pg-dump', index: 0, repetition: 1, repetitions: 2 }],
      ['plan--pg-basebackup-wal--r1', 'pg-basebackup-wal', { label: 'pg-basebackup-wal', index: 1, repetition: 1, repetitions: 2 }],
      ['plan--pg-dump--r2', 'pg-dump', { label: 'pg-dump', index: 0, repetition: 2, repetitions: 2 }],
      ['plan--pg-basebackup-wal--r2', 'pg-basebackup-wal', { label: 'pg-basebackup-wal', index: 1, repetition: 2, repetitions: 2 }],
    ]);
    // Each drill runs one strategy with its own options; the list is not part of what it runs.
    expect(plans[1]!.scenario.strategy).toEqual({ name: 'pg-basebackup-wal', options: { compression: 'none' } });
    expect(plans[1]!.scenario.strategies).toBeUndefined();
  });

  it('compares a single strategy with itself when asked (compare --repeat), and keeps drill ids apart', async () => {
    const scenario = await parseScenario(`${base}strategies: [{ name: pg-dump, jobs: 1 }, { name: pg-dump, jobs: 4 }]\n`, 'plan.yaml');
    const single = await parseScenario(`${base}strategy: pg-dump\n`, 'plan.yaml');
    expect(planDrills([scenario]).map((plan) => plan.drillId)).toEqual(['plan--pg-dump-jobs-1', 'plan--pg-dump-jobs-4']);
    expect(planDrills([single], { compare: true, repeat: 2 }).map((plan) => [plan.drillId, plan.comparison?.label])).toEqual([
      ['plan--pg-dump--r1', 'pg-dump'],
      ['plan--pg-dump--r2', 'pg-dump'],
    ]);
    expect(planDrills([single, single]).map((plan) => plan.drillId)).toEqual(['plan--pg-dump', 'plan--pg-dump-2']);
  });
});
