import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { historyEntry, historyFor, historyStrategy } from '../journal/history.js';
import type { ComparisonEntryRecord, Journal, SweepEntryRecord } from '../journal/types.js';
import { loadScenario, ScenarioError, withStrategy, type Override, type Scenario, type ScenarioProblem } from '../scenario/loader.js';
import { errorMessage, ExitCode } from '../util/errors.js';
import { RunRegistry } from '../util/registry.js';
import { runDrill, type DrillOptions, type DrillOutcome } from './drill.js';
import { appendHistory, HISTORY_FILE, readHistory } from './history.js';

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
/** What picks and changes the scenarios a command loads: `--grep` and `--set`. */
export interface Selection {
  /** Keeps scenarios whose name or file matches (a file that does not parse, by its path). */
  grep?: RegExp;
  overrides?: readonly Override[];
}

export async function loadAll(paths: readonly string[], selection: Selection = {}): Promise<{ scenarios: Scenario[]; problems: ScenarioProblem[] }> {
  const scenarios: Scenario[] = [];
  const problems: ScenarioProblem[] = [];
  const { grep } = selection;
  for (const file of await expandScenarioPaths(paths)) {
    try {
      const scenario = await loadScenario(file, selection.overrides);
      if (!grep || grep.test(scenario.name) || grep.test(file)) scenarios.push(scenario);
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      problems.push(...error.problems.filter((problem) => !grep || grep.test(problem.file) || grep.test(file)));
    }
  }
  return { scenarios, problems };
}

