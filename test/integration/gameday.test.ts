import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { postgres } from '../../src/engines/postgres.js';
import { humanTimeline } from '../../src/gameday/score.js';
import type { Journal } from '../../src/journal/types.js';
import { ARTIFACTS, reportBrowser } from '../support/browser.js';
import { cli, leftovers, objective, privateTmp, removeDir, type CliResult } from '../support/drills.js';

/** A pg_dump drill small enough for a test: a bad DELETE on orders 4 s into the load. */
const SCENARIO = (backups = 1, rpo = '30s') => `name: gameday-orders
target:
  engine: postgres
  dataset: { builtin: shop, scale: 0.1 }
workload: { writers: 2, rate: 50, warmup: 1s, resume: 0s }
strategy: pg-dump
backups: { count: ${backups}, every: 1500ms }
fault: { kind: bad-delete, table: orders, at: 4s, detectAfter: 1s }
objectives:
  rto: 2m
  rpo: ${rpo}
`;

interface Running {
  url: string;
  api<T = GamedayState>(path: string, body?: unknown): Promise<T>;
  /** Resolves when firedrill's stderr has matched. */
  said(pattern: RegExp): Promise<void>;
  exited: Promise<CliResult>;
}

interface GamedayState {
  stage: string;
  nowMs: number;
  fault: { description: string; atMs: number } | null;
  instances: Array<{ name: string; port: number; user: string }>;
  storage: Array<{ backups: Array<{ name: string; key: string; path?: string }> }>;
  scratch: string;
  runbook: { stepCount: number; steps?: Array<{ command: string; phase: string }> } | null;
}

async function setup(text: string) {
  const tmp = await privateTmp();
  const work = await mkdtemp(join(tmpdir(), 'firedrill-gameday-'));
  onTestFinished(() => removeDir(work));
  const file = join(work, 'gameday.yaml');
  await writeFile(file, text);
  return { tmp, file, out: join(work, 'reports') };
}

