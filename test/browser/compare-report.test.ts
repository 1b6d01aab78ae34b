import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildComparisons, COMPARISON_METRICS } from '../../src/compare/comparison.js';
import { renderComparisonHtml } from '../../src/report/html-compare.js';
import { ARTIFACTS, canvasInk, fixedInPrint, reportBrowser } from '../support/browser.js';
import { comparisonJournals } from '../support/comparison.js';

describe('comparison report in a real browser', () => {
  const browser = reportBrowser();

  beforeAll(() => browser.setup());
  afterAll(() => browser.close());

  function render(repetitions: number) {
    const journals = comparisonJournals(repetitions);
    const links = journals.map((journal) => `${journal.drillId}/report.html`);
    return { journals, links, page: renderComparisonHtml(journals, buildComparisons(journals), links) };
  }

  it('renders three strategies over three runs offline: every chart drawn, the best of each column highlighted, every run linked', async () => {
    const { journals, links, page: content } = render(3);
    const { page, outside, problems } = await browser.open('compare.html', content);
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);

      const canvases = await canvasInk(page);
      expect(canvases).toHaveLength(COMPARISON_METRICS.length);
      for (const canvas of canvases) {
        expect(canvas.chart, `${canvas.id} has a Chart.js chart`).toBe(true);
        expect(canvas.inked, `${canvas.id} painted pixels`).toBeGreaterThan(1500);
      }

      // One highlighted cell per column (no ties in these figures), visibly tinted.
      const wins = page.locator('.comparison tbody .win');
      expect(await wins.count()).toBe(COMPARISON_METRICS.length);
      expect(await wins.first().isVisible()).toBe(true);
      const background = await wins.first().evaluate((element) => getComputedStyle(element).backgroundColor);
      expect(background).not.toMatch(/rgba\(0, 0, 0, 0\)|transparent/);

      // The data-loss column's best is the point-in-time restore.
      const dataLoss = COMPARISON_METRICS.findIndex((metric) => metric.key === 'dataLossMs');
      const walRow = page.locator('.comparison tbody tr', { hasText: 'pg-basebackup-wal' });
      expect(await walRow.locator('td').nth(dataLoss + 1).locator('.win').count()).toBe(1);
      // pg-dump missed RTO (verified) once: it is not the best there, and the cell says why.
      const dumpRow = page.locator('.comparison tbody tr', { hasText: 'pg-dump (jobs=4)' });
      const verified = dumpRow.locator('td').nth(COMPARISON_METRICS.findIndex((metric) => metric.key === 'rtoVerifiedMs') + 1);
      expect(await verified.locator('.win').count()).toBe(0);
      expect(await verified.textContent()).toContain('2 of 3 measured');

      // Every run links to its own drill report, in the run's order per strategy.
      const hrefs = await page.locator('.comparison tbody .runs a').evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href')));
      expect([...hrefs].sort()).toEqual([...links].sort());
      expect(await page.locator('.comparison tbody .runs a').first().textContent()).toBe(`#1 ${journals[0]!.status === 'passed' ? 'PASS' : 'FAIL'}`);

      await page.screenshot({ path: join(ARTIFACTS, 'compare.png'), fullPage: true });
      expect(await fixedInPrint(page)).toBe(0);
      await page.screenshot({ path: join(ARTIFACTS, 'compare-print.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('renders a single run per strategy without ranges', async () => {
    const { page: content } = render(1);
    const { page, outside, problems } = await browser.open('compare-single.html', content, { width: 1024, height: 800 });
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      expect(await page.locator('.spread').count()).toBe(0);
      for (const canvas of await canvasInk(page)) expect(canvas.inked, canvas.id).toBeGreaterThan(1500);
      await page.screenshot({ path: join(ARTIFACTS, 'compare-single.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30_000);
});
