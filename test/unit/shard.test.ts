import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { commonFolder, missingDrills, readJournals, reportedRuns } from '../../src/report/index.js';
import { parseShard, planDrills, RUN_RECORD_FILE, shardDrills, type RunRecord } from '../../src/runner/run.js';
import { parseScenario, type Scenario } from '../../src/scenario/loader.js';

const scenario = (name: string, strategy = 'strategy: pg-dump') => parseScenario(`name: ${name}\ntarget: { engine: postgres }\n${strategy}\nfault: { kind: bad-delete, table: orders }\n`, `${name}.yaml`);

/** Scenarios a, b, c (a comparison of two strategies: 4 drills with --repeat 2), d, e, and another e (drill id e--pg-dump-2). */
async function scenarios(): Promise<Scenario[]> {
  return Promise.all([scenario('a'), scenario('b'), scenario('c', 'strategies: [pg-dump, pg-basebackup]'), scenario('d'), scenario('e'), scenario('e')]);
}

const ids = (plans: ReadonlyArray<{ drillId: string }>) => plans.map((plan) => plan.drillId);

describe('--shard i/n', () => {
  it('reads i/n and refuses anything else with how to write it', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, total: 3 });
    expect(parseShard(' 1/1 ')).toEqual({ index: 1, total: 1 });
    for (const value of ['a/b', '2', '2/3/4', '-1/3', '1.5/3', '']) expect(() => parseShard(value), value).toThrow('write it as i/n: which shard this machine runs, of how many, e.g. --shard 2/3');
    expect(() => parseShard('1/0')).toThrow('n is how many shards the drills are split into, 1 or more');
    for (const value of ['0/3', '4/3']) expect(() => parseShard(value), value).toThrow('shards of 3 are numbered 1 to 3: give --shard 1/3 on the first machine, …, --shard 3/3 on the last');
  });

  it('puts every drill in exactly one shard, with its id in the whole plan, each shard in plan order', async () => {
    const whole = planDrills(await scenarios(), { repeat: 2 });
    for (let total = 1; total <= 8; total++) {
      const shards = Array.from({ length: total }, (_, index) => shardDrills(whole, { index: index + 1, total }));
      const all = shards.flatMap(ids);
      expect(all.sort(), `${total} shards`).toEqual(ids(whole).sort());
      for (const shard of shards) expect(ids(shard)).toEqual(ids(whole).filter((id) => ids(shard).includes(id)));
    }
  });

  it('keeps a scenario\'s drills together and gives each scenario to the shard with the fewest drills so far', async () => {
    const whole = planDrills(await scenarios(), { repeat: 2 });
    const shard = (index: number, total: number) => ids(shardDrills(whole, { index, total }));
    // a → 1, b → 2, c (4 drills) → 3, d → 1 (as 1 and 2 have a drill each), the two e → 2 (1 drill against 2).
    expect([1, 2, 3].map((index) => shard(index, 3))).toEqual([
      ['a--pg-dump', 'd--pg-dump'],
      ['b--pg-dump', 'e--pg-dump', 'e--pg-dump-2'],
      ['c--pg-dump--r1', 'c--pg-basebackup--r1', 'c--pg-dump--r2', 'c--pg-basebackup--r2'],
    ]);
    // The same inputs, loaded again on another machine, split alike.
    expect(shardDrills(planDrills(await scenarios(), { repeat: 2 }), { index: 2, total: 3 }).map((plan) => plan.drillId)).toEqual(shard(2, 3));
    // One scenario per shard while there are shards with nothing; beyond the scenarios, nothing.
    expect([1, 2, 3, 4, 5, 6].map((index) => shard(index, 6).length)).toEqual([1, 1, 4, 1, 2, 0]);
    // planDrills takes the shard too (what --dry-run shows), and it is the same split.
    expect(ids(planDrills(await scenarios(), { repeat: 2, shard: { index: 3, total: 3 } }))).toEqual(shard(3, 3));
  });
});