/** `firedrill gameday` in the background, as a facilitator starts it; the address read from what it prints. */
function startGameday(args: string[], tmp: string): Promise<Running> {
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  let printed = '';
  let resolveUrl: (url: string) => void;
  const urlKnown = new Promise<string>((resolve) => (resolveUrl = resolve));
  let process_: ReturnType<typeof spawn> | undefined;
  const exited = cli(['gameday', ...args], {
    tmp,
    onStderr: (text, child) => {
      process_ = child;
      printed = text;
      const url = /page: {2}(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(text)?.[1];
      if (url) resolveUrl(url);
      for (const waiter of waiters.filter((candidate) => candidate.pattern.test(text))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  });
  // A test that fails half-way stops its game day, which cleans up, before the test's temp dir goes.
  onTestFinished(async () => {
    if (process_ && process_.exitCode === null) process_.kill('SIGINT');
    await exited;
  });
  return Promise.race([
    urlKnown.then((url) => ({
      url,
      exited,
      said: (pattern: RegExp) => (pattern.test(printed) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ pattern, resolve }))),
      api: async <T,>(path: string, body?: unknown) => {
        const response = await fetch(new URL(path, new URL(url).origin), {
          method: body === undefined ? 'GET' : 'POST',
          headers: { authorization: `Bearer ${new URL(url).searchParams.get('token')}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return (await response.json()) as T;
      },
    })),
    exited.then((result): never => {
      throw new Error(`firedrill gameday exited ${result.code} before its page was up:\n${result.stderr}`);
    }),
  ]);
}

async function gamedayJournal(out: string): Promise<{ journal: Journal; dir: string }> {
  for (const run of (await readdir(out)).filter((name) => /^\d{8}-/.test(name)).sort().reverse()) {
    const drills = (await readdir(join(out, run))).filter((name) => name.endsWith('--gameday'));
    if (drills[0]) {
      const dir = join(out, run, drills[0]);
      return { journal: JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal, dir };
    }
  }
  throw new Error(`no game day journal under ${out}`);
}

/**
 * What the team's recovery lost, counted without firedrill: the writes the source holds (every
 * one it acknowledged; a bad DELETE leaves the ledger alone) that the restored database does not.
 */
async function lostByCount(journal: Journal): Promise<number> {
  return (await lostRows(journal)).length;
}

/** The lost writes themselves, with their commit times. */
async function lostRows(journal: Journal): Promise<Array<{ writer: number; seq: number; serverTimeUs: number }>> {
  const kept = (name: string) => {
    const instance = journal.instances!.find((candidate) => candidate.name === name)!;
    return { host: '127.0.0.1', port: instance.ports!.at(-1)!, user: 'postgres', database: postgres.databaseName };
  };
  const rows = async (name: string) => {
    const session = await postgres.connect(kept(name));
    try {
      return (await postgres.readLedger(session)).filter((row) => row.writer !== 0);
    } finally {
      await session.close();
    }
  };
  const key = (row: { writer: number; seq: number }) => `${row.writer}:${row.seq}`;
  const restored = new Set((await rows('spare')).map(key));
  return (await rows('source')).filter((row) => !restored.has(key(row)));
}

const browser = reportBrowser();
beforeAll(() => browser.setup());
afterAll(() => browser.close());

describe('firedrill gameday (built CLI, real PostgreSQL, the page in Chromium)', () => {
  it('a team that follows a withheld runbook restores the newest dump: marks, commands and failed steps recorded, the figures theirs', async () => {
    const { tmp, file, out } = await setup(SCENARIO());
    // A passing drill first: its restore path is the runbook the team gets.
    expect((await cli(['run', file, '--out', out, '--quiet'], { tmp })).code).toBe(0);
    const gameday = await startGameday([file, '--out', out, '--withhold-runbook', '--keep', '--time-limit', '2m'], tmp);
    onTestFinished(() => cli(['cleanup'], { tmp }).then(() => undefined));
    const { page, outside, problems } = await browser.visit(gameday.url);
    await page.locator('#stage').filter({ hasText: 'INCIDENT' }).waitFor({ timeout: 30_000 });
    const state = await gameday.api('/api/state');
    const spare = state.instances.find((instance) => instance.name === 'spare')!;
    await page.locator('#instances').filter({ hasText: String(spare.port) }).waitFor();
    // Withheld: the steps are not sent until asked for; asking is a mark.
    expect(state.runbook!.steps).toBeUndefined();
    await page.getByRole('button', { name: 'detected' }).click();
    await page.locator('#marks').filter({ hasText: 'detected' }).waitFor();
    await page.getByRole('button', { name: /Show the runbook/ }).click();
    await page.locator('#runbook-steps li').first().waitFor();
    const steps = (await gameday.api('/api/state')).runbook!.steps!;
    await page.screenshot({ path: join(ARTIFACTS, 'gameday-page.png'), fullPage: true });
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);

    expect((await cli(['gameday', 'mark', 'decided to restore'], { tmp })).stdout).toMatch(/^marked "decided to restore" at /);
    const listStep = steps.findIndex((step) => step.command.includes('pg_restore --list')) + 1;
    const restoreStep = steps.findIndex((step) => step.command.includes('pg_restore --create')) + 1;
    expect(listStep).toBeGreaterThan(0);
    expect(restoreStep).toBeGreaterThan(0);
    const dump = state.storage[0]!.backups.find((backup) => backup.name === 'dump')!.path!;
    const client = ['-h', '127.0.0.1', '-p', String(spare.port), '-U', spare.user];
    // The runbook's check of the dump, run on a path that is not there: the step fails, and stays failed.
    expect((await cli(['gameday', 'exec', '--step', String(listStep), '--', 'pg_restore', '--list', join(state.scratch, 'database.dump')], { tmp })).code).not.toBe(0);
    expect((await cli(['gameday', 'exec', '--step', String(restoreStep), '--', 'pg_restore', '--create', '--exit-on-error', ...client, '--dbname=postgres', dump], { tmp })).code).toBe(0);
    expect((await cli(['gameday', 'exec', '--step', '99', '--', 'true'], { tmp })).stderr).toMatch(/the runbook has steps 1 to \d+/);
    const done = await cli(['gameday', 'done', '--restored', 'spare'], { tmp });
    expect(done.stdout).toMatch(/^PASSED: /);
    expect(done.code).toBe(0);
    expect((await gameday.exited).code).toBe(0);

    const { journal, dir } = await gamedayJournal(out);
    expect(journal.status).toBe('passed');
    const record = journal.gameday!;
    expect(record.ended).toBe('declared');
    expect(record.restored).toMatchObject({ name: 'spare' });
    expect(record.marks.map((mark) => [mark.label, mark.from])).toEqual([
      ['detected', 'page'],
      ['runbook opened', 'firedrill'],
      ['decided to restore', 'shell'],
    ]);
    expect(record.runbook!.openedAtMs).toBe(record.marks[1]!.atMs);
    expect(record.commands.map((command) => [command.step, command.exitCode === 0])).toEqual([
      [listStep, false],
      [restoreStep, true],
    ]);
    expect(record.runbook!.steps[listStep - 1]!.outcome).toBe('failed');
    expect(record.runbook!.steps[restoreStep - 1]!.outcome).toBe('ran');
    // The timeline is in the order the team did things, and service came after the declaration.
    const moments = Object.fromEntries(humanTimeline(journal).map((moment) => [moment.label, moment.sinceFaultMs]));
    expect(moments['detected']).toBeGreaterThan(0);
    // The detection a game day measures is the team's mark, not the scenario's detectAfter.
    expect(journal.fault!.detectedAtMs).toBe(record.marks[0]!.atMs);
    expect(moments['first command']!).toBeGreaterThan(moments['decided to restore']!);
    expect(moments['service back (first write acknowledged)']!).toBeGreaterThan(moments['declared restored']!);
    expect(journal.measurements.rtoServiceMs).toBe(moments['service back (first write acknowledged)']);
    // The figures are what the team's restore holds: counted here without firedrill.
    expect(journal.measurements.damageUndone).toBe(true);
    const lost = await lostRows(journal);
    expect(journal.measurements.lostWrites).toBe(lost.length);
    expect(journal.measurements.lostWrites).toBeGreaterThan(0);
    // The application wrote on while the team recovered: what it lost after their "detected" is counted apart.
    const detectedUs = (Date.parse(journal.startedAt) + journal.fault!.detectedAtMs!) * 1000;
    expect(journal.ledger!.lostAfterDetection).toBe(lost.filter((row) => row.serverTimeUs > detectedUs).length);
    expect(journal.ledger!.lostAfterDetection).toBeGreaterThan(0);
    expect(journal.ledger!.lostToDetection).toBe(lost.filter((row) => row.serverTimeUs > journal.fault!.point.serverTimeUs && row.serverTimeUs <= detectedUs).length);
    expect(journal.ledger!.lostBeforeFault + journal.ledger!.lostToDetection + journal.ledger!.lostAfterDetection).toBe(lost.length);

    const report = await browser.visit(`file://${join(dir, 'report.html')}`, (target) => target.startsWith('file://'));
    const section = await report.page.locator('#gameday').innerText();
    expect(section).toContain('failed in the rehearsal');
    expect(section).toContain('decided to restore');
    expect(await report.page.locator('#recovery').innerText()).toMatch(/detected\s+[\d.]+ m?s after the fault \(the team's mark\)/);
    await report.page.locator('#gameday').screenshot({ path: join(ARTIFACTS, 'gameday-report.png') });
    expect(report.problems).toEqual([]);
  });

  it('a team that restores the older dump, declared from the page, loses what the newer one held: the RPO breached', async () => {
    const { tmp, file, out } = await setup(SCENARIO(2, '1s'));
    const gameday = await startGameday([file, '--out', out, '--keep'], tmp);
    onTestFinished(() => cli(['cleanup'], { tmp }).then(() => undefined));
    await gameday.said(/INCIDENT/);
    const state = await gameday.api('/api/state');
    const spare = state.instances.find((instance) => instance.name === 'spare')!;
    // The wrong point: backup 1 of 2.
    const older = state.storage[0]!.backups.find((backup) => backup.key.includes('backup-1/database.dump'))!.path!;
    const restored = await cli(['gameday', 'exec', '--', 'pg_restore', '--create', '-h', '127.0.0.1', '-p', String(spare.port), '-U', spare.user, '--dbname=postgres', older], { tmp });
    expect(restored.code).toBe(0);
    const { page } = await browser.visit(gameday.url);
    await page.locator('#declare-target').fill('spare');
    await page.getByRole('button', { name: 'Declared restored' }).click();
    await page.locator('#result-status').filter({ hasText: 'FAILED' }).waitFor({ timeout: 60_000 });
    expect((await gameday.exited).code).toBe(1);

    const { journal } = await gamedayJournal(out);
    expect(journal.status).toBe('failed');
    expect(objective(journal, 'RPO (data loss)').passed).toBe(false);
    expect(journal.measurements.lostWrites).toBe(await lostByCount(journal));
    // The loss reaches back past the newer backup: the writes between the two dumps are gone too.
    const newer = journal.backups![1]!;
    expect(journal.measurements.dataLossMs!).toBeGreaterThan(journal.fault!.atMs - newer.startMs);
  });

  it('a hidden fault the team never recovers from: nothing gives it away, the time limit ends it as not recovered, and nothing is left', async () => {
    const { tmp, file, out } = await setup(SCENARIO());
    const gameday = await startGameday([file, '--out', out, '--hidden', '3s', '--time-limit', '4s', '--quiet'], tmp);
    await expect.poll(async () => (await gameday.api('/api/state')).stage, { timeout: 30_000 }).toBe('running');
    const state = await gameday.api('/api/state');
    // A server the team started from the scratch directory is stopped with the game day.
    const stray = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)', join(state.scratch, 'server')], { detached: true, stdio: 'ignore' });
    const strayExit = new Promise((resolve) => stray.once('exit', resolve));
    const seen: GamedayState[] = [];
    const polling = (async () => {
      for (;;) {
        const now = await gameday.api('/api/state').catch(() => undefined);
        if (!now || now.stage === 'ended' || now.stage === 'verifying') return;
        seen.push(now);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    // A mark from the shell is taken while the fault is hidden (sent at once: the game day ends
    // 8 s after the workload starts at the earliest, and a CLI start under load takes seconds).
    expect((await cli(['gameday', 'mark', 'detected'], { tmp })).code).toBe(0);
    const result = await gameday.exited;
    await polling;
    expect(result.code).toBe(1);
    await strayExit;

    // Until the end, no answer said a fault had struck, or when.
    expect(seen.length).toBeGreaterThan(10);
    for (const answer of seen) {
      expect(answer.fault).toBeNull();
      expect(['preparing', 'running']).toContain(answer.stage);
    }
    const { journal } = await gamedayJournal(out);
    expect(journal.status).toBe('failed');
    expect(journal.gameday).toMatchObject({ announced: false, ended: 'time-limit', window: { fromMs: 4000, toMs: 7000 } });
    const struck = journal.fault!.atMs - journal.workload.startMs!;
    expect(struck).toBeGreaterThanOrEqual(4000);
    expect(struck).toBeLessThan(7000 + 1000);
    expect(objective(journal, 'restored')).toMatchObject({ passed: false, reason: expect.stringMatching(/no database was declared restored within the game day's 4\.00 s/) });
    expect(journal.gameday!.marks.map((mark) => mark.label)).toEqual(['detected']);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
    expect(await readdir(join(`${tmp}.state`, 'gamedays'))).toEqual([]);
  });

  it('Ctrl-C while the team works stops the game day: exit 130, never a verdict, nothing left', async () => {
    const { tmp, file, out } = await setup(SCENARIO());
    const gameday = await startGameday([file, '--out', out, '--quiet'], tmp);
    await gameday.said(/INCIDENT/);
    const pid = Number((await readFile(join(`${tmp}.state`, 'gamedays', (await readdir(join(`${tmp}.state`, 'gamedays')))[0]!), 'utf8')).match(/"pid":(\d+)/)![1]);
    process.kill(pid, 'SIGINT');
    expect((await gameday.exited).code).toBe(130);
    const { journal } = await gamedayJournal(out);
    expect(journal.status).toBe('interrupted');
    expect(journal.gameday!.ended).toBe('interrupted');
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('refuses what it cannot measure: a declaration before the fault, a typo, a database elsewhere', async () => {
    const { tmp, file, out } = await setup(SCENARIO().replace('at: 4s', 'at: 6s'));
    const gameday = await startGameday([file, '--out', out, '--quiet'], tmp);
    await expect.poll(async () => (await gameday.api('/api/state')).stage, { timeout: 30_000 }).toBe('ready');
    const early = await cli(['gameday', 'done', '--restored', 'spare'], { tmp });
    expect(early).toMatchObject({ code: 2, stderr: expect.stringMatching(/nothing to restore yet: the fault has not struck/) });
    await gameday.said(/INCIDENT/);
    const unknown = await gameday.api<{ error: string }>('/api/done', { restored: 'sparee' });
    expect(unknown.error).toMatch(/"sparee" is neither an instance of this game day \(source, spare\) nor a connection URI/);
    const elsewhere = await gameday.api<{ error: string }>('/api/done', { restored: 'postgresql://postgres@10.1.2.3:5432/firedrill' });
    expect(elsewhere.error).toMatch(/10\.1\.2\.3 is not this machine/);
    const noToken = await fetch(new URL('/api/state', new URL(gameday.url).origin));
    expect(noToken.status).toBe(403);
    const pid = Number((await readFile(join(`${tmp}.state`, 'gamedays', (await readdir(join(`${tmp}.state`, 'gamedays')))[0]!), 'utf8')).match(/"pid":(\d+)/)![1]);
    process.kill(pid, 'SIGINT');
    expect((await gameday.exited).code).toBe(130);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });
});
