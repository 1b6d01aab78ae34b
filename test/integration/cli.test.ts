import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { cli, leftovers, privateTmp, removeDir } from '../support/drills.js';
import { onTestFinished } from 'vitest';

const scenario = (objectives: string, options: { at?: string; engine?: string; strategy?: string; checks?: string } = {}) => `name: cli-drill
target:
  engine: ${options.engine ?? 'postgres'}
  dataset: { builtin: shop, scale: 0.1 }
workload: { writers: 2, rate: 100, warmup: 1s, resume: 0s }
strategy: ${options.strategy ?? 'pg-basebackup'}
fault: { kind: truncate, table: order_items, at: ${options.at ?? '3s'}, detectAfter: 1s }
objectives:
${objectives}
${options.checks ?? ''}`;

async function setup(text: string) {
  const tmp = await privateTmp();
  const work = await mkdtemp(join(tmpdir(), 'firedrill-cli-'));
  onTestFinished(() => removeDir(work));
  const file = join(work, 'drill.yaml');
  await writeFile(file, text);
  return { tmp, work, file, out: join(work, 'reports') };
}

/** The journal of the one drill a run wrote under `out`. */
async function onlyJournal(out: string): Promise<Journal> {
  const [run] = (await readdir(out)).filter((name) => /^\d{8}-/.test(name));
  const [drill] = await readdir(join(out, run!)).then((names) => names.filter((name) => name.includes('--')));
  return JSON.parse(await readFile(join(out, run!, drill!, 'journal.json'), 'utf8')) as Journal;
}

