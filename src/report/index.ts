import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, parse, relative, resolve, sep } from 'node:path';
import { buildComparisons, COMPARISON_METRICS, type MetricKey } from '../compare/comparison.js';
import type { Journal } from '../journal/types.js';
import { RUN_RECORD_FILE, type RunRecord, type Shard } from '../runner/run.js';
import { DrillSetupError, errorMessage } from '../util/errors.js';
import { summarizeDrill } from './format.js';
import { renderComparisonHtml } from './html-compare.js';
import { renderSweepHtml } from './html-sweep.js';
import { buildSweeps } from './sweep.js';
import { renderDrillHtml, renderRunIndexHtml } from './html.js';
import { renderJUnit } from './junit.js';
import { renderMarkdown } from './markdown.js';

/**
 * The reporters. Each is an object of optional hooks (Vitest/Playwright style); the registry
 * below is the list of names a user can pick, so `ReporterName` comes from it. Reporters read
 * journals and nothing else, which is what lets `firedrill report` render any old journal.
 *
 * Layout of a run directory:
 *   <runDir>/run.json                  written by the runner: its shard, the drills it was to run
 *   <runDir>/<drillDir>/journal.json   written by the runner (the source of truth)
 *   <runDir>/<drillDir>/report.html    html, per drill
 *   <runDir>/index.html                html, always (one stable entry point, even for one drill)
 *   <runDir>/junit.xml                 junit
 *   <runDir>/summary.md                markdown (also appended to $GITHUB_STEP_SUMMARY when set)
 *   <runDir>/summary.json              json: the run's verdicts and figures, for scripts
 *   <runDir>/compare.html              compare, when drills ran as a comparison of strategies
 *   <runDir>/compare.json              compare: the comparison's medians, ranges and winners, for scripts
 *   <runDir>/sweep.html                sweep, when drills ran as the sizes of a sweep: RTO against size, the model, the forecast
 *   <runDir>/sweep.json                sweep: the same, for scripts
 */

/** Where a run's reports go. */
export interface RunLayout {
  runDir: string;
  /** Absolute directory of each drill, parallel to the journals. */
  drillDirs: readonly string[];
  /** Read for GITHUB_STEP_SUMMARY; injectable so tests never touch a real CI summary. */
  env: Readonly<Record<string, string | undefined>>;
}

/** A reporter: optional hooks, each returning the files it wrote. */
export interface Reporter {
  /** Renders one drill into its own directory. */
  drill?(journal: Journal, dir: string): Promise<string[]>;
  /** Renders the whole run into the run directory. */
  run?(journals: readonly Journal[], layout: RunLayout): Promise<string[]>;
}

async function write(path: string, content: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content, 'utf8');
  return path;
}

/** A relative path as a URL path: `/` separators, each segment percent-encoded. */
function href(path: string): string {
  return path.split(sep).map(encodeURIComponent).join('/');
}

const html: Reporter = {
  async drill(journal, dir) {
    return [await write(join(dir, 'report.html'), renderDrillHtml(journal))];
  },
  async run(journals, { runDir, drillDirs }) {
    const links = drillDirs.map((dir) => href(relative(runDir, join(dir, 'report.html'))));
    return [await write(join(runDir, 'index.html'), renderRunIndexHtml(journals, links))];
  },
};

const junit: Reporter = {
  async run(journals, { runDir }) {
    return [await write(join(runDir, 'junit.xml'), renderJUnit(journals))];
  },
};

const markdown: Reporter = {
  async run(journals, { runDir, env }) {
    const text = renderMarkdown(journals);
    const file = await write(join(runDir, 'summary.md'), text);
    // GitHub Actions renders whatever a step appends to this file on the run's page.
    if (env.GITHUB_STEP_SUMMARY) await appendFile(env.GITHUB_STEP_SUMMARY, `${text}\n`, 'utf8');
    return [file];
  },
};

