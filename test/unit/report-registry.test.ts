import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { readJournals, reporters, writeReports, type Reporter } from '../../src/report/index.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

describe('writeReports', () => {
  let runDir: string;
  const journals = ['passed', 'breached', 'error'].map(load);
  const drillDirs = ['passed', 'breached', 'error'];

  beforeEach(async () => {
    runDir = await mkdtemp(join(tmpdir(), 'firedrill-reports-'));
  });
  afterEach(async () => {
    await rm(runDir, { recursive: true, force: true });
  });

  it('writes every report where the layout says', async () => {
    const outcome = await writeReports(journals, runDir, drillDirs, undefined, { env: {} });
    expect(outcome.errors).toEqual([]);
    const expected = [
      ...drillDirs.map((dir) => join(runDir, dir, 'report.html')),
      join(runDir, 'index.html'),
      join(runDir, 'junit.xml'),
      join(runDir, 'summary.md'),
      join(runDir, 'summary.json'),
    ];
    expect(outcome.files.sort()).toEqual(expected.sort());
    for (const file of expected) expect(existsSync(file), file).toBe(true);
    const index = await readFile(join(runDir, 'index.html'), 'utf8');
    for (const dir of drillDirs) expect(index).toContain(`href="${dir}/report.html"`);
    const summary = JSON.parse(await readFile(join(runDir, 'summary.json'), 'utf8')) as { drills: Array<{ status: string; journal: string }> };
    expect(summary.drills.map((drill) => [drill.status, drill.journal])).toEqual([
      ['passed', 'passed/journal.json'],
      ['failed', 'breached/journal.json'],
      ['error', 'error/journal.json'],
    ]);
  });

  it('runs only the reporters asked for', async () => {
    const outcome = await writeReports(journals, runDir, drillDirs, ['junit'], { env: {} });
    expect(outcome).toEqual({ files: [join(runDir, 'junit.xml')], errors: [] });
  });

  it('appends the Markdown summary to GITHUB_STEP_SUMMARY', async () => {
    const stepSummary = join(runDir, 'step-summary.md');
    await writeFile(stepSummary, 'earlier step\n');
    await writeReports(journals, runDir, drillDirs, ['markdown'], { env: { GITHUB_STEP_SUMMARY: stepSummary } });
    const text = await readFile(stepSummary, 'utf8');
    expect(text.startsWith('earlier step\n## firedrill: 3 drills')).toBe(true);
    expect(text).toContain('| fixture-dump-too-old | pg-dump | **FAIL** |');
  });

  it('keeps going when a reporter throws, and says which one', async () => {
    const broken: Reporter = {
      async drill(journal) {
        if (journal.status === 'failed') throw new Error('cannot draw this one');
        return [];
      },
      run() {
        throw new Error('synchronous boom');
      },
    };
    const outcome = await writeReports(journals, runDir, drillDirs, undefined, { registry: { broken, ...reporters }, env: {} });
    expect(outcome.errors).toEqual([
      { reporter: 'broken', message: `drill ${journals[1]!.drillId}: cannot draw this one` },
      { reporter: 'broken', message: 'synchronous boom' },
    ]);
    expect(existsSync(join(runDir, 'junit.xml'))).toBe(true);
    expect(existsSync(join(runDir, 'breached', 'report.html'))).toBe(true);
    expect(outcome.files).toHaveLength(7);
  });

  it('records an unknown reporter name instead of failing the run', async () => {
    const outcome = await writeReports(journals, runDir, drillDirs, ['html', 'junit'], { registry: { junit: reporters.junit }, env: {} });
    expect(outcome.errors).toEqual([{ reporter: 'html', message: 'unknown reporter "html". Known: junit' }]);
    expect(outcome.files).toEqual([join(runDir, 'junit.xml')]);
  });

  it('refuses journals without a directory each', async () => {
    await expect(writeReports(journals, runDir, ['only-one'])).rejects.toThrow(/3 journals but 1 drill directories/);
  });
});

describe('readJournals', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'firedrill-journals-'));
    for (const name of ['breached', 'passed']) {
      await mkdir(join(dir, 'run-1', name), { recursive: true });
      await writeFile(join(dir, 'run-1', name, 'journal.json'), JSON.stringify(load(name)));
    }
    await mkdir(join(dir, 'node_modules', 'x'), { recursive: true });
    await writeFile(join(dir, 'node_modules', 'x', 'journal.json'), '{}');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds every journal under a directory, in path order', async () => {
    const found = await readJournals(dir);
    expect(found.map(({ journal, dir: drillDir }) => [journal.status, drillDir])).toEqual([
      ['failed', join(dir, 'run-1', 'breached')],
      ['passed', join(dir, 'run-1', 'passed')],
    ]);
  });

  it('takes a single journal file', async () => {
    const file = join(dir, 'run-1', 'passed', 'journal.json');
    const [found] = await readJournals(file);
    expect(found!.dir).toBe(join(dir, 'run-1', 'passed'));
    expect(found!.journal.drillId).toBe('fixture-bad-delete-pitr--pg-basebackup-wal');
  });

  it('says what to pass when there is nothing to read', async () => {
    await expect(readJournals(join(dir, 'missing'))).rejects.toMatchObject({ message: expect.stringMatching(/^no journal at .*missing: ENOENT/), hint: 'pass a journal.json or a run directory (reports/<run>)' });
    await mkdir(join(dir, 'empty'));
    await expect(readJournals(join(dir, 'empty'))).rejects.toThrow(/no journal.json under/);
    await writeFile(join(dir, 'empty', 'journal.json'), '{"formatVersion": 9}');
    await expect(readJournals(join(dir, 'empty'))).rejects.toThrow(/formatVersion 9, expected 1/);
  });
});
