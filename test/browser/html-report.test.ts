import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { renderDrillHtml, renderRunIndexHtml } from '../../src/report/html.js';
import { runbookOf } from '../../src/report/runbook.js';
import { ARTIFACTS, canvasInk, fixedInPrint, reportBrowser } from '../support/browser.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

describe('HTML report in a real browser', () => {
  const browser = reportBrowser();
  const open = browser.open;

  beforeAll(() => browser.setup());
  afterAll(() => browser.close());

  for (const [fixture, verdict] of [
    ['passed', 'PASS'],
    ['breached', 'FAIL'],
  ] as const) {
    it(`renders the ${fixture} drill offline with every chart drawn`, async () => {
      const journal = load(fixture);
      const { page, outside, problems } = await open(`${fixture}.html`, renderDrillHtml(journal));
      try {
        expect(outside).toEqual([]);
        expect(problems).toEqual([]);

        const canvases = await canvasInk(page);
        expect(canvases.map((canvas) => canvas.id)).toEqual(['chart-timeline', 'chart-phases', 'chart-rpo']);
        for (const canvas of canvases) {
          expect(canvas.chart, `${canvas.id} has a Chart.js chart`).toBe(true);
          expect(canvas.inked, `${canvas.id} painted pixels`).toBeGreaterThan(2000);
        }

        // Hovering the timeline names the drill time and the wall-clock time.
        const title = await page.evaluate(() => {
          const chart = (window as unknown as { Chart: { getChart(canvas: HTMLCanvasElement): { options: { plugins: { tooltip: { callbacks: { title(items: unknown[]): string } } } } } } }).Chart.getChart(document.querySelector('#chart-timeline') as HTMLCanvasElement);
          return chart.options.plugins.tooltip.callbacks.title([{ parsed: { x: 12 } }]);
        });
        const wall = new Date(Date.parse(journal.fault!.wallTime) - journal.fault!.atMs + 12_000).toISOString().slice(11, 19);
        expect(title).toBe(`drill time 12.0 s · ${wall} UTC`);

        const badge = page.locator('#verdict .badge');
        expect(await badge.isVisible()).toBe(true);
        expect(await badge.textContent()).toBe(verdict);
        const firstStep = page.locator('#runbook > ol.runbook > li').first();
        expect(await firstStep.isVisible()).toBe(true);
        const steps = await page.locator('#runbook > ol.runbook > li pre').allTextContents();
        // Every command from the fault on, in order: what a responder would run.
        expect(steps).toEqual(runbookOf(journal).steps.map((command) => command.command));
        expect(steps.length).toBeGreaterThan(3);

        await page.screenshot({ path: join(ARTIFACTS, `report-${fixture}.png`), fullPage: true });
        expect(await fixedInPrint(page)).toBe(0);
        await page.screenshot({ path: join(ARTIFACTS, `report-${fixture}-print.png`), fullPage: true });
      } finally {
        await page.close();
      }
    }, 30_000);
  }

  it('shows a failover: the standby\'s lag up to the fault drawn, where each instance and location was, what the region loss destroyed', async () => {
    const journal = load('failover');
    const { page, outside, problems } = await open('failover.html', renderDrillHtml(journal));
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      const canvases = await canvasInk(page);
      expect(canvases.map((canvas) => canvas.id)).toContain('chart-samples');
      const samples = canvases.find((canvas) => canvas.id === 'chart-samples')!;
      expect(samples.chart).toBe(true);
      expect(samples.inked).toBeGreaterThan(2000);
      expect(await page.locator('#samples figcaption').textContent()).toMatch(/the last sample \(lag [\d.]+ (B|KiB|MiB), lag [\d.]+ (ms|s)\) is how things stood when it struck/);
      expect(await page.locator('#samples details.data tbody tr').count()).toBe(journal.strategySamples!.length);
      const recovery = await page.locator('#recovery').textContent();
      expect(recovery).toContain(journal.fault!.description);
      expect(recovery).toContain('gone with its data');
      expect(recovery).toContain('promote the standby (failover)');
      const storage = page.locator('#backup table').filter({ hasText: 'Region' }).first();
      expect(await storage.locator('tbody tr', { hasText: 'primary' }).textContent()).toMatch(/destroyed.*eu/);
      expect(await page.locator('#environment tbody tr', { hasText: 'standby' }).textContent()).toContain('us');
      await page.screenshot({ path: join(ARTIFACTS, 'report-failover.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('says in words what broke in a broken chain: the missing segment, where recovery stopped, the writes lost', async () => {
    const journal = load('broken-chain');
    const { page, problems } = await open('broken-chain.html', renderDrillHtml(journal));
    try {
      expect(problems).toEqual([]);
      expect(await page.locator('#verdict .badge').textContent()).toBe('FAIL');
      const segment = journal.recovery!.gap!.what;
      const recovery = (await page.locator('#recovery').textContent())!;
      expect(recovery).toContain(journal.latentFaults![0]!.description);
      expect(recovery).toContain(`${segment} (location "primary")`);
      expect(await page.locator('#verdict').textContent()).toMatch(new RegExp(`${segment} is missing from archive "primary".*before the target; ${journal.ledger!.lost} acknowledged writes lost`));
      await page.screenshot({ path: join(ARTIFACTS, 'report-broken-chain.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('keeps every column of the verdict table in view at a laptop width and on an A4 page: long values wrap, line breaks stay', async () => {
    const journal = load('breached');
    const long = `3 differences: ${'table order_items: 41 rows missing, digest 6f1c… instead of 09ab…; '.repeat(2)}`.trim();
    journal.objectives[0] = { ...journal.objectives[0]!, measured: long, reason: 'first line of what the tool said\nsecond line of what the tool said' };
    const { page } = await open('verdict-columns.html', renderDrillHtml(journal), { width: 1280, height: 800 });
    try {
      const overflowing = () =>
        page.evaluate(() => {
          const card = document.querySelector('#verdict')!.getBoundingClientRect();
          const cells = [...document.querySelectorAll('#verdict table th, #verdict table td')];
          return {
            cells: cells.length,
            outside: cells.filter((cell) => cell.getBoundingClientRect().right > card.right + 0.5 || cell.getBoundingClientRect().width < 4).map((cell) => cell.textContent),
            // A header broken inside a word shows as a line narrower than the word.
            brokenHeaders: [...document.querySelectorAll('#verdict table th')].filter((th) => th.scrollWidth > th.clientWidth + 0.5).map((th) => th.textContent),
          };
        });
      const screen = await overflowing();
      expect(screen.cells).toBe(5 * (journal.objectives.length + 1));
      expect(screen.outside).toEqual([]);
      expect(screen.brokenHeaders).toEqual([]);
      expect(await page.locator('#verdict .note-text').first().evaluate((element) => (element as HTMLElement).innerText)).toBe('first line of what the tool said\nsecond line of what the tool said');
      await page.screenshot({ path: join(ARTIFACTS, 'verdict-laptop.png') });
      // An A4 page's printable width at 96 dpi, in print styles.
      await page.emulateMedia({ media: 'print' });
      await page.setViewportSize({ width: 700, height: 1000 });
      const print = await overflowing();
      expect(print.outside).toEqual([]);
      expect(print.brokenHeaders).toEqual([]);
      await page.screenshot({ path: join(ARTIFACTS, 'verdict-print.png'), fullPage: true });
      // In print a checksum is whole, and inside its table: there are no tooltips on paper.
      const backup = journal.artifacts.find((artifact) => artifact.sha256)!;
      const shown = page.locator('#backup .sha').first();
      expect(await shown.evaluate((element) => (element as HTMLElement).innerText)).toBe(backup.sha256);
      expect(await page.evaluate(() => {
        const cell = document.querySelector('#backup .sha')!.closest('td')!.getBoundingClientRect();
        return cell.right <= document.querySelector('#backup')!.getBoundingClientRect().right + 0.5;
      })).toBe(true);
      await page.emulateMedia({ media: 'screen' });
      expect(await shown.evaluate((element) => (element as HTMLElement).innerText)).toBe(`${backup.sha256!.slice(0, 12)}…`);
    } finally {
      await page.close();
    }
  }, 30_000);

  it('renders a drill that could not run with notes instead of charts', async () => {
    const journal = load('error');
    // A tool's message over several lines, long enough to crowd the badge beside the headline.
    const message = `${journal.errors[0]!.message}\npsql: error: connection to server on socket failed: ${'No such file or directory. '.repeat(6)}\n\tIs the server running locally?`;
    journal.errors[0] = { ...journal.errors[0]!, message };
    const { page, outside, problems } = await open('error.html', renderDrillHtml(journal), { width: 1024, height: 800 });
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      const badge = page.locator('#verdict .badge');
      expect(await badge.textContent()).toBe('ERROR');
      // The whole word, not clipped by a long headline beside it.
      expect(await badge.evaluate((element) => element.scrollWidth <= element.clientWidth)).toBe(true);
      expect(await page.locator('#verdict p.note').textContent()).toBe('No objective was judged: the drill did not run to the end. The scenario declares check "invoices are back"; each counts as not met.');
      expect(await page.locator('#verdict .callout').isVisible()).toBe(true);
      expect(await page.locator('#verdict .callout .message').evaluate((element) => (element as HTMLElement).innerText.split('\n').length)).toBe(3);
      expect(await page.locator('#timeline .note').textContent()).toContain('not measured');
      expect(await page.locator('#rpo .note').textContent()).toContain('not measured');
      expect(await page.locator('canvas').count()).toBe(1); // the phase waterfall still has phases
      await page.screenshot({ path: join(ARTIFACTS, 'report-error.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('draws the trend of earlier drills of the same scenario and strategy', async () => {
    const journal = load('breached');
    const earlier = (day: number, status: Journal['status'], rtoMs: number) => ({
      at: `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`,
      runId: `run-${day}`,
      drillId: journal.drillId,
      scenario: journal.scenario.name,
      scenarioHash: journal.scenario.hash,
      strategy: journal.strategy,
      engine: journal.engine,
      status,
      rtoServiceMs: rtoMs,
      rtoVerifiedMs: rtoMs + 2000,
      dataLossMs: 18_000 + day * 200,
      lostWrites: 3600 + day * 40,
      backupSizeBytes: 40_000_000 + day * 600_000,
      backupDurationMs: 6000,
    });
    journal.history = {
      entries: [earlier(14, 'passed', 15_200), earlier(15, 'passed', 16_900), earlier(16, 'failed', 19_400), earlier(17, 'passed', 18_100), earlier(18, 'failed', 21_700)],
      lastPassed: { at: '2026-11-17T02:00:00.000Z', runId: 'run-17', strategy: journal.strategy },
    };
    const { page, outside, problems } = await open('history.html', renderDrillHtml(journal));
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      const history = (await canvasInk(page)).find((canvas) => canvas.id === 'chart-history');
      expect(history).toMatchObject({ chart: true });
      expect(history!.inked).toBeGreaterThan(2000);
      expect(await page.locator('header .meta').textContent()).toContain('last passed2026-11-17 02:00:00 UTC');
      await page.locator('#history').screenshot({ path: join(ARTIFACTS, 'report-history.png') });
    } finally {
      await page.close();
    }
  }, 30_000);

  it('renders the run index with failures first and working links', async () => {
    const journals = ['passed', 'breached', 'error'].map(load);
    const { page, outside, problems } = await open('index.html', renderRunIndexHtml(journals, ['passed.html', 'breached.html', 'error.html']));
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      expect(await page.locator('tbody tr td:first-child').allTextContents()).toEqual(['ERROR', 'FAIL', 'PASS']);
      expect(await page.locator('tbody a').evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual([
        'error.html',
        'breached.html',
        'passed.html',
      ]);
      await page.screenshot({ path: join(ARTIFACTS, 'report-index.png'), fullPage: true });
    } finally {
      await page.close();
    }
  }, 30_000);
});
