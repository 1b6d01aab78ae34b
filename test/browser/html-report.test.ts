import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { renderDrillHtml, renderRunIndexHtml } from '../../src/report/html.js';

// Debian's chromium, driven by playwright-core: no browser download, no network.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

interface Opened {
  page: Page;
  /** Every request the page made other than its own file and data:/blob: URLs. */
  outside: string[];
  /** Console errors and uncaught exceptions. */
  problems: string[];
}

/**
 * Launched by the first test that needs it, so a missing Chromium fails every test with the
 * fix in the message. Fail, never skip: a report nobody has seen rendered is not tested.
 */
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}; the HTML report test needs a real browser. Install it: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('HTML report in a real browser', () => {
  let launching: Promise<Browser> | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'firedrill-report-'));
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await launching?.then((browser) => browser.close(), () => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  async function open(fileName: string, content: string): Promise<Opened> {
    const browser = await (launching ??= launchChromium());
    const file = join(dir, fileName);
    await writeFile(file, content);
    const url = pathToFileURL(file).href;
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const outside: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => {
      const target = request.url();
      if (target !== url && !target.startsWith('data:') && !target.startsWith('blob:')) outside.push(target);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(url, { waitUntil: 'load' });
    return { page, outside, problems };
  }

  /** Per canvas: whether Chart.js owns it, and how many pixels it painted. */
  function canvasInk(page: Page): Promise<Array<{ id: string; chart: boolean; inked: number }>> {
    return page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((canvas) => {
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) inked++;
        const chart = (globalThis as unknown as { Chart: { getChart(c: HTMLCanvasElement): unknown } }).Chart.getChart(canvas);
        return { id: canvas.id, chart: chart !== undefined, inked };
      }),
    );
  }

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
        const restorePath = journal.commands
          .filter((command) => ['detect', 'fetch', 'restore', 'start', 'replay', 'service', 'verify'].includes(command.phase))
          .map((command) => command.command);
        expect(steps).toEqual(restorePath);

        await page.screenshot({ path: join(ARTIFACTS, `report-${fixture}.png`), fullPage: true });
        await page.emulateMedia({ media: 'print' });
        const fixed = await page.evaluate(
          () => [...document.querySelectorAll('body *')].filter((element) => ['fixed', 'sticky'].includes(getComputedStyle(element).position)).length,
        );
        expect(fixed).toBe(0);
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
