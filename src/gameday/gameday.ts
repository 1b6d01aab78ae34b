import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Engine } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import { verdictHeadline } from '../report/format.js';
import { writeReports, type ReportOutcome } from '../report/index.js';
import { runbookOf } from '../report/runbook.js';
import { runDrill, type DrillOutcome } from '../runner/drill.js';
import { lastPassing } from '../runner/history.js';
import { newRunId } from '../runner/run.js';
import type { PhaseListener } from '../runner/timeline.js';
import type { Scenario } from '../scenario/loader.js';
import { sleep } from '../util/clock.js';
import { DrillSetupError } from '../util/errors.js';
import { processStartTime, RunRegistry, stateDir } from '../util/registry.js';
import { GamedayServer } from './server.js';
import { GamedaySession } from './session.js';
import type { TestedRunbook } from './score.js';

export interface GamedayOptions {
  /** Reports folder: the game day writes into `<outDir>/<runId>/`, and reads the runbook of the newest passing drill there. */
  outDir: string;
  /** Hide the fault: it strikes unannounced at a random moment up to this long after the scenario's `fault.at`. */
  hiddenWindowMs?: number;
  /** Show the runbook only when the team asks (the asking is recorded). */
  withholdRunbook?: boolean;
  /** From the fault: how long the team has before the game day ends as not recovered. */
  timeLimitMs: number;
  /** The page's port on 127.0.0.1 (default any free one). */
  port?: number;
  keep?: boolean;
  signal?: AbortSignal;
  onPhase?: PhaseListener;
  logLevel?: string;
  /** The page is up: its address (with the token) for the team. */
  onListening?: (url: string) => void;
  /** An announced fault struck: say so to the team. */
  onIncident?: (description: string) => void;
  /** A fixed draw for the hidden fault's moment (tests). */
  random?: () => number;
}

export interface GamedayOutcome extends DrillOutcome {
  runDir: string;
  reports: ReportOutcome;
  /** The HTML report of the game day. */
  report: string;
}

/** Where a running game day says where its page is, so `firedrill gameday mark` finds it: one file per run, readable by its user only. */
export function gamedayDir(): string {
  return join(stateDir(), 'gamedays');
}

/** How long the page keeps answering after the verdict, so it shows the result before firedrill exits. */
const LINGER_MS = 2500;

/**
 * The phases as they go, for the console — but once the team is briefed, a hidden fault's
 * phases would give it away to whoever watches firedrill's terminal: nothing more is shown
 * until the game day ends.
 */
function quietAfterBriefing(listener: PhaseListener, session: GamedaySession): PhaseListener {
  return (event) => {
    if (session.announced || session.stage === 'preparing' || session.stage === 'ended' || event.phase === 'teardown') listener(event);
  };
}

/** The newest passing drill's procedure, as the team gets it: with `${NAME}` parameters and what each meant. */
async function testedRunbook(outDir: string, scenario: Scenario): Promise<TestedRunbook | undefined> {
  const last = await lastPassing(outDir, scenario.name, scenario.strategy.name);
  if (!last) return undefined;
  const { steps, parameters } = runbookOf(last.journal);
  return {
    from: relative(resolve(outDir), last.path),
    drillAt: last.journal.startedAt,
    rtoServiceMs: last.journal.measurements.rtoServiceMs,
    steps: steps.map((step) => ({ command: step.command, phase: step.phase, drillMs: step.durationMs })),
    parameters: parameters.map(({ name, meaning, value }) => ({ name, meaning, value })),
  };
}

/**
 * `firedrill gameday SCENARIO`: the drill as far as the fault, then the team's. The page and
 * the shell helpers talk to a server on 127.0.0.1; the drill waits for the team to declare a
 * database restored (or for the time to run out) and measures it as it measures its own
 * restores. Everything is throwaway and removed at the end, as after a drill.
 */
export async function runGameday(scenario: Scenario, options: GamedayOptions): Promise<GamedayOutcome> {
  const engine = engines[scenario.target.engine as keyof typeof engines] as Engine | undefined;
  if (!engine) throw new DrillSetupError(`engine "${scenario.target.engine}" is not available in this build`, `available: ${Object.keys(engines).join(', ')}`);
  const runbook = await testedRunbook(options.outDir, scenario);
  const session = new GamedaySession({
    engine,
    faultAtMs: scenario.fault.at,
    ...(options.hiddenWindowMs !== undefined ? { hiddenWindowMs: options.hiddenWindowMs } : {}),
    timeLimitMs: options.timeLimitMs,
    ...(runbook ? { runbook } : {}),
    withheld: options.withholdRunbook ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.onIncident ? { onIncident: options.onIncident } : {}),
  });
  const server = new GamedayServer(session, scenario.name);
  const url = await server.listen(options.port);
  const runId = newRunId();
  const runDir = resolve(options.outDir, runId);
  const pointer = join(gamedayDir(), `${runId}.json`);
  try {
    await mkdir(gamedayDir(), { recursive: true, mode: 0o700 });
    await writeFile(pointer, `${JSON.stringify({ url, pid: process.pid, startTime: processStartTime(process.pid), scenario: scenario.name, runDir })}\n`, { mode: 0o600 });
    options.onListening?.(url);
    const registry = new RunRegistry(runId);
    const outcome = await runDrill(scenario, {
      runId,
      runDir,
      drillId: `${scenario.name}--gameday`,
      handOver: session,
      registry,
      ...(options.keep ? { keep: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onPhase ? { onPhase: quietAfterBriefing(options.onPhase, session) } : {}),
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    });
    registry.close((outcome.journal.kept?.length ?? 0) + (outcome.journal.leftovers?.length ?? 0));
    const reports = await writeReports([outcome.journal], runDir, [outcome.dir]);
    const report = join(outcome.dir, 'report.html');
    session.finish({ status: outcome.journal.status, headline: verdictHeadline(outcome.journal), report });
    if (!options.signal?.aborted) await sleep(LINGER_MS);
    return { ...outcome, runDir, reports, report };
  } finally {
    await server.close();
    await rm(pointer, { force: true });
  }
}
