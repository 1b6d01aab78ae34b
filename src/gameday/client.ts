import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DrillSetupError, errorMessage } from '../util/errors.js';
import { shellQuote, waitForExit } from '../util/exec.js';
import { sameProcessAlive } from '../util/registry.js';
import { gamedayDir } from './gameday.js';
import type { GamedayResult } from './session.js';

/** The environment variable a team's shell can hold the page's address in (several game days at once). */
export const GAMEDAY_ENV = 'FIREDRILL_GAMEDAY';

/**
 * The running game day's address: `--url`, else $FIREDRILL_GAMEDAY, else the one game day of
 * this user that is running on this machine. Two at once need one of the first two.
 */
export async function findGameday(url?: string): Promise<string> {
  const given = url ?? process.env[GAMEDAY_ENV];
  if (given) return given;
  const running: string[] = [];
  for (const name of await readdir(gamedayDir()).catch(() => [] as string[])) {
    if (!name.endsWith('.json')) continue;
    try {
      const file = join(gamedayDir(), name);
      const pointer = JSON.parse(await readFile(file, 'utf8')) as { url: string; pid: number; startTime?: string };
      if (sameProcessAlive(pointer.pid, pointer.startTime)) running.push(pointer.url);
      // A game day killed before it could remove its pointer: nothing answers there any more.
      else await rm(file, { force: true });
    } catch {
      // A pointer half-written or of another version: not a game day to talk to.
    }
  }
  if (running.length === 1) return running[0]!;
  if (running.length === 0) throw new DrillSetupError('no game day is running for this user on this machine', 'start one with `firedrill gameday SCENARIO`, or give its address with --url (or $FIREDRILL_GAMEDAY)');
  throw new DrillSetupError(`${running.length} game days are running`, `say which with --url, or export ${GAMEDAY_ENV}=<the address the game day printed>`);
}

/** Calls the game day's API; a refusal (a typo, too early) comes back as an error in its words. */
export async function callGameday<T>(url: string, path: string, body?: unknown): Promise<T> {
  const address = new URL(url);
  const token = address.searchParams.get('token') ?? '';
  let response: Response;
  try {
    response = await fetch(new URL(path, address.origin), {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new DrillSetupError(`cannot reach the game day at ${address.origin}: ${errorMessage(error)}`, 'is it still running? It ends at its time limit, or when a database is declared restored');
  }
  const json = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new DrillSetupError(json.error ?? `the game day answered ${response.status}`, response.status === 403 ? 'use the address with its ?token=… as firedrill printed it' : 'fix it and try again: the clock runs on');
  return json;
}

/**
 * `firedrill gameday exec -- CMD...`: runs the team's command here, as it would run anyway
 * (this terminal's input and output), and tells the game day what it was, when, for how
 * long and how it ended. Its exit code is the command's.
 */
export async function execRecorded(url: string, argv: readonly string[], step?: number): Promise<number> {
  if (argv.length === 0) throw new DrillSetupError('no command to run', 'give it after --: firedrill gameday exec -- pg_restore …');
  if (step !== undefined) {
    // Refused before the command runs, not after: a step the runbook does not have.
    const { runbook } = await callGameday<{ runbook: { stepCount: number } | null }>(url, '/api/state');
    const count = runbook?.stepCount ?? 0;
    if (step < 1 || step > count) throw new DrillSetupError(`--step ${step}: ${count === 0 ? 'this game day has no runbook' : `the runbook has steps 1 to ${count}`}`, count === 0 ? 'leave --step out' : 'give the number of the step as the page shows it');
  }
  const startedAtWallMs = Date.now();
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  const spawnError = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('error', () => resolve({ code: 127, signal: null })));
  const { code, signal } = await Promise.race([waitForExit(child), spawnError]);
  await callGameday(url, '/api/command', {
    command: argv.map(shellQuote).join(' '),
    startedAtWallMs,
    durationMs: Math.round(performance.now() - started),
    exitCode: code,
    ...(signal ? { signal } : {}),
    ...(step !== undefined ? { step } : {}),
  });
  return code ?? 128;
}

/** `firedrill gameday done --restored X`: declares it, and waits for the verdict. */
export function declareRestored(url: string, restored: string): Promise<GamedayResult> {
  return callGameday<GamedayResult>(url, '/api/done', { restored });
}