describe('the firedrill command (built CLI, real PostgreSQL)', () => {
  it('exits 1 when a drill breaches an objective, and leaves nothing behind', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: { service: 1ms }'));
    // A rate no server reaches: the drill runs, and says the load it ran fell short of the one asked for.
    const result = await cli(['run', file, '--out', out, '--json', '--strategy', 'pg-dump', '--set', 'workload.rate=1000000000'], { tmp });
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout) as { formatVersion: number; command: string; exitCode: number; drills: Array<{ status: string; dir: string; objectives: Array<{ name: string; passed: boolean }> }> };
    expect(parsed).toMatchObject({ formatVersion: 1, command: 'run', exitCode: 1 });
    expect(parsed.drills[0]!.status).toBe('failed');
    expect(parsed.drills[0]!.objectives).toContainEqual(expect.objectContaining({ name: 'RTO (service)', passed: false }));
    const journalFile = join(parsed.drills[0]!.dir, 'journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8'));
    expect(journal.status).toBe('failed');
    expect(journal.strategy).toBe('pg-dump');
    expect(journal.workload.shortfall).toMatch(/^the workload wrote \d+\.\d writes\/s in a typical second before the fault \(the median\) of the 1000000000 asked for \(0 %\).*lower workload.rate, or add writers/);
    expect(journal.workload.achievedRate).toBeGreaterThan(0);
    // A journal renders again on its own, into its drill's folder and nowhere else.
    const index = await stat(join(parsed.drills[0]!.dir, '..', 'index.html'));
    const again = await cli(['report', journalFile], { tmp });
    expect(again).toMatchObject({ code: 0, stdout: `${join(parsed.drills[0]!.dir, 'report.html')}\n` });
    expect((await stat(join(parsed.drills[0]!.dir, '..', 'index.html'))).mtimeMs).toBe(index.mtimeMs);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    // A run that ended cleanly keeps no record of itself.
    expect(await readdir(join(`${tmp}.state`, 'runs'))).toEqual([]);
  });

  it('a fault that runs for seconds pauses the writers: the load is measured before it, and the report says why the chart has a gap', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m'));
    // The statement locks the table the writers insert into, for three seconds, then commits its damage.
    const fault = `{ kind: sql, table: order_items, at: 2s, detectAfter: 1s, statements: ["LOCK TABLE orders IN EXCLUSIVE MODE", "SELECT pg_sleep(3)", "DELETE FROM order_items WHERE quantity > 1"] }`;
    const result = await cli(['run', file, '--out', out, '--set', 'workload.rate=60', '--set', `fault=${fault}`], { tmp });
    expect(result.stderr).toMatch(/cli-drill +pg-basebackup +PASS /);
    const journal = await onlyJournal(out);
    // Before the fault the writers ran at the rate asked for: no shortfall, though the fault stalled them.
    expect(journal.workload.shortfall).toBeUndefined();
    expect(journal.workload.achievedRate).toBeGreaterThan(54);
    const { duringFault } = journal.workload;
    expect(duringFault!.durationMs).toBeGreaterThanOrEqual(3000);
    expect(duringFault!.rate).toBeLessThan(journal.workload.achievedRate! / 2);
    expect(await readFile(join(out, journal.runId, journal.drillId, 'report.html'), 'utf8')).toMatch(
      /Writes held back: while the fault ran \(3\.\d\d s, up to its commit\) the workload reached [\d.]+ writes\/s, against [\d.]+ writes\/s before it: the drill holds writes back until the fault&#39;s transaction commits/,
    );
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('exits 0 when every objective is met, even with a PGPASSWORD and a PGHOST of someone else\'s in the environment', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m\n  damageUndone: true'));
    // --set changes the scenario as run; --verbose the drill log's level, whose path is printed.
    const result = await cli(['run', file, '--out', out, '--set', 'workload.rate=60', '--set', 'workload.resume=1s', '--set', 'fault={ kind: truncate, table: order_items, at: 2s, detectAfter: 1s }', '--verbose', '--reporter', 'html,junit'], {
      tmp,
      env: { PGPASSWORD: 'not-the-throwaway-one', PGHOST: '192.0.2.1', PGUSER: 'someone' },
    });
    expect(result.stderr).toMatch(/cli-drill +pg-basebackup +PASS /);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/journal: .*journal\.json/);
    const journal = await onlyJournal(out);
    expect(journal.scenario.spec).toMatchObject({ workload: { rate: 60 }, fault: { at: 2000 } });
    // After the verdict the workload wrote to the restored database, as an application would:
    // the series holds those writes too, the ledger only the drill's.
    const resumed = journal.workload.resumed!;
    expect(resumed.acked).toBeGreaterThan(20);
    expect(resumed.failed + resumed.indeterminate).toBe(0);
    const at = (name: string) => journal.events.find((event) => event.name === name)!.atMs;
    expect(at('writes-resumed')).toBeGreaterThan(at('verified'));
    expect(journal.workload.series.reduce((sum, point) => sum + point.acked, 0)).toBe(journal.workload.acked + resumed.acked);
    expect(journal.workload.series.filter((point) => point.t * 1000 > journal.workload.endMs! - journal.workload.startMs! + 1000 && point.t * 1000 < resumed.startMs - journal.workload.startMs! - 1000).every((point) => point.acked === 0)).toBe(true);
    // A rate this machine reaches is not flagged.
    expect(journal.workload.shortfall).toBeUndefined();
    expect(journal.workload.achievedRate).toBeGreaterThan(54);
    // A TRUNCATE is over at once: no rate of its own.
    expect(journal.workload.duringFault).toBeUndefined();
    // --reporter: the HTML and JUnit reports only, no Markdown or JSON summary.
    const runDir = join(out, journal.runId);
    expect((await readdir(runDir)).filter((name) => !name.includes('--')).sort()).toEqual(['index.html', 'junit.xml', 'run.json']);
    expect(await readdir(join(runDir, journal.drillId))).toContain('report.html');
    const log = /log: +(\S+firedrill\.log) \(debug;/.exec(result.stderr)![1]!;
    expect((await readFile(log, 'utf8')).split('\n').some((line) => line.includes('"level":20'))).toBe(true);
    // A dry run provisions nothing, and shows the restore path this passing drill took.
    const runs = await readdir(out);
    const dry = await cli(['run', file, '--out', out, '--dry-run'], { tmp });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: nothing is provisioned\n\ncli-drill \(pg-basebackup\) — \S+drill\.yaml\n {2}provision {2}PostgreSQL on the local provider/);
    expect(dry.stdout).toMatch(/\n {2}fault {6}truncate on order_items at \+3\.00 s, detected 1\.00 s later\n/);
    expect(dry.stdout).toContain(`its restore path, as the last passing drill ran it (${journal.startedAt}, `);
    expect(dry.stdout).toMatch(/\n {4}\[fetch\] sha256sum \S+base\.tar\.gz: compared with the checksum recorded at backup time/);
    expect(dry.stdout).toMatch(/\n {4}\[verify-backup\] .*\/pg_verifybackup /);
    expect(await readdir(out)).toEqual(runs);
    // The runbook of that passing drill as a versioned Markdown file, with parameters for this run's paths.
    const book = join(dirname(file), 'runbook.md');
    const first = await cli(['runbook', file, '--out', out, '--output', book, '--json'], { tmp });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ command: 'runbook', version: 1, changed: true, lastPassingDrill: journal.finishedAt });
    const text = await readFile(book, 'utf8');
    expect(text).toMatch(/^---\nscenario: cli-drill\n/);
    expect(text).toContain(`last-passing-drill: ${journal.finishedAt}`);
    expect(text).toContain('${RESTORE_DIR}/data');
    for (const instance of journal.instances!) expect(text.slice(text.indexOf('## Procedure'))).not.toContain(instance.location);
    // Written again from the same drill: the same version. --param puts an incident's value in.
    const again = await cli(['runbook', file, '--out', out, '--output', book, '--param', 'RESTORE_DIR=/srv/pg/restore'], { tmp });
    expect(again.stdout).toContain('version 1 (procedure unchanged)');
    expect(await readFile(book, 'utf8')).toContain('/srv/pg/restore/data');
    const typo = await cli(['runbook', file, '--out', out, '--output', book, '--param', 'NOPE=1'], { tmp });
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringContaining('"NOPE" is not a parameter of this runbook')]);
    const never = await cli(['runbook', file, '--out', join(dirname(file), 'no-reports')], { tmp });
    expect([never.code, never.stderr]).toEqual([2, expect.stringMatching(/no passing drill of "cli-drill" in .*no-reports.*\n.*firedrill run /s)]);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
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

  it('exits 2, not 1, on a check whose SQL cannot run: found on the seeded source, before any load, with what to fix', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m', { checks: '  checks:\n    - { name: invoices, sql: "SELECT count(*) FROM invoices", expect: 1 }\n' }));
    const started = performance.now();
    const result = await cli(['run', file, '--out', out], { tmp });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('seed: check "invoices" cannot run: relation "invoices" does not exist');
    expect(result.stderr).toContain('hint: fix its SQL in the scenario');
    expect(result.stderr).not.toContain('warmup');
    expect(performance.now() - started).toBeLessThan(20_000);
    expect((await onlyJournal(out)).status).toBe('error');
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('Ctrl-C in the middle of a drill exits 130 and leaves no process and no temp dir', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m', { at: '20s' }));
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
    expect(result.stderr).toMatch(/✓ teardown/);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('Ctrl-C after the restore, during service or verification, is an interruption: never a PASS in the journal or the history', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m'));
    let sent = false;
    const result = await cli(['run', file, '--out', out], {
      tmp,
      onStderr: (text, child) => {
        if (!sent && text.includes('✓ replay')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(result.stderr).not.toMatch(/cli-drill +pg-basebackup +PASS/);
    expect((await onlyJournal(out)).status).toBe('interrupted');
    // An interrupted drill is no point of a trend.
    await expect(readFile(join(out, 'history.jsonl'), 'utf8')).rejects.toThrow();
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('after kill -9 of firedrill mid-drill, doctor lists what it left and cleanup removes all of it', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m', { at: '30s' }));
    let killed = false;
    await cli(['run', file, '--out', out], {
      tmp,
      onStderr: (text, child) => {
        if (!killed && text.includes('✓ warmup')) {
          killed = true;
          child.kill('SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    // The servers it started are still running, and its temp dir is still there.
    const left = await leftovers(tmp);
    expect(left.processes.length).toBeGreaterThan(0);
    expect(left.entries.length).toBeGreaterThan(0);
    const doctor = await cli(['doctor'], { tmp });
    expect(doctor.stdout).toContain('leftovers of runs whose firedrill process is gone');
    expect(doctor.stdout).toMatch(/process: postgres pid \d+ port \d+/);
    expect(doctor.stdout).toContain(`directory: ${tmp}/firedrill-`);
    // What the drill got to before it died is in its journal.
    const partial = await onlyJournal(out);
    expect(partial.status).toBe('interrupted');
    expect(partial.errors[0]!.message).toMatch(/^firedrill stopped (during|after) (seed|warmup|backup|steady), before the drill finished$/);

    const cleanup = await cli(['cleanup'], { tmp });
    expect(cleanup.code).toBe(0);
    expect(cleanup.stdout).toMatch(/removed .* process: postgres pid/);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    expect((await cli(['doctor'], { tmp })).stdout).not.toContain('leftovers');
    expect((await onlyJournal(out)).errors.map((error) => error.phase)).toContain('cleanup');
    expect((await cli(['cleanup'], { tmp })).stdout).toContain('nothing to clean up');
  });

  it('run --keep exits by itself, says how to reach and remove what it kept, and cleanup removes it once firedrill is gone', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m'));
    const result = await cli(['run', file, '--out', out, '--keep'], { tmp });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('kept (--keep); firedrill has exited, these are still there:');
    expect(result.stderr).toMatch(/connect: postgresql:\/\/postgres@127\.0\.0\.1:\d+\/firedrill/);
    expect(result.stderr).toMatch(/kill -INT -- -\d+/);
    const journal = await onlyJournal(out);
    // Only what is alive: the source and the restored server, their directories, the storage.
    expect(journal.kept!.filter((resource) => resource.kind === 'process')).toHaveLength(2);
    expect((await leftovers(tmp)).processes.length).toBeGreaterThan(0);
    const cleanup = await cli(['cleanup'], { tmp });
    expect(cleanup.code).toBe(0);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('--grep picks scenarios by name or file, --set, --sizes, --strategy and the flags of verify are checked like the file, each problem naming its flag, and --help shows examples and exit codes', async () => {
    const tmp = await privateTmp();
    const picked = await cli(['validate', 'scenarios', '--grep', 'S3'], { tmp });
    expect(picked.code).toBe(0);
    expect(picked.stdout.trim().split('\n').map((line) => line.split(/\s+/)[1])).toEqual(['scenarios/mariadb-s3-encrypted.yaml', 'scenarios/pg-region-loss-s3-offsite.yaml', 'scenarios/pg-wal-archive-s3.yaml']);
    const typo = await cli(['run', 'scenarios/demo.yaml', '--reporter', 'html,jnuit'], { tmp });
    expect(typo).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown reporter "jnuit"; known: html, junit, markdown, json, compare') });
    const none = await cli(['run', 'scenarios', '--grep', 'no-such-drill'], { tmp });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^no scenario matches --grep no-such-drill in scenarios \(there are: demo-bad-delete-pitr, /);
    const badValue = await cli(['run', 'scenarios/demo.yaml', '--set', 'workload.rate=fast'], { tmp });
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('scenarios/demo.yaml:15:9: workload.rate: "fast": expected a number of writes per second, or "max" for as fast as possible (from --set workload.rate=fast)');
    expect(badValue.stderr).toContain('nothing was run');
    const oneSize = await cli(['run', 'scenarios/demo.yaml', '--sizes', '512MB'], { tmp });
    expect(oneSize).toMatchObject({ code: 2, stderr: expect.stringContaining('scenarios/demo.yaml: sweep.size: a sweep needs 2 sizes or more: a line is fitted through them (from --sizes 512MB)') });
    const badFlag = await cli(['verify', 'app.dump', '--target-time', 'yesterday'], { tmp });
    expect(badFlag).toMatchObject({ code: 2, stderr: expect.stringContaining('command line: target.time: a time with its zone, e.g. 2026-01-10T02:00:00Z (from --target-time yesterday)') });
    const badPath = await cli(['run', 'scenarios/demo.yaml', '--set', 'workload'], { tmp });
    expect(badPath).toMatchObject({ code: 2, stderr: expect.stringContaining('--set workload: write it as path=value') });
    const wrongEngine = await cli(['run', 'scenarios/mariadb-s3-encrypted.yaml', '--strategy', 'pg-dump'], { tmp });
    expect(wrongEngine.code).toBe(2);
    expect(wrongEngine.stderr).toContain('--strategy: strategy "pg-dump" does not work with mariadb');
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    const help = await cli(['--help'], { tmp });
    expect(help.stdout).toContain('firedrill run scenarios/ --grep pitr');
    expect(help.stdout).toMatch(/Exit codes:\n {2}0 {2}every drill passed[^\n]*\n {2}1 {2}a drill ran to the end and breached[^\n]*\n {2}2 {2}could not run[^\n]*\n {2}130 {2}interrupted/);
  });

  it('from a checkout that was never built, says what to run instead of a stack trace', async () => {
    const work = await mkdtemp(join(tmpdir(), 'firedrill-unbuilt-'));
    onTestFinished(() => removeDir(work));
    await mkdir(join(work, 'bin'));
    await copyFile('bin/firedrill.js', join(work, 'bin', 'firedrill.js'));
    await writeFile(join(work, 'package.json'), '{ "type": "module" }');
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [join(work, 'bin', 'firedrill.js'), 'list'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(result).toEqual({ code: 2, stderr: `firedrill is not built yet: run \`npm run build\` in ${work}/ (npm run demo builds it too)\n` });
  });

  it('init writes a commented scenario that validates and runs, for each engine, and never over a file', async () => {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-init-'));
    onTestFinished(() => removeDir(work));
    const file = join(work, 'nightly.yaml');
    const made = await cli(['init', file], { tmp });
    expect(made).toMatchObject({ code: 0, stdout: `wrote ${file}\nnext: firedrill validate ${file}\n      firedrill run ${file}\n` });
    const text = await readFile(file, 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=\S+schema\/scenario\.schema\.json\n/);
    expect(text).toMatch(/\n {2}writers: 4 +# connections writing rows the drill keeps a ledger of\n/);
    expect(text).toContain('strategy: pg-basebackup-wal');
    const again = await cli(['init', file], { tmp });
    expect(again).toMatchObject({ code: 2, stderr: expect.stringContaining('exists; nothing was written') });
    expect(await readFile(file, 'utf8')).toBe(text);
    // Run as written, only smaller and sooner.
    const out = join(work, 'reports');
    const run = await cli(['run', file, '--out', out, '--set', 'target.dataset.scale=0.1', '--set', 'workload.warmup=1s', '--set', 'fault.at=3s', '--set', 'fault.detectAfter=1s'], { tmp });
    expect(run.stderr).toMatch(/nightly +pg-basebackup-wal +PASS /);
    expect(run.code).toBe(0);
    const maria = join(work, 'maria.yaml');
    expect((await cli(['init', maria, '--engine', 'mariadb', '--fault', 'disk-loss'], { tmp })).code).toBe(0);
    expect(await cli(['validate', maria], { tmp })).toMatchObject({ code: 0, stdout: `ok  ${maria}  (mariadb, mysqldump-binlog, disk-loss)\n` });
    const wrong = await cli(['init', join(work, 'x.yaml'), '--engine', 'mariadb', '--strategy', 'pgbackrest'], { tmp });
    expect(wrong).toMatchObject({ code: 2, stderr: expect.stringContaining('strategy "pgbackrest" does not work with mariadb') });
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('--json on validate, list, doctor and report: one document on stdout in the published shape, exit code included', async () => {
    const tmp = await privateTmp();
    const { work, file } = await setup('name: broken\ntarget: { engine: postgres }\nstrategy: pg-dump\nfault: { kind: bad-delete, tabel: orders }\n');
    const validate = await cli(['validate', file, 'scenarios/demo.yaml', '--json'], { tmp });
    expect(validate.code).toBe(2);
    const checked = JSON.parse(validate.stdout);
    expect(checked).toMatchObject({ formatVersion: 1, exitCode: 2, command: 'validate', scenarios: [{ file: 'scenarios/demo.yaml', name: 'demo-bad-delete-pitr', engine: 'postgres', strategies: ['pg-basebackup-wal'], faults: ['bad-delete'] }] });
    expect(checked.problems).toContainEqual(expect.objectContaining({ line: 4, field: 'fault.tabel', message: 'unknown field "tabel" — did you mean "table"?' }));
    const list = JSON.parse((await cli(['list', '--json'], { tmp })).stdout);
    expect(list).toMatchObject({ formatVersion: 1, exitCode: 0, command: 'list', engines: ['postgres', 'mariadb'] });
    expect(list.strategies).toContainEqual({ name: 'pgbackrest', summary: expect.any(String), engines: ['postgres'], pointInTime: true, keeps: 'backups' });
    expect(list.faults).toContainEqual({ kind: 'wal-gap', summary: expect.any(String), role: 'latent' });
    const doctor = await cli(['doctor', '--json'], { tmp });
    expect(doctor.code).toBe(0);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ formatVersion: 1, exitCode: 0, command: 'doctor', usable: expect.arrayContaining(['postgres (local)']), leftovers: [] });
    const report = await cli(['report', join(work, 'missing'), '--json'], { tmp });
    expect(report).toMatchObject({ code: 2, stdout: '' });
    expect(report.stderr).toBe(`firedrill: no journal at ${join(work, 'missing')}: ENOENT: no such file or directory, stat '${join(work, 'missing')}'\n  hint: pass a journal.json or a run directory (reports/<run>)\n`);
  });

  it('validate checks every shipped scenario; list and doctor answer', async () => {
    const tmp = await privateTmp();
    const validate = await cli(['validate', 'scenarios'], { tmp });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('ok  scenarios/demo.yaml');
    const list = await cli(['list'], { tmp });
    expect(list.stdout).toContain('pg-basebackup-wal');
    expect(list.stdout).toContain('bad-delete');
    const doctor = await cli(['doctor'], { tmp });
    expect(doctor.stdout).toMatch(/ok +postgres: pg_basebackup +pg_basebackup \(PostgreSQL\) \d+/);
    expect(doctor.code).toBe(0);
  });
  it('retention plan prints what a policy keeps against keeping everything, writes its page, and says what is missing', async () => {
    const tmp = await privateTmp();
    const page = join(tmp, 'retention.html');
    const plan = await cli(['retention', 'plan', '--keep-daily', '7', '--keep-weekly', '4', '--keep-monthly', '12', '--keep-yearly', '3', '--size', '5GiB', '--html', page], { tmp });
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('a backup every 1 day for 1,095 days (1,096 backups of 5.0 GiB, given):');
    expect(plan.stdout).toMatch(/this policy \(7 daily \+ 4 weekly \+ 12 monthly \+ 3 yearly\) +23 +115\.0 GiB +731 days back/);
    expect(plan.stdout).toMatch(/keep every backup +1,096 +5\.4 TiB +1,095 days back/);
    expect(await readFile(page, 'utf8')).toContain('<h1>7 daily + 4 weekly + 12 monthly + 3 yearly</h1>');
    const noPolicy = await cli(['retention', 'plan', '--size', '5GB'], { tmp });
    expect(noPolicy.code).toBe(2);
    expect(noPolicy.stderr).toContain('give a policy, e.g. --keep-daily 7');
    const badEvery = await cli(['retention', 'plan', '--keep-last', '3', '--size', '5GB', '--every', 'daily'], { tmp });
    expect(badEvery.code).toBe(2);
    expect(badEvery.stderr).toContain("option '--every <interval>' argument 'daily' is invalid. write it like 1d, 6h, 1w or 30m");
  });
});

describe('the firedrill command on MariaDB (built CLI)', () => {
  it('mariabackup restores with a TMPDIR the mysql account cannot write to: every tool gets a temp dir of its own', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m', { engine: 'mariadb', strategy: 'mariabackup' }));
    const result = await cli(['run', file, '--out', out], { tmp, env: { MYSQL_PWD: 'not-the-throwaway-one', MYSQL_HOST: '192.0.2.1' } });
    expect(result.stderr).toMatch(/cli-drill +mariabackup +PASS /);
    expect(result.code).toBe(0);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('Ctrl-C while the server is being initialized waits for the bootstrap to end, then removes everything, and says so truthfully', async () => {
    const { tmp, file, out } = await setup(scenario('  rto: 2m', { engine: 'mariadb', strategy: 'mysqldump' }));
    // A cache of its own: the first instance bootstraps with mariadb-install-db instead of copying a template.
    const cache = join(tmp, '..', `${tmp.split('/').pop()}.cache`);
    onTestFinished(() => removeDir(cache));
    let sent = false;
    const poll = setInterval(async () => {
      const { processes } = await leftovers(tmp);
      if (!sent && processes.some((line) => /mariadbd .*--bootstrap|mariadb-install-db/.test(line))) {
        sent = true;
        clearInterval(poll);
        child?.kill('SIGINT');
      }
    }, 20);
    let child: Parameters<NonNullable<Parameters<typeof cli>[1]['onStderr']>>[1] | undefined;
    const result = await cli(['run', file, '--out', out], { tmp, env: { FIREDRILL_CACHE_DIR: cache }, onStderr: (_text, spawned) => (child = spawned) });
    clearInterval(poll);
    expect(sent).toBe(true);
    expect(result.code).toBe(130);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    expect(result.stderr).toMatch(/✓ teardown/);
  });
});
