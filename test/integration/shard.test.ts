import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { RunRecord } from '../../src/runner/run.js';
import { cli, leftovers, privateTmp, removeDir } from '../support/drills.js';

/** The smallest drill the CLI tests run, named, with its strategy line and objectives. */
const drill = (name: string, strategy: string, objectives: string) => `name: ${name}
target:
  engine: postgres
  dataset: { builtin: shop, scale: 0.1 }
workload: { writers: 2, rate: 100, warmup: 1s, resume: 0s }
${strategy}
fault: { kind: truncate, table: order_items, at: 2s, detectAfter: 1s }
objectives:
  ${objectives}
`;

/** Four scenarios, five drills: c compares two strategies, b breaches its RTO. */
const SCENARIOS = {
  'a.yaml': drill('shard-a', 'strategy: pg-basebackup', 'rto: 2m'),
  'b.yaml': drill('shard-b', 'strategy: pg-basebackup', 'rto: { service: 1ms }'),
  'c.yaml': drill('shard-c', 'strategies: [pg-dump, pg-basebackup]', 'rto: 2m'),
  'd.yaml': drill('shard-d', 'strategy: pg-dump', 'rto: 2m'),
};

interface RunJson {
  exitCode: number;
  shard?: { index: number; total: number };
  runDir?: string;
  drills: Array<{ dir: string; status: string }>;
  planned?: Array<{ drillId: string }>;
}

/** The drill id and status of each <testsuite> of a JUnit file, and its totals. */
function junitSuites(xml: string): { suites: Array<[string, string]>; failures: number; tests: number } {
  const suites = xml
    .split('<testsuite ')
    .slice(1)
    .map((suite): [string, string] => [/name="firedrill\.drill" value="([^"]+)"/.exec(suite)![1]!, /name="firedrill\.status" value="([^"]+)"/.exec(suite)![1]!]);
  const totals = /<testsuites [^>]*tests="(\d+)" failures="(\d+)"/.exec(xml)!;
  return { suites, tests: Number(totals[1]), failures: Number(totals[2]) };
}

