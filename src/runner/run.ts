import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Journal } from '../journal/types.js';
import { loadScenario, ScenarioError, type Scenario, type ScenarioProblem } from '../scenario/loader.js';
import { ExitCode } from '../util/errors.js';
import { runDrill, type DrillOptions, type DrillOutcome } from './drill.js';

const SCENARIO_FILE = /\.(ya?ml|json)$/;

/** Expands directories into the scenario files they hold (sorted), keeping files as given. */
export async function expandScenarioPaths(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      const entries = (await readdir(path)).filter((name) => SCENARIO_FILE.test(name)).sort();
      files.push(...entries.map((name) => join(path, name)));
    } else {
      files.push(path);
    }
  }
  return files;
}

/** Loads every scenario before anything runs: one bad file means nothing is provisioned. */
export async function loadAll(paths: readonly string[]): Promise<{ scenarios: Scenario[]; problems: ScenarioProblem[] }> {
  const scenarios: Scenario[] = [];
  const problems: ScenarioProblem[] = [];
  for (const file of await expandScenarioPaths(paths)) {
    try {
      scenarios.push(await loadScenario(file));
    } catch (error) {
      if (error instanceof ScenarioError) problems.push(...error.problems);
      else throw error;
    }
  }
  return { scenarios, problems };
}

/** A run id that sorts by time: `20261121-134512-a1b2`. */
export function newRunId(): string {
  const now = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${now}-${Math.random().toString(16).slice(2, 6)}`;
}

export interface RunOptions extends Omit<DrillOptions, 'runId' | 'runDir'> {
  /** Reports folder; the run writes into `<outDir>/<runId>/`. */
  outDir: string;
  runId?: string;
  onDrillStart?: (scenario: Scenario) => void;
}

/** Runs scenarios one after another (drills share the machine; running them at once would skew the measurements). */
export async function runScenarios(scenarios: readonly Scenario[], options: RunOptions): Promise<{ runDir: string; outcomes: DrillOutcome[] }> {
  const runId = options.runId ?? newRunId();
  const runDir = resolve(options.outDir, runId);
  await mkdir(runDir, { recursive: true });
  const outcomes: DrillOutcome[] = [];
  for (const scenario of scenarios) {
    if (options.signal?.aborted) break;
    options.onDrillStart?.(scenario);
    outcomes.push(await runDrill(scenario, { ...options, runId, runDir }));
  }
  return { runDir, outcomes };
}

/** The exit code a CI job gates on: interrupted > could not run > breached > passed. */
export function exitCodeOf(journals: readonly Journal[]): number {
  if (journals.some((journal) => journal.status === 'interrupted')) return ExitCode.interrupted;
  if (journals.some((journal) => journal.status === 'error')) return ExitCode.couldNotRun;
  if (journals.some((journal) => journal.status === 'failed')) return ExitCode.breached;
  return ExitCode.passed;
}