describe('report of several runs (the shards of one)', () => {
  let dir: string;
  const journal = JSON.parse(readFileSync(new URL('../fixtures/journals/passed.json', import.meta.url), 'utf8')) as Journal;
  const plan = ['x', 'y', 'z', 'w'];

  /** A shard's run folder as `firedrill run --shard` writes it: run.json, and a journal per drill run. */
  async function shardRun(folder: string, runId: string, index: number, drills: string[], ran = drills) {
    const runDir = join(dir, folder, runId);
    await mkdir(runDir, { recursive: true });
    const record: RunRecord = { formatVersion: 1, runId, shard: { index, total: 3 }, plan, drills };
    await writeFile(join(runDir, RUN_RECORD_FILE), JSON.stringify(record));
    for (const drillId of ran) {
      await mkdir(join(runDir, drillId));
      await writeFile(join(runDir, drillId, 'journal.json'), JSON.stringify({ ...journal, runId, drillId }));
    }
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'firedrill-shards-'));
    await shardRun('shard-1', 'run-1', 1, ['x']);
    await shardRun('shard-2', 'run-2', 2, ['y']);
    // Shard 3 stopped after its first drill.
    await shardRun('shard-3', 'run-3', 3, ['z', 'w'], ['z']);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads each journal once, tells the shards apart, and names the drills a run planned and no journal is of', async () => {
    // A journal reached through two of the paths is one drill, not two.
    const found = await readJournals([join(dir, 'shard-1'), join(dir, 'shard-1', 'run-1', 'x', 'journal.json'), join(dir, 'shard-2')]);
    expect(found.map(({ journal }) => journal.drillId)).toEqual(['x', 'y']);
    const runs = await reportedRuns(found);
    expect(runs.map(({ runId, dir: runDir, shard, drills }) => [runId, runDir, shard, drills])).toEqual([
      ['run-1', join(dir, 'shard-1', 'run-1'), { index: 1, total: 3 }, ['x']],
      ['run-2', join(dir, 'shard-2', 'run-2'), { index: 2, total: 3 }, ['y']],
    ]);
    const notGiven = 'its shard is not among the paths given (3/3)';
    expect(missingDrills(found, runs)).toEqual([
      { drillId: 'z', reason: notGiven },
      { drillId: 'w', reason: notGiven },
    ]);
    const all = await readJournals([join(dir, 'shard-1'), join(dir, 'shard-2'), join(dir, 'shard-3')]);
    expect(missingDrills(all, await reportedRuns(all))).toEqual([{ drillId: 'w', reason: 'run run-3 (shard 3/3) stopped before it' }]);
  });

  it('refuses the same drill twice: a shard downloaded twice is not two drills', async () => {
    await shardRun('again', 'run-1', 1, ['x']);
    await expect(readJournals([join(dir, 'shard-1'), join(dir, 'again')])).rejects.toMatchObject({
      message: `drill x is there twice: in ${join(dir, 'shard-1', 'run-1', 'x')} (run run-1) and in ${join(dir, 'again', 'run-1', 'x')} (run run-1)`,
      hint: expect.stringMatching(/^a report lists each drill once: leave one of the two folders out\./),
    });
  });

  it('writes into the folder given, or the deepest one holding every path', async () => {
    expect(await commonFolder([join(dir, 'shard-1')])).toBe(join(dir, 'shard-1'));
    expect(await commonFolder([join(dir, 'shard-1'), join(dir, 'shard-2', 'run-2')])).toBe(dir);
    expect(await commonFolder([join(dir, 'shard-1', 'run-1', 'x', 'journal.json'), join(dir, 'shard-1', 'run-1')])).toBe(join(dir, 'shard-1', 'run-1'));
    await expect(commonFolder([dir, '/'])).rejects.toMatchObject({ hint: 'give the folder to write the report into with --out DIR' });
  });
});