const json: Reporter = {
  async run(journals, { runDir, drillDirs }) {
    const drills = journals.map((journal, index) => ({
      drillId: journal.drillId,
      scenario: journal.scenario.name,
      strategy: journal.strategy,
      engine: journal.engine,
      status: journal.status,
      journal: href(relative(runDir, join(drillDirs[index]!, 'journal.json'))),
      summary: summarizeDrill(journal),
      measurements: journal.measurements,
      objectives: journal.objectives.map(({ name, target, measured, passed }) => ({ name, target, measured, passed })),
    }));
    return [await write(join(runDir, 'summary.json'), `${JSON.stringify({ formatVersion: 1, drills }, null, 2)}\n`)];
  },
};

/** The machine-readable comparisons of a run: compare.json, and `comparisons` in `--json` output. */
export interface ComparisonJson {
  formatVersion: 1;
  columns: Array<{ key: MetricKey; label: string; unit: string; better: 'lower' | 'higher'; description: string }>;
  comparisons: Array<{
    runId: string;
    scenario: string;
    file?: string;
    engine: string;
    fault: string;
    dataset?: string;
    repetitions: number;
    /** Per column, the labels of the best strategies (ties share; empty when nothing sets them apart). */
    winners: Record<MetricKey, string[]>;
    /** Per column, whether the best range overlaps another strategy's over the runs (the order may be noise). */
    overlapping: Record<MetricKey, boolean>;
    strategies: Array<{
      label: string;
      strategy: string;
      /** Columns this strategy is best in. */
      wins: MetricKey[];
      /** Per column: median, min, max over the runs, each run's value (null: not measured), and whether every run measured it. */
      figures: Record<MetricKey, { median: number | null; min: number | null; max: number | null; values: Array<number | null>; complete: boolean }>;
      /** Its drills by repetition; `report` and `journal` relative to the run directory. */
      drills: Array<{ drillId: string; repetition: number; status: Journal['status']; report: string; journal: string }>;
    }>;
  }>;
}

/** Builds the comparisons of a run's journals (none for a run without one) with their drills' addresses relative to `runDir`. */
export function comparisonJson(journals: readonly Journal[], runDir: string, drillDirs: readonly string[]): ComparisonJson {
  const root = resolve(runDir);
  const address = (index: number, file: string) => href(relative(root, join(resolve(root, drillDirs[index]!), file)));
  return {
    formatVersion: 1,
    columns: COMPARISON_METRICS.map(({ key, label, unit, better, description }) => ({ key, label, unit, better, description })),
    comparisons: buildComparisons(journals).map((comparison) => ({
      runId: comparison.runId,
      scenario: comparison.scenario,
      ...(comparison.file ? { file: comparison.file } : {}),
      engine: comparison.engine,
      fault: comparison.faultKind,
      ...(comparison.dataset ? { dataset: comparison.dataset } : {}),
      repetitions: comparison.repetitions,
      winners: comparison.winners,
      overlapping: comparison.overlapping,
      strategies: comparison.entries.map((entry) => ({
        label: entry.label,
        strategy: entry.strategy,
        wins: COMPARISON_METRICS.map((metric) => metric.key).filter((key) => comparison.winners[key].includes(entry.label)),
        figures: entry.stats,
        drills: entry.drills.map((index) => ({
          drillId: journals[index]!.drillId,
          repetition: journals[index]!.comparison!.repetition,
          status: journals[index]!.status,
          report: address(index, 'report.html'),
          journal: address(index, 'journal.json'),
        })),
      })),
    })),
  };
}

const compare: Reporter = {
  async run(journals, { runDir, drillDirs }) {
    const comparisons = buildComparisons(journals);
    if (comparisons.length === 0) return [];
    const links = drillDirs.map((dir) => href(relative(runDir, join(dir, 'report.html'))));
    return [
      await write(join(runDir, 'compare.html'), renderComparisonHtml(journals, comparisons, links)),
      await write(join(runDir, 'compare.json'), `${JSON.stringify(comparisonJson(journals, runDir, drillDirs), null, 2)}\n`),
    ];
  },
};

