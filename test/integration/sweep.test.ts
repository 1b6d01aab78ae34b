import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { ARTIFACTS, canvasInk, reportBrowser } from '../support/browser.js';
import { cli, leftovers, privateTmp, removeDir } from '../support/drills.js';

const SCENARIO = `name: sweep-orders
target:
  engine: postgres
  dataset: { builtin: shop }
workload: { writers: 2, rate: 50, warmup: 1s, resume: 0s }
strategy: pg-dump
fault: { kind: bad-delete, table: orders, at: 3s, detectAfter: 500ms }
sweep: { scale: [0.2, 0.6, 1.8] }
forecast: { size: 800GB, logPerHour: 20GB, backupEvery: 24h }
objectives:
  rto: 1h
  rpo: 30s
`;

const browser = reportBrowser();
beforeAll(() => browser.setup());
afterAll(() => browser.close());

describe('a sweep of sizes (built CLI, real PostgreSQL)', () => {
  it('runs the drill at each size, links the journals, fits RTO per phase and forecasts production size, labelled a forecast', async () => {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-sweep-'));
    onTestFinished(() => removeDir(work));
    const file = join(work, 'sweep.yaml');
    await writeFile(file, SCENARIO);
    const out = join(work, 'reports');
    const result = await cli(['run', file, '--out', out], { tmp });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/sweep sweep-orders \(pg-dump\): 3 of 3 sizes measured\n {2}Forecast RTO at 800 GB of data/);
    expect(result.stderr).toMatch(/RTO \(verified\) ≤ 1 h 00 min: forecast to (breach|meet)/);

    const [run] = (await readdir(out)).filter((name) => /^\d{8}-/.test(name));
    const runDir = join(out, run!);
    const drills = (await readdir(runDir)).filter((name) => name.startsWith('sweep-orders--')).sort();
    expect(drills).toEqual(['sweep-orders--pg-dump--scale-0.2', 'sweep-orders--pg-dump--scale-0.6', 'sweep-orders--pg-dump--scale-1.8']);
    const journals = await Promise.all(drills.map(async (drill) => JSON.parse(await readFile(join(runDir, drill, 'journal.json'), 'utf8')) as Journal));
    expect(journals.map((journal) => journal.sweep)).toEqual([
      { label: 'scale 0.2', index: 0, count: 3, scale: 0.2 },
      { label: 'scale 0.6', index: 1, count: 3, scale: 0.6 },
      { label: 'scale 1.8', index: 2, count: 3, scale: 1.8 },
    ]);
    // The sizes differ in data alone, and each drill measured how much it held and restored.
    const seeded = journals.map((journal) => journal.phases.find((phase) => phase.name === 'seed')!.detail);
    expect(seeded).toEqual(expect.arrayContaining([expect.stringContaining('scale 0.2'), expect.stringContaining('scale 1.8')]));
    const data = journals.map((journal) => journal.volume!.dataBytes);
    expect(data[0]!).toBeLessThan(data[1]!);
    expect(data[1]!).toBeLessThan(data[2]!);
    for (const journal of journals) {
      expect(journal.calibration.diskWriteBytesPerSecond).toBeGreaterThan(0);
      expect(journal.restoreThroughput).toMatchObject({ bytes: journal.volume!.dataBytes, efficiency: expect.any(Number) });
      // A dump replays no log.
      expect(journal.volume!.logBytes).toBeNull();
      expect(journal.replayThroughput).toBeUndefined();
    }

    const sweep = JSON.parse(await readFile(join(runDir, 'sweep.json'), 'utf8')) as { sweeps: Array<{ drills: Array<{ drillId: string }>; model: { phases: Array<{ phase: string; residuals: unknown[] }> }; forecast: { basis: string; objectives: Array<{ basis: string; outcome: string }> } }> };
    expect(sweep.sweeps).toHaveLength(1);
    const [only] = sweep.sweeps;
    expect(only!.drills.map((drill) => drill.drillId)).toEqual(drills);
    expect(only!.model.phases.map((phase) => phase.phase)).toContain('restore');
    expect(only!.model.phases.every((phase) => phase.residuals.length === 3)).toBe(true);
    expect(only!.forecast.basis).toBe('forecast');
    expect(only!.forecast.objectives.every((objective) => objective.basis === 'forecast')).toBe(true);

    const { page, problems, outside } = await browser.visit(`file://${join(runDir, 'sweep.html')}`, (target) => target.startsWith('file://'));
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('(a forecast, not a measurement)');
    expect(text).not.toMatch(/\bmeasured RTO at 800/i);
    expect((await canvasInk(page)).every((canvas) => canvas.chart && canvas.inked > 0)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'sweep.png'), fullPage: true });
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });
});
