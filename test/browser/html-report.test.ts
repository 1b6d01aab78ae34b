import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { renderDrillHtml, renderRunIndexHtml, restorePathCommands } from '../../src/report/html.js';
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

        const badge = page.locator('#verdict .badge');
        expect(await badge.isVisible()).toBe(true);
        expect(await badge.textContent()).toBe(verdict);
        const firstStep = page.locator('#runbook > ol.runbook > li').first();
        expect(await firstStep.isVisible()).toBe(true);
        const steps = await page.locator('#runbook > ol.runbook > li pre').allTextContents();
        // Every command from the fault on, in order: what a responder would run.
        expect(steps).toEqual(restorePathCommands(journal).map((command) => command.command));
        expect(steps.length).toBeGreaterThan(3);

        await page.screenshot({ path: join(ARTIFACTS, `report-${fixture}.png`), fullPage: true });
        expect(await fixedInPrint(page)).toBe(0);
        await page.screenshot({ path: join(ARTIFACTS, `report-${fixture}-print.png`), fullPage: true });
      } finally {
        await page.close();
      }
    }, 30_000);
  }

  it('renders a drill that could not run with notes instead of charts', async () => {
    const { page, outside, problems } = await open('error.html', renderDrillHtml(load('error')));
    try {
      expect(outside).toEqual([]);
      expect(problems).toEqual([]);
      expect(await page.locator('#verdict .badge').textContent()).toBe('ERROR');
      expect(await page.locator('#verdict .callout').isVisible()).toBe(true);
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