/**
 * `sweep.html` and `sweep.json` when drills ran as the sizes of a sweep: each size measured,
 * the model fitted per phase, and the forecast the scenario asks for — labelled a forecast.
 */
const sweep: Reporter = {
  async run(journals, { runDir, drillDirs }) {
    const sweeps = buildSweeps(journals);
    if (sweeps.length === 0) return [];
    const links = new Map(journals.map((journal, index) => [journal.drillId, href(relative(runDir, join(drillDirs[index]!, 'report.html')))]));
    const json = sweeps.map(({ scenario, strategy, drills, model, forecast, notes }) => ({
      scenario,
      strategy,
      drills: drills.map((journal) => ({ drillId: journal.drillId, size: journal.sweep!.label, status: journal.status, volume: journal.volume ?? null, rtoServiceMs: journal.measurements.rtoServiceMs, rtoVerifiedMs: journal.measurements.rtoVerifiedMs, rtoBreakdown: journal.measurements.rtoBreakdown, restoreThroughput: journal.restoreThroughput ?? null, replayThroughput: journal.replayThroughput ?? null })),
      model: model ?? null,
      forecast: forecast ?? null,
      notes,
    }));
    return [
      await write(join(runDir, 'sweep.html'), renderSweepHtml(sweeps, links)),
      await write(join(runDir, 'sweep.json'), `${JSON.stringify({ formatVersion: 1, sweeps: json }, null, 2)}\n`),
    ];
  },
};

/** Every built-in reporter, by the name a user selects it with. */
export const reporters = { html, junit, markdown, json, compare, sweep } satisfies Record<string, Reporter>;

/** The name of a built-in reporter. */
export type ReporterName = keyof typeof reporters;

/** What writeReports produced: files written, and one entry per reporter call that failed. */
export interface ReportOutcome {
  files: string[];
  errors: Array<{ reporter: string; message: string }>;
}

export interface WriteReportsOptions {
  /** Reporters to choose from instead of the built-in ones (tests inject a broken one). */
  registry?: Readonly<Record<string, Reporter>>;
  /** Environment to read GITHUB_STEP_SUMMARY from; defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Writes every selected report for a run. Each reporter call is isolated: one that throws is
 * recorded in `errors` and the others still run (a broken HTML report must not cost the CI
 * its JUnit file). `drillDirs[i]` is journals[i]'s directory, absolute or relative to runDir.
 */
export async function writeReports(
  journals: readonly Journal[],
  runDir: string,
  drillDirs: readonly string[],
  names?: readonly ReporterName[],
  options: WriteReportsOptions = {},
): Promise<ReportOutcome> {
  if (drillDirs.length !== journals.length) {
    throw new Error(`writeReports: ${journals.length} journals but ${drillDirs.length} drill directories; pass one directory per journal`);
  }
  const registry: Readonly<Record<string, Reporter>> = options.registry ?? reporters;
  const root = resolve(runDir);
  const layout: RunLayout = { runDir: root, drillDirs: drillDirs.map((dir) => resolve(root, dir)), env: options.env ?? process.env };
  const outcome: ReportOutcome = { files: [], errors: [] };
  const attempt = async (reporter: string, context: string, call: () => Promise<string[]>) => {
    try {
      outcome.files.push(...(await call()));
    } catch (error) {
      outcome.errors.push({ reporter, message: `${context}${errorMessage(error)}` });
    }
  };
  for (const name of names ?? Object.keys(registry)) {
    const reporter = registry[name];
    if (!reporter) {
      outcome.errors.push({ reporter: name, message: `unknown reporter "${name}". Known: ${Object.keys(registry).join(', ')}` });
      continue;
    }
    const { drill, run } = reporter;
    if (drill) {
      for (const [index, journal] of journals.entries()) {
        await attempt(name, `drill ${journal.drillId}: `, () => drill.call(reporter, journal, layout.drillDirs[index]!));
      }
    }
    if (run) await attempt(name, '', () => run.call(reporter, journals, layout));
  }
  return outcome;
}

/** Directories never searched for journals: dependencies and hidden folders hold none. */
const SKIP_DIRS = new Set(['node_modules']);

async function findJournalFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.') && !SKIP_DIRS.has(entry.name)) found.push(...(await findJournalFiles(path)));
    else if (entry.isFile() && entry.name === 'journal.json') found.push(path);
  }
  return found;
}