/** A run id that sorts by time: `20261121-134512-a1b2`. */
export function newRunId(): string {
  const now = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${now}-${Math.random().toString(16).slice(2, 6)}`;
}

/** One drill of a run: the scenario with the one strategy it runs, the drill's id, its place in a comparison. */
export interface DrillPlan {
  scenario: Scenario;
  drillId: string;
  comparison?: ComparisonEntryRecord;
  sweep?: SweepEntryRecord;
}

export interface PlanOptions {
  /** Compare every scenario's strategies (`firedrill compare`), even a scenario that names one `strategy`. */
  compare?: boolean;
  /** Drills of each strategy in a comparison (default 1); their ids end in `--r<n>`. */
  repeat?: number;
  /** Only this shard's drills of the plan (`--shard i/n`; see `shardDrills`). */
  shard?: Shard;
}

/** `--shard 2/3`: the second of three shards of a plan, numbered from 1 as in Playwright. */
export interface Shard {
  index: number;
  total: number;
}

/** Reads `i/n` (`--shard 2/3`); an error says how to write it. */
export function parseShard(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!match) throw new Error('write it as i/n: which shard this machine runs, of how many, e.g. --shard 2/3');
  const [index, total] = [Number(match[1]), Number(match[2])];
  if (total < 1) throw new Error('n is how many shards the drills are split into, 1 or more (e.g. --shard 1/3)');
  if (index < 1 || index > total) throw new Error(`shards of ${total} are numbered 1 to ${total}: give --shard 1/${total} on the first machine, …, --shard ${total}/${total} on the last`);
  return { index, total };
}

/**
 * The drills of one shard of a plan. A scenario's drills stay together: the strategies and
 * repetitions of a comparison run on one machine, round by round, so their figures compare
 * like with like (another runner's CPU and disk would weigh on one strategy only), and the
 * shard's run holds the whole comparison. Scenarios, in plan order, each go to the shard with
 * the fewest drills so far, the lowest-numbered of equals: round-robin when every scenario is
 * one drill, balanced when comparisons make some bigger. Nothing but the plan decides, so
 * machines given the same paths and options split it alike — every drill in exactly one
 * shard, with the id it has in the whole plan — and each shard keeps the plan's order.
 */
export function shardDrills(plans: readonly DrillPlan[], shard: Shard): DrillPlan[] {
  const sizes = new Map<string, number>();
  for (const plan of plans) sizes.set(plan.scenario.name, (sizes.get(plan.scenario.name) ?? 0) + 1);
  const load = Array.from({ length: shard.total }, () => 0);
  const shardOf = new Map<string, number>();
  for (const [name, size] of sizes) {
    const emptiest = load.indexOf(Math.min(...load));
    shardOf.set(name, emptiest + 1);
    load[emptiest] += size;
  }
  return plans.filter((plan) => shardOf.get(plan.scenario.name) === shard.index);
}

/** A drill id from a comparison label: `pg-dump (jobs=4)` → `pg-dump-jobs-4` (ids name directories). */
function idPart(label: string): string {
  return label.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * The drills of a run, in order. A scenario with one strategy is one drill. A scenario that
 * lists `strategies:` — or any scenario, with `compare` — is one drill per strategy and
 * repetition, all of the same dataset, seed, workload and fault. Repetitions go round by
 * round (a, b, a, b rather than a, a, b, b): whatever else loads the machine meanwhile then
 * weighs on every strategy alike, not on the one whose turn it happens to be.
 */
export function planDrills(scenarios: readonly Scenario[], options: PlanOptions = {}): DrillPlan[] {
  const repeat = options.repeat ?? 1;
  const plans = scenarios.flatMap((scenario): DrillPlan[] => {
    if (scenario.sweep && !options.compare) return sweepDrills(scenario);
    if (!scenario.strategies && !options.compare) return [{ scenario, drillId: `${scenario.name}--${scenario.strategy.name}` }];
    const entries = scenario.strategies ?? [{ ...scenario.strategy, label: scenario.strategy.name }];
    return Array.from({ length: repeat }, (_, round) =>
      entries.map((entry, index): DrillPlan => ({
        scenario: withStrategy(scenario, entry),
        drillId: `${scenario.name}--${idPart(entry.label)}${repeat > 1 ? `--r${round + 1}` : ''}`,
        comparison: { label: entry.label, index, repetition: round + 1, repetitions: repeat },
      })),
    ).flat();
  });
  // Two scenarios of the same name would write into one directory; the second gets its own.
  const seen = new Map<string, number>();
  const unique = plans.map((plan) => {
    const count = (seen.get(plan.drillId) ?? 0) + 1;
    seen.set(plan.drillId, count);
    return count === 1 ? plan : { ...plan, drillId: `${plan.drillId}-${count}` };
  });
  // Sharded after the ids are made, so a drill has the same id in every shard's plan.
  return options.shard ? shardDrills(unique, options.shard) : unique;
}

/**
 * A sweep's drills: the scenario once per size, smallest to largest as listed, each with the
 * built-in dataset at that size and nothing else changed, so the sizes differ in data alone.
 */
function sweepDrills(scenario: Scenario): DrillPlan[] {
  const points = scenario.sweep!;
  return points.map((point, index) => ({
    scenario: { ...scenario, target: { ...scenario.target, dataset: { builtin: 'shop' as const, scale: point.scale, cache: scenario.target.dataset.cache, ...('size' in point ? { size: point.size } : {}) } } },
    drillId: `${scenario.name}--${scenario.strategy.name}--${idPart(point.label)}`,
    sweep: { label: point.label, index, count: points.length, scale: point.scale },
  }));
}

/** The file, in a run's directory, that says what the run was to do: `<runDir>/run.json`. */
export const RUN_RECORD_FILE = 'run.json';

/**
 * What a run was to do, written before its first drill: its shard, the drills of the whole
 * plan (every shard) and its own. Journals say what each drill did; this is what lets
 * `firedrill report` tell the shards of a plan apart when it merges them, and name the drills
 * that have no journal — a shard whose reports are not among those merged, a run stopped
 * before them.
 */
export interface RunRecord {
  formatVersion: 1;
  runId: string;
  shard?: Shard;
  /** Drill ids of the whole plan, in order, every shard's. */
  plan: string[];
  /** Drill ids this run was to run: the plan, or its shard's part of it. */
  drills: string[];
}

export interface RunOptions extends Omit<DrillOptions, 'runId' | 'runDir' | 'drillId' | 'annotations' | 'registry'>, PlanOptions {
  /** Reports folder; the run writes into `<outDir>/<runId>/` and appends to `<outDir>/history.jsonl`. */
  outDir: string;
  runId?: string;
  /** Called as each drill starts, with the scenario as it runs (one strategy). */
  onDrillStart?: (scenario: Scenario, plan: DrillPlan) => void;
}

/** What a run did: its directory, one outcome per drill, and what went wrong beside the drills (history file). */
export interface RunResult {
  runDir: string;
  outcomes: DrillOutcome[];
  warnings: string[];
}

/**
 * Runs the drills of `planDrills` (of `options.shard`, if given) one after another (drills
 * share the machine; running them at once would skew the measurements), after writing the
 * run's `RunRecord` into its directory. Each drill's journal gets its slice of the reports
 * folder's history, and each finished drill is appended to it; history trouble is a warning,
 * never a failed drill.
 */
export async function runScenarios(scenarios: readonly Scenario[], options: RunOptions): Promise<RunResult> {
  const runId = options.runId ?? newRunId();
  const runDir = resolve(options.outDir, runId);
  await mkdir(runDir, { recursive: true });
  const historyFile = join(resolve(options.outDir), HISTORY_FILE);
  const warnings: string[] = [];
  const past = await readHistory(historyFile).catch((error: unknown) => {
    warnings.push(`cannot read ${historyFile} (${errorMessage(error)}): reports show no trend; move the file away to start a new history`);
    return [];
  });
  const whole = planDrills(scenarios, { ...options, shard: undefined });
  const drills = options.shard ? shardDrills(whole, options.shard) : whole;
  const record: RunRecord = { formatVersion: 1, runId, ...(options.shard ? { shard: options.shard } : {}), plan: whole.map((plan) => plan.drillId), drills: drills.map((plan) => plan.drillId) };
  await writeFile(join(runDir, RUN_RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`, 'utf8');
  const outcomes: DrillOutcome[] = [];
  // Every resource of the run is on record on disk as it is created: if this process dies,
  // `firedrill cleanup` finds what it left.
  const registry = new RunRegistry(runId);
  for (const plan of drills) {
    if (options.signal?.aborted) break;
    options.onDrillStart?.(plan.scenario, plan);
    const strategy = historyStrategy({ ...(plan.comparison ? { comparison: plan.comparison } : {}), ...(plan.sweep ? { sweep: plan.sweep } : {}), strategy: plan.scenario.strategy.name });
    const history = historyFor(past, { scenario: plan.scenario.name, strategy, runId });
    const annotations = { ...(plan.comparison ? { comparison: plan.comparison } : {}), ...(plan.sweep ? { sweep: plan.sweep } : {}), history };
    const outcome = await runDrill(plan.scenario, { ...options, runId, runDir, drillId: plan.drillId, annotations, registry });
    outcomes.push(outcome);
    // An interrupted drill measured and judged nothing: it is no point of a trend.
    if (outcome.journal.status === 'interrupted') continue;
    await appendHistory(historyFile, [historyEntry(outcome.journal)]).catch((error: unknown) => {
      warnings.push(`cannot append to ${historyFile} (${errorMessage(error)}): this drill is missing from the history`);
    });
  }
  const remaining = outcomes.reduce((sum, outcome) => sum + (outcome.journal.kept?.length ?? 0) + (outcome.journal.leftovers?.length ?? 0), 0);
  registry.close(remaining);
  return { runDir, outcomes, warnings };
}

/** The exit code a CI job gates on: interrupted > could not run > breached > passed. */
export function exitCodeOf(journals: readonly Journal[]): number {
  if (journals.some((journal) => journal.status === 'interrupted')) return ExitCode.interrupted;
  if (journals.some((journal) => journal.status === 'error')) return ExitCode.couldNotRun;
  if (journals.some((journal) => journal.status === 'failed')) return ExitCode.breached;
  return ExitCode.passed;
}
