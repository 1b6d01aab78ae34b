import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { cli, leftovers, objective, privateTmp, removeDir } from '../support/drills.js';
import { TEST_IMAGE } from '../support/provider-matrix.js';

/**
 * A drill whose checks tell where the source's rows came from: the shop's `created_at` is the
 * moment of its load, so "every customer is older than this run" holds only for rows loaded by
 * an earlier run, copied from the cache.
 */
function scenario(options: { engine: 'postgres' | 'mariadb'; strategy: string; olderThan: Date; target?: string; seed?: number }): string {
  const instant = options.olderThan.toISOString();
  // PostgreSQL stores the load's moment in the server's time zone; firedrill's MariaDB sessions are in UTC.
  const olderThan =
    options.engine === 'postgres'
      ? `created_at < ('${instant}'::timestamptz AT TIME ZONE current_setting('TimeZone'))`
      : `created_at < '${instant.replace('T', ' ').replace('Z', '')}'`;
  return `name: cached-${options.engine}
target:
  engine: ${options.engine}
  dataset: { builtin: shop, scale: 0.3, cache: true }${options.target ? `\n  ${options.target}` : ''}
workload: { writers: 2, rate: 100, warmup: 1s, resume: 0s${options.seed ? `, seed: ${options.seed}` : ''} }
strategy: ${options.strategy}
fault: { kind: bad-delete, table: orders, at: 3s, detectAfter: 1s }
objectives:
  checks:
    - { name: every seeded order, sql: "SELECT count(*) FROM orders WHERE order_id <= 3000", expect: 3000 }
    - { name: customers loaded before this run, sql: "SELECT count(*) FROM customers WHERE ${olderThan}", expect: 300 }
`;
}

async function setup() {
  const tmp = await privateTmp();
  const work = await mkdtemp(join(tmpdir(), 'firedrill-cache-'));
  onTestFinished(() => removeDir(work));
  return { tmp, work, cache: join(work, 'cache'), out: join(work, 'reports') };
}

/** Runs the scenario through the built CLI with its own cache, and returns the drill's journal. */
async function run(where: Awaited<ReturnType<typeof setup>>, text: string): Promise<{ code: number; journal: Journal; stderr: string }> {
  const file = join(where.work, `drill-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  const result = await cli(['run', file, '--out', where.out, '--json'], { tmp: where.tmp, env: { FIREDRILL_CACHE_DIR: where.cache } });
  const parsed = JSON.parse(result.stdout) as { drills: Array<{ dir: string }> };
  const journal = JSON.parse(await readFile(join(parsed.drills[0]!.dir, 'journal.json'), 'utf8')) as Journal;
  return { code: result.code ?? -1, journal, stderr: result.stderr };
}

const seeded = async (cache: string) => (await readdir(join(cache, 'seeded')).catch(() => [])).filter((name) => !name.includes('.partial-'));

describe('the seeded-data cache (dataset.cache, built CLI, real servers)', () => {
  it('PostgreSQL: seeds once and keeps a copy; a drill of another strategy starts from it; another seed is another copy; cleanup --cache drops them', async () => {
    const where = await setup();
    const first = await run(where, scenario({ engine: 'postgres', strategy: 'pg-dump', olderThan: new Date() }));
    expect(first.code, first.stderr).toBe(1);
    // Loaded in this run: its rows are not older than it, and the check says so.
    expect(objective(first.journal, 'check: customers loaded before this run')).toMatchObject({ passed: false, measured: '0' });
    expect(first.journal.seedCache).toMatchObject({ outcome: 'kept' });
    expect(await seeded(where.cache)).toHaveLength(1);

    const reused = await run(where, scenario({ engine: 'postgres', strategy: 'pg-basebackup-wal', olderThan: new Date() }));
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.journal.seedCache).toEqual({ outcome: 'reused', key: first.journal.seedCache!.key });
    expect(objective(reused.journal, 'check: customers loaded before this run').passed).toBe(true);
    expect(reused.journal.damage).toMatchObject({ undone: true });

    // Another workload seed makes other rows: not the same copy.
    const other = await run(where, scenario({ engine: 'postgres', strategy: 'pg-dump', olderThan: new Date(), seed: 7 }));
    expect(other.journal.seedCache).toMatchObject({ outcome: 'kept' });
    expect(other.journal.seedCache!.key).not.toBe(first.journal.seedCache!.key);
    expect(await seeded(where.cache)).toHaveLength(2);

    const listed = await cli(['cleanup', '--cache', '--dry-run'], { tmp: where.tmp, env: { FIREDRILL_CACHE_DIR: where.cache } });
    expect(listed.stdout.match(/^would remove {2}seeded data: /gm)).toHaveLength(2);
    const dropped = await cli(['cleanup', '--cache'], { tmp: where.tmp, env: { FIREDRILL_CACHE_DIR: where.cache } });
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toMatch(/^removed {2}cluster template: /m);
    expect(await readdir(where.cache)).toEqual([]);
    expect(await leftovers(where.tmp)).toEqual({ entries: [], processes: [] });
  });

  it('MariaDB: a copy kept by a drill without binlogs serves one with them', async () => {
    const where = await setup();
    const first = await run(where, scenario({ engine: 'mariadb', strategy: 'mysqldump', olderThan: new Date() }));
    expect(first.journal.seedCache).toMatchObject({ outcome: 'kept' });
    const reused = await run(where, scenario({ engine: 'mariadb', strategy: 'mysqldump-binlog', olderThan: new Date() }));
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.journal.seedCache).toEqual({ outcome: 'reused', key: first.journal.seedCache!.key });
    expect(objective(reused.journal, 'check: customers loaded before this run').passed).toBe(true);
    expect(await leftovers(where.tmp)).toEqual({ entries: [], processes: [] });
  });

  it('in containers: the copy is a tar of the container\'s data directory, per image', async () => {
    const where = await setup();
    const target = `provider: docker\n  image: ${TEST_IMAGE}`;
    const first = await run(where, scenario({ engine: 'postgres', strategy: 'pg-dump', olderThan: new Date(), target }));
    expect(first.journal.provider).toBe('docker');
    expect(first.journal.seedCache).toMatchObject({ outcome: 'kept' });
    expect(await seeded(where.cache)).toEqual([expect.stringMatching(/^docker-[0-9a-f]{32}\.tar$/)]);
    const reused = await run(where, scenario({ engine: 'postgres', strategy: 'pg-dump', olderThan: new Date(), target }));
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.journal.seedCache).toMatchObject({ outcome: 'reused' });
    expect(objective(reused.journal, 'check: customers loaded before this run').passed).toBe(true);
  });
});