describe('sharded runs and their merged report (built CLI, real PostgreSQL)', () => {
  it('runs every drill of the plan in exactly one of three shards, and merges their reports into one with each drill once', async () => {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-shards-'));
    onTestFinished(() => removeDir(work));
    const drills = join(work, 'drills');
    await mkdir(drills);
    for (const [file, text] of Object.entries(SCENARIOS)) await writeFile(join(drills, file), text);

    // The whole plan, cheaply: what a single run would run.
    const dry = await cli(['run', drills, '--dry-run', '--json'], { tmp });
    expect(dry.code).toBe(0);
    const plan = (JSON.parse(dry.stdout) as RunJson).planned!.map((planned) => planned.drillId);
    expect(plan).toEqual(['shard-a--pg-basebackup', 'shard-b--pg-basebackup', 'shard-c--pg-dump', 'shard-c--pg-basebackup', 'shard-d--pg-dump']);

    // One reports folder per shard, as three CI jobs would each have.
    const shards: RunJson[] = [];
    for (const index of [1, 2, 3]) {
      const result = await cli(['run', drills, '--shard', `${index}/3`, '--out', join(work, `shard-${index}`), '--json'], { tmp });
      const parsed = JSON.parse(result.stdout) as RunJson;
      expect(result.code).toBe(parsed.exitCode);
      expect(parsed.shard).toEqual({ index, total: 3 });
      const record = JSON.parse(await readFile(join(parsed.runDir!, 'run.json'), 'utf8')) as RunRecord;
      expect(record).toMatchObject({ shard: { index, total: 3 }, plan, drills: parsed.drills.map((ran) => basename(ran.dir)) });
      shards.push(parsed);
    }
    const ran = shards.map((shard) => shard.drills.map((one) => basename(one.dir)));
    // The comparison's two drills ran together, on one machine; no drill twice, none left out.
    expect(ran).toEqual([['shard-a--pg-basebackup', 'shard-d--pg-dump'], ['shard-b--pg-basebackup'], ['shard-c--pg-dump', 'shard-c--pg-basebackup']]);
    expect(ran.flat().sort()).toEqual([...plan].sort());
    const verdicts = Object.fromEntries(shards.flatMap((shard) => shard.drills.map((one): [string, string] => [basename(one.dir), one.status])));
    expect(verdicts['shard-b--pg-basebackup']).toBe('failed');
    expect(shards.map((shard) => shard.exitCode)).toEqual([0, 1, 0]);

    // The three folders, as the merge job downloads them: one report, written into the folder that holds them.
    const merged = await cli(['report', ...[1, 2, 3].map((index) => join(work, `shard-${index}`)), '--json'], { tmp });
    expect(merged.code).toBe(0);
    const report = JSON.parse(merged.stdout) as { files: string[]; runs: Array<{ shard: { index: number } }>; missing: unknown[] };
    expect(report.runs.map((run) => run.shard.index)).toEqual([1, 2, 3]);
    expect(report.missing).toEqual([]);
    expect(report.files).toEqual(expect.arrayContaining(['index.html', 'junit.xml', 'summary.json', 'compare.json'].map((file) => join(work, file))));

    const index = await readFile(join(work, 'index.html'), 'utf8');
    const links = [...index.matchAll(/href="([^"]+\/report\.html)"/g)].map((match) => match[1]!);
    expect(links.map((link) => basename(dirname(link))).sort()).toEqual([...plan].sort());
    for (const link of links) expect(existsSync(join(work, decodeURIComponent(link))), link).toBe(true);

    const junit = junitSuites(await readFile(join(work, 'junit.xml'), 'utf8'));
    expect(Object.fromEntries(junit.suites)).toEqual(verdicts);
    expect(junit.suites).toHaveLength(plan.length);
    // The totals are the shards' totals added up, not more.
    const shardJunits = await Promise.all(shards.map(async (shard) => junitSuites(await readFile(join(shard.runDir!, 'junit.xml'), 'utf8'))));
    expect([junit.tests, junit.failures]).toEqual([shardJunits.reduce((sum, one) => sum + one.tests, 0), shardJunits.reduce((sum, one) => sum + one.failures, 0)]);

    const summary = JSON.parse(await readFile(join(work, 'summary.json'), 'utf8')) as { drills: Array<{ drillId: string; status: string; journal: string }> };
    expect(Object.fromEntries(summary.drills.map((one) => [one.drillId, one.status]))).toEqual(verdicts);
    const comparisons = (JSON.parse(await readFile(join(work, 'compare.json'), 'utf8')) as { comparisons: Array<{ scenario: string; strategies: Array<{ label: string; drills: Array<{ report: string }> }> }> }).comparisons;
    expect(comparisons.map((comparison) => [comparison.scenario, comparison.strategies.map((entry) => entry.label)])).toEqual([['shard-c', ['pg-dump', 'pg-basebackup']]]);
    for (const entry of comparisons[0]!.strategies) expect(existsSync(join(work, decodeURIComponent(entry.drills[0]!.report)))).toBe(true);

    // A shard downloaded twice is refused, not counted twice.
    await cp(join(work, 'shard-1'), join(work, 'again', 'shard-1'), { recursive: true });
    const twice = await cli(['report', join(work, 'shard-1'), join(work, 'shard-2'), join(work, 'shard-3'), join(work, 'again'), '--out', join(work, 'twice')], { tmp });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('firedrill: drill shard-a--pg-basebackup is there twice: in ');
    expect(existsSync(join(work, 'twice'))).toBe(false);
    // A shard left out is named, with its drills, and fails the merge.
    const partial = await cli(['report', join(work, 'shard-1'), join(work, 'shard-2'), '--out', join(work, 'partial')], { tmp });
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('2 drill(s) the runs planned have no journal among the paths given; the reports above are without them:\n  shard-c--pg-dump: its shard is not among the paths given (3/3)\n  shard-c--pg-basebackup: its shard is not among the paths given (3/3)\n');
    expect(await readdir(join(work, 'partial'))).toContain('index.html');
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('refuses a shard that does not exist before loading anything, runs an empty one as nothing, and dry-runs one shard', async () => {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-shards-'));
    onTestFinished(() => removeDir(work));
    for (const [file, text] of Object.entries(SCENARIOS)) await writeFile(join(work, file), text);
    const out = join(work, 'reports');
    for (const [shard, message] of [
      ['0/3', 'shards of 3 are numbered 1 to 3: give --shard 1/3 on the first machine, …, --shard 3/3 on the last'],
      ['4/3', 'shards of 3 are numbered 1 to 3'],
      ['a/b', 'write it as i/n: which shard this machine runs, of how many, e.g. --shard 2/3'],
    ] as const) {
      const refused = await cli(['run', work, '--shard', shard, '--out', out], { tmp });
      expect(refused.code, shard).toBe(2);
      expect(refused.stderr).toContain(`error: option '--shard <i/n>' argument '${shard}' is invalid. ${message}`);
    }
    const empty = await cli(['compare', work, '--repeat', '2', '--shard', '5/5', '--out', out], { tmp });
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toBe("shard 5/5 has nothing to run: a scenario's drills all run in one shard, and the plan's 10 drill(s) are of 4 scenario(s), in shards 1 to 4. Nothing was provisioned.\n");
    const dry = await cli(['run', work, '--shard', '3/3', '--dry-run', '--out', out], { tmp });
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe("shard 3/3: 2 of the plan's 5 drills\n");
    expect([...dry.stdout.matchAll(/^(\S+) \((\S+)\) — /gm)].map((match) => `${match[1]} ${match[2]}`)).toEqual(['shard-c pg-dump', 'shard-c pg-basebackup']);
    expect(existsSync(out)).toBe(false);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });
});