async function loadJournal(file: string): Promise<Journal> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new DrillSetupError(`cannot read journal ${file}: ${errorMessage(error)}`, 'check the path and that the file is a journal.json a drill wrote');
  }
  const version = typeof data === 'object' && data !== null ? (data as { formatVersion?: unknown }).formatVersion : undefined;
  if (version !== 1) {
    throw new DrillSetupError(`${file} is not a firedrill journal this version can read (formatVersion ${JSON.stringify(version)}, expected 1)`, 'render it with the firedrill version that wrote it');
  }
  return data as Journal;
}

/** A journal `firedrill report` read, and its drill's directory. */
export interface FoundJournal {
  journal: Journal;
  dir: string;
}

const READ_HINT = 'pass a journal.json or a run directory (reports/<run>)';

async function journalFilesAt(pathOrDir: string): Promise<string[]> {
  const path = resolve(pathOrDir);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new DrillSetupError(`no journal at ${path}: ${errorMessage(error)}`, READ_HINT);
  }
  const files = isDirectory ? (await findJournalFiles(path)).sort() : [path];
  if (files.length === 0) throw new DrillSetupError(`no journal.json under ${path}`, READ_HINT);
  return files;
}

/**
 * Finds the journals to render for `firedrill report PATH...`: each file given, and every
 * journal.json under each directory (sorted by path), in the order of the paths; a file
 * reached through two paths is read once. `dir` is each journal's directory. Every drill
 * must be there once: the same drill id twice — a shard's reports downloaded twice, shards
 * run with different totals, two runs of the same plan — is refused rather than counted
 * twice in the index, the JUnit totals and the comparisons.
 */
export async function readJournals(paths: string | readonly string[]): Promise<FoundJournal[]> {
  const files = [...new Set((await Promise.all((typeof paths === 'string' ? [paths] : paths).map(journalFilesAt))).flat())];
  const found = await Promise.all(files.map(async (file) => ({ journal: await loadJournal(file), dir: dirname(file) })));
  const seen = new Map<string, FoundJournal>();
  for (const entry of found) {
    const earlier = seen.get(entry.journal.drillId);
    if (earlier) {
      throw new DrillSetupError(
        `drill ${entry.journal.drillId} is there twice: in ${earlier.dir} (run ${earlier.journal.runId}) and in ${entry.dir} (run ${entry.journal.runId})`,
        'a report lists each drill once: leave one of the two folders out. The shards of one run never share a drill, unless they ran with different --shard totals or one was downloaded twice; to render one run again, give its own folder (reports/<run>)',
      );
    }
    seen.set(entry.journal.drillId, entry);
  }
  return found;
}

/** One run among the journals of a report: where its drills are, its shard, and its `RunRecord` if it has one. */
export interface ReportedRun {
  runId: string;
  /** The folder holding the run's drill folders. */
  dir: string;
  shard?: Shard;
  /** Its drills found, in the order read. */
  drills: string[];
  record?: RunRecord;
}

/** A drill a run's record plans and no journal of the report is of, and why that can be. */
export interface MissingDrill {
  drillId: string;
  reason: string;
}

async function readRunRecord(dir: string, runId: string): Promise<RunRecord | undefined> {
  const file = join(dir, RUN_RECORD_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // A run written before firedrill kept records, or journals copied out of their run's folder.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DrillSetupError(`cannot read ${file}: ${errorMessage(error)}`, 'check the file\'s permissions, or move it away: the report is then made without knowing which drills the run planned');
  }
  let record: RunRecord;
  try {
    record = JSON.parse(text) as RunRecord;
  } catch (error) {
    throw new DrillSetupError(`${file} is not a run record firedrill can read: ${errorMessage(error)}`, 'move it away: the report is then made without knowing which drills the run planned');
  }
  return record.formatVersion === 1 && record.runId === runId ? record : undefined;
}

