import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/journal/types.js';
import type { ComparisonJson } from '../../src/report/index.js';
import { cli, leftovers, privateTmp, removeDir } from '../support/drills.js';

// The same bad DELETE, once restored from a logical dump and once from a base backup plus WAL.
const scenario = `name: compare-bad-delete
target:
  engine: postgres
  dataset: { builtin: shop, scale: 0.2 }
workload: { writers: 3, rate: 100, warmup: 1s, resume: 0s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 4s, detectAfter: 2s }
objectives:
  rto: 2m
  rpo: 1s
`;

interface JsonResult {
  runDir: string;
  exitCode: number;
  drills: Array<{ dir: string; status: string; strategy: string; comparison?: { label: string } }>;
  comparisons: ComparisonJson['comparisons'];
}

describe('firedrill compare (built CLI, real PostgreSQL)', () => {
  const cleanup: string[] = [];
  afterAll(async () => {
    await Promise.all(cleanup.splice(0).map(removeDir));
  });

  it('runs pg-dump and pg-basebackup-wal on the same drill: point-in-time recovery loses less, and the reports say so', async () => {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-compare-'));
    cleanup.push(tmp, work);
    const file = join(work, 'compare.yaml');
    const out = join(work, 'reports');
    await writeFile(file, scenario);

    const result = await cli(['compare', file, '--strategies', 'pg-dump,pg-basebackup-wal', '--out', out, '--json'], { tmp });
    // The dump loses seconds of writes and breaches the 1 s RPO: exit code 1, as `run` would.
    expect(result.code, result.stderr).toBe(1);
    const parsed = JSON.parse(result.stdout) as JsonResult;
    expect(parsed.exitCode).toBe(1);
    expect(parsed.drills.map((drill) => [drill.strategy, drill.status, drill.comparison?.label])).toEqual([
      ['pg-dump', 'failed', 'pg-dump'],
      ['pg-basebackup-wal', 'passed', 'pg-basebackup-wal'],
    ]);

    const json = JSON.parse(await readFile(join(parsed.runDir, 'compare.json'), 'utf8')) as ComparisonJson;
    expect(json.comparisons).toEqual(parsed.comparisons);
    const [comparison] = json.comparisons;
    expect(comparison!.strategies.map((strategy) => strategy.label)).toEqual(['pg-dump', 'pg-basebackup-wal']);
    const [dump, pitr] = comparison!.strategies;
    // PITR stops just before the DELETE: nothing acknowledged before the fault is lost.
    expect(pitr!.figures.lostBeforeFault.median).toBe(0);
    expect(pitr!.figures.dataLossMs.median).toBe(0);
    // The dump restores to its own start: every write after it, seconds of them, is gone.
    expect(dump!.figures.lostBeforeFault.median).toBeGreaterThan(100);
    expect(dump!.figures.dataLossMs.median).toBeGreaterThan(1000);
    expect(comparison!.winners.dataLossMs).toEqual(['pg-basebackup-wal']);
    expect(comparison!.winners.lostBeforeFault).toEqual(['pg-basebackup-wal']);
    // Both measured every column they can; each drill links to its own report and journal.
    for (const strategy of [dump!, pitr!]) {
      for (const key of ['rtoServiceMs', 'rtoVerifiedMs', 'backupDurationMs', 'backupSizeBytes', 'restoreDurationMs'] as const) {
        expect(strategy.figures[key].complete, `${strategy.label} ${key}`).toBe(true);
      }
      expect(existsSync(join(parsed.runDir, strategy.drills[0]!.report))).toBe(true);
      expect(existsSync(join(parsed.runDir, strategy.drills[0]!.journal))).toBe(true);
    }

    // The page: both strategies, and the data-loss chart's table ranks PITR first.
    const page = await readFile(join(parsed.runDir, 'compare.html'), 'utf8');
    const dataLoss = page.slice(page.indexOf('<canvas id="chart-0-dataLossMs"'), page.indexOf('<canvas id="chart-0-lostWrites"'));
    expect(dataLoss.indexOf('pg-basebackup-wal')).toBeGreaterThan(0);
    expect(dataLoss.indexOf('pg-basebackup-wal')).toBeLessThan(dataLoss.indexOf('pg-dump'));
    expect(page).toContain('<strong>pg-basebackup-wal</strong> (best)');

    // CI outputs of a comparison, and one history line per drill.
    expect(await readFile(join(parsed.runDir, 'junit.xml'), 'utf8')).toContain('name="compare-bad-delete (pg-dump)"');
    expect(await readFile(join(parsed.runDir, 'summary.md'), 'utf8')).toContain('### Comparison: compare-bad-delete');
    const history = (await readFile(join(out, 'history.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as HistoryEntry);
    expect(history.map((entry) => [entry.strategy, entry.status, entry.scenario])).toEqual([
      ['pg-dump', 'failed', 'compare-bad-delete'],
      ['pg-basebackup-wal', 'passed', 'compare-bad-delete'],
    ]);
    expect(history[0]!.dataset).toContain('scale 0.2');

    // `firedrill report` renders the same comparison again from the journals alone.
    const again = await cli(['report', parsed.runDir], { tmp });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(join(parsed.runDir, 'compare.html'));
    expect(JSON.parse(await readFile(join(parsed.runDir, 'compare.json'), 'utf8'))).toEqual(json);

    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });
});
