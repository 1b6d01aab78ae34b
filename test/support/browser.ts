import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium, driven by playwright-core: no browser download, no network. */
const CHROMIUM = '/usr/bin/chromium';

/** Screenshots of the reports land here, for a human to look at. */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export interface Opened {
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
    throw new Error(`Chromium is missing at ${CHROMIUM}; the HTML report tests need a real browser. Install it: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A browser for one test file: `open()` writes a page to a temp dir and opens it from
 * file://, watching what leaves the page and what goes wrong in it. Call `setup()` in
 * beforeAll and `close()` in afterAll.
 */
export function reportBrowser() {
  let launching: Promise<Browser> | undefined;
  let dir: string | undefined;
  /** A page served over HTTP (the game day's): `own` says which requests are the page's own. */
  async function visit(url: string, own = (target: string) => new URL(target).origin === new URL(url).origin, viewport = { width: 1280, height: 900 }): Promise<Opened> {
    const browser = await (launching ??= launchChromium());
    const page = await browser.newPage({ viewport });
    const outside: string[] = [];
    const problems: string[] = [];
    page.on('request', (request) => {
      const target = request.url();
      if (!own(target) && !target.startsWith('data:') && !target.startsWith('blob:')) outside.push(target);
    });
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(url, { waitUntil: 'load' });
    return { page, outside, problems };
  }
  return {
    async setup(): Promise<void> {
      dir = await mkdtemp(join(tmpdir(), 'firedrill-report-'));
      await mkdir(ARTIFACTS, { recursive: true });
    },
    async close(): Promise<void> {
      await launching?.then((browser) => browser.close(), () => undefined);
      if (dir) await rm(dir, { recursive: true, force: true });
    },
    async open(fileName: string, content: string, viewport = { width: 1280, height: 900 }): Promise<Opened> {
      const file = join(dir!, fileName);
      await writeFile(file, content);
      const url = pathToFileURL(file).href;
      return visit(url, (target) => target === url, viewport);
    },
    visit,
  };
}

/** Per canvas: whether Chart.js owns it, and how many pixels it painted. */
export function canvasInk(page: Page): Promise<Array<{ id: string; chart: boolean; inked: number }>> {
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

/** Elements that would repeat on every printed page or cover content (fixed or sticky), in print media. */
export async function fixedInPrint(page: Page): Promise<number> {
  await page.emulateMedia({ media: 'print' });
  return page.evaluate(() => [...document.querySelectorAll('body *')].filter((element) => ['fixed', 'sticky'].includes(getComputedStyle(element).position)).length);
}