/** The runs the journals of a report come from, in the order first read, with their run records. */
export async function reportedRuns(found: readonly FoundJournal[]): Promise<ReportedRun[]> {
  const runs = new Map<string, ReportedRun>();
  for (const { journal, dir } of found) {
    const runDir = dirname(dir);
    const key = JSON.stringify([journal.runId, runDir]);
    const run = runs.get(key) ?? { runId: journal.runId, dir: runDir, drills: [] };
    run.drills.push(journal.drillId);
    runs.set(key, run);
  }
  return Promise.all(
    [...runs.values()].map(async (run) => {
      const record = await readRunRecord(run.dir, run.runId);
      return record ? { ...run, ...(record.shard ? { shard: record.shard } : {}), record } : run;
    }),
  );
}

const shardName = (shard: Shard) => `${shard.index}/${shard.total}`;

/**
 * The drills the runs' records plan that no journal of the report is of: a run that stopped
 * before them (interrupted, killed), or a shard of the plan whose reports were not given —
 * the shard itself is then one of those of the plan not among the runs, as a shard with no
 * drills to run writes nothing.
 */
export function missingDrills(found: readonly FoundJournal[], runs: readonly ReportedRun[]): MissingDrill[] {
  const present = new Set(found.map(({ journal }) => journal.drillId));
  // Shards of one plan were planned from the same inputs: the same drills, in the same order.
  const plans = new Map<string, ReportedRun[]>();
  for (const run of runs) {
    if (!run.record) continue;
    const key = JSON.stringify(run.record.plan);
    plans.set(key, [...(plans.get(key) ?? []), run]);
  }
  return [...plans.values()].flatMap((group) => {
    const totals = [...new Set(group.map((run) => run.shard?.total))];
    const absent =
      totals.length === 1 && totals[0] !== undefined
        ? Array.from({ length: totals[0] }, (_, index) => ({ index: index + 1, total: totals[0]! })).filter((shard) => !group.some((run) => run.shard?.index === shard.index))
        : [];
    return group[0]!.record!.plan
      .filter((drillId) => !present.has(drillId))
      .map((drillId): MissingDrill => {
        const planned = group.find((run) => run.record!.drills.includes(drillId));
        if (planned) return { drillId, reason: `run ${planned.runId}${planned.shard ? ` (shard ${shardName(planned.shard)})` : ''} stopped before it` };
        return { drillId, reason: absent.length > 0 ? `its shard is not among the paths given (${absent.map(shardName).join(' or ')})` : 'no run among the paths given ran it' };
      });
  });
}

/**
 * Where `firedrill report` writes the reports of what it read, unless told: the folder given,
 * or, for several paths, the deepest folder that holds them all — a run's own folder, or the
 * folder the shards' reports were downloaded into — so the index's links to each drill's
 * report stay short and the folder can be kept or uploaded as one.
 */
export async function commonFolder(paths: readonly string[]): Promise<string> {
  const folders = await Promise.all(paths.map(async (path) => ((await stat(path)).isDirectory() ? resolve(path) : dirname(resolve(path)))));
  let shared = folders[0]!.split(sep);
  for (const folder of folders.slice(1)) {
    const parts = folder.split(sep);
    const differs = shared.findIndex((part, index) => parts[index] !== part);
    if (differs !== -1) shared = shared.slice(0, differs);
  }
  const folder = shared.join(sep) || sep;
  if (folder === parse(folder).root) {
    throw new DrillSetupError(`${paths.join(', ')} have no folder in common but ${folder}`, 'give the folder to write the report into with --out DIR');
  }
  return folder;
}
