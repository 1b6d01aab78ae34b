import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, leftovers, privateTmp, removeDir } from '../support/drills.js';

const scenario = (objectives: string, at = '3s') => `name: cli-drill
target:
  engine: postgres
  dataset: { builtin: shop, scale: 0.1 }
workload: { writers: 2, rate: 100, warmup: 1s }
strategy: pg-basebackup
fault: { kind: truncate, table: order_items, at: ${at}, detectAfter: 1s }
objectives:
${objectives}
`;

describe('the firedrill command (built CLI, real PostgreSQL)', () => {
  const cleanup: string[] = [];
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map(removeDir));
  });

  async function setup(text: string) {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-cli-'));
    cleanup.push(tmp, work);
    const file = join(work, 'drill.yaml');
    await writeFile(file, text);
    return { tmp, work, file, out: join(work, 'reports') };
  }

  it('exits 1 when a drill breaches an objective, and leaves nothing behind', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: { service: 1ms }'));
    const result = await cli(['run', file, '--out', out, '--json'], { tmp });
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { exitCode: number; drills: Array<{ status: string; dir: string; objectives: Array<{ name: string; passed: boolean }> }> };
    expect(parsed.exitCode).toBe(1);
    expect(parsed.drills[0]!.status).toBe('failed');
    expect(parsed.drills[0]!.objectives).toContainEqual(expect.objectContaining({ name: 'RTO (service)', passed: false }));
    const journalFile = join(parsed.drills[0]!.dir, 'journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8'));
    expect(journal.status).toBe('failed');
    // A journal renders again on its own, into its drill's folder and nowhere else.
    const index = await stat(join(parsed.drills[0]!.dir, '..', 'index.html'));
    const again = await cli(['report', journalFile], { tmp });
    expect(again).toMatchObject({ code: 0, stdout: `${join(parsed.drills[0]!.dir, 'report.html')}\n` });
    expect((await stat(join(parsed.drills[0]!.dir, '..', 'index.html'))).mtimeMs).toBe(index.mtimeMs);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('exits 0 when every objective is met', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m\n  damageUndone: true'));
    const result = await cli(['run', file, '--out', out], { tmp });
    expect(result.stderr).toMatch(/cli-drill +pg-basebackup +PASS /);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/journal: .*journal\.json/);
  });

  it('exits 2 on an invalid scenario, names file:line:column, and provisions nothing', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m').replace('strategy: pg-basebackup', 'strategy: pg-basebakup'));
    const result = await cli(['run', file, '--out', out], { tmp });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:6:11: strategy: unknown strategy "pg-basebakup" — did you mean "pg-basebackup"?`);
    expect(result.stderr).toContain('nothing was run');
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    expect(await readdir(join(out, '..'))).not.toContain('reports');
  });

  it('Ctrl-C in the middle of a drill exits 130 and leaves no process and no temp dir', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m', '20s'));
    let sent = false;
    const result = await cli(['run', file, '--out', out], {
      tmp,
      onStderr: (text, child) => {
        // Interrupt once the workload is running against a provisioned, seeded server.
        if (!sent && text.includes('✓ warmup')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('INTERRUPTED');
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('validate checks every shipped scenario; list and doctor answer', async () => {
    const tmp = await privateTmp();
    cleanup.push(tmp);
    const validate = await cli(['validate', 'scenarios'], { tmp });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('ok  scenarios/demo.yaml');
    const list = await cli(['list'], { tmp });
    expect(list.stdout).toContain('pg-basebackup-wal');
    expect(list.stdout).toContain('bad-delete');
    const doctor = await cli(['doctor'], { tmp });
    expect(doctor.stdout).toMatch(/ok +postgres: pg_basebackup +pg_basebackup \(PostgreSQL\) \d+/);
  });
});
