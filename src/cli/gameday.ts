import { consolePhaseListener, renderConsoleSummary, renderKept } from '../report/console.js';
import { callGameday, declareRestored, execRecorded, findGameday, GAMEDAY_ENV } from '../gameday/client.js';
import { runGameday } from '../gameday/gameday.js';
import type { GamedayMark } from '../journal/types.js';
import { exitCodeOf, loadAll } from '../runner/run.js';
import { formatProblem, type Override } from '../scenario/loader.js';
import { formatDuration } from '../util/duration.js';
import { ExitCode } from '../util/errors.js';
import { interruptible } from './interrupts.js';
import { resultJson } from './result.js';

type Write = (text: string) => void;

export interface GamedayCommandOptions {
  out: string;
  set?: Override[];
  /** `--hidden [window]`: true for the default window. */
  hidden?: number | true;
  withholdRunbook?: boolean;
  timeLimit: number;
  port?: number;
  keep?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** A hidden fault strikes within this long after the scenario's `fault.at` unless `--hidden` says otherwise. */
export const DEFAULT_HIDDEN_WINDOW_MS = 120_000;

/**
 * `firedrill gameday SCENARIO`: one scenario, run up to its fault and handed to the team.
 * The scenario is checked first, as for `run`: a bad file provisions nothing (exit 2).
 */
export async function gamedayCommand(file: string, options: GamedayCommandOptions, out: Write, err: Write): Promise<number> {
  const { scenarios, problems } = await loadAll([file], options.set ? { overrides: options.set } : {});
  if (problems.length > 0 || scenarios.length !== 1) {
    err(problems.length > 0 ? problems.map(formatProblem).join('\n') : `${file} is not one scenario file`);
    err('\nnothing was started. Fix the scenario and run `firedrill validate` to check.');
    return ExitCode.couldNotRun;
  }
  if (scenarios[0]!.strategies) {
    err(`${file} compares strategies: a game day rehearses one. Give it with --set strategy.name=NAME, or use a scenario with one strategy.`);
    return ExitCode.couldNotRun;
  }
  const scenario = scenarios[0]!;
  const hiddenWindowMs = options.hidden === true ? DEFAULT_HIDDEN_WINDOW_MS : options.hidden;
  return interruptible('game day', err, async (signal) => {
    const outcome = await runGameday(scenario, {
      outDir: options.out,
      timeLimitMs: options.timeLimit,
      ...(hiddenWindowMs !== undefined ? { hiddenWindowMs } : {}),
      ...(options.withholdRunbook ? { withholdRunbook: true } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.keep ? { keep: true } : {}),
      signal,
      ...(options.quiet || options.json ? {} : { onPhase: consolePhaseListener() }),
      onListening: (url) => {
        // The address goes to stderr like all progress; --json keeps stdout for the result alone.
        err(`\n▶ game day: ${scenario.name} (${scenario.strategy.name}, ${scenario.fault.kind}) — ${scenario.file}`);
        err(`  page:  ${url}`);
        err(`  shell: export ${GAMEDAY_ENV}='${url}'`);
        err(
          hiddenWindowMs === undefined
            ? `  fault: announced, ${formatDuration(scenario.fault.at)} after the workload starts`
            : `  fault: hidden, at a random moment ${formatDuration(scenario.fault.at)} to ${formatDuration(scenario.fault.at + hiddenWindowMs)} after the workload starts`,
        );
        err(`  time:  ${formatDuration(options.timeLimit)} from the fault to declare a database restored (firedrill gameday done --restored spare)`);
      },
      ...(hiddenWindowMs === undefined && !options.json ? { onIncident: (description: string) => err(`\n!! INCIDENT: ${description}\n`) } : {}),
    });
    const journal = outcome.journal;
    const exitCode = signal.aborted ? ExitCode.interrupted : exitCodeOf([journal]);
    if (options.json) {
      out(resultJson({ exitCode, command: 'gameday', runDir: outcome.runDir, drills: [{ dir: outcome.dir, status: journal.status, scenario: journal.scenario.name, strategy: journal.strategy, measurements: journal.measurements, objectives: journal.objectives, errors: journal.errors }], comparisons: [] }));
      return exitCode;
    }
    err('');
    err(renderConsoleSummary([journal]));
    err(`journal: ${outcome.dir}/journal.json`);
    err(`report:  ${outcome.report}`);
    if (journal.kept?.length) err(renderKept(journal.kept));
    return exitCode;
  });
}

/** `firedrill gameday mark LABEL`: a timestamped step, from the shell. */
export async function markCommand(label: string, options: { url?: string }, out: Write): Promise<number> {
  const url = await findGameday(options.url);
  const mark = await callGameday<GamedayMark>(url, '/api/mark', { label, from: 'shell' });
  out(`marked "${mark.label}" at ${formatDuration(mark.atMs)} into the game day`);
  return ExitCode.passed;
}

/** `firedrill gameday exec [--step N] -- CMD...`: the command's own exit code. */
export async function execCommand(argv: string[], options: { url?: string; step?: number }): Promise<number> {
  const url = await findGameday(options.url);
  return execRecorded(url, argv, options.step);
}

/** `firedrill gameday done --restored X`: waits for the verdict; exits as the game day does. */
export async function doneCommand(options: { url?: string; restored: string; json?: boolean }, out: Write, err: Write): Promise<number> {
  const url = await findGameday(options.url);
  err(`declared ${options.restored} restored: firedrill points the workload at it and verifies it…`);
  const result = await declareRestored(url, options.restored);
  const exitCode = { passed: ExitCode.passed, failed: ExitCode.breached, error: ExitCode.couldNotRun, interrupted: ExitCode.interrupted }[result.status] ?? ExitCode.couldNotRun;
  if (options.json) out(resultJson({ exitCode, command: 'gameday-done', status: result.status, headline: result.headline, ...(result.report ? { report: result.report } : {}) }));
  else {
    out(`${result.status.toUpperCase()}: ${result.headline}`);
    if (result.report) out(`report: ${result.report}`);
  }
  return exitCode;
}
