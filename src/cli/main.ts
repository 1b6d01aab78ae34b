import { stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { engines } from '../engines/index.js';
import { faults } from '../faults/index.js';
import { consolePhaseListener, renderConsoleComparison, renderConsoleSummary, renderConsoleSweeps, renderKept } from '../report/console.js';
import { renderDrillHtml } from '../report/html.js';
import { commonFolder, comparisonJson, missingDrills, readJournals, reportedRuns, reporters, writeReports, type ReporterName } from '../report/index.js';
import { exitCodeOf, loadAll, parseShard, planDrills, runScenarios, shardDrills, type PlanOptions, type Selection, type Shard } from '../runner/run.js';
import { formatProblem, parseOverride, ScenarioError, withStrategyNames, type Override, type Scenario } from '../scenario/loader.js';
import { formatDuration } from '../util/duration.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { strategies } from '../strategies/index.js';
import { DrillSetupError, ExitCode } from '../util/errors.js';
import { firedrillVersion } from '../util/version.js';
import { doctor } from './doctor.js';
import { evidenceCommand, historyOption, keygenCommand, verifyBundleCommand, type EvidenceOptions } from './evidence.js';
import { dryRun } from './dry-run.js';
import { initCommand } from './init.js';
import { doneCommand, execCommand, gamedayCommand, markCommand, type GamedayCommandOptions } from './gameday.js';
import { interruptible } from './interrupts.js';
import { writeRunbook } from './runbook.js';
import { verifyCommand, type VerifyCommandOptions } from './verify.js';
import { BACKUP_KINDS } from '../verify/detect.js';
import { resultJson, resultJsonSchema } from './result.js';
import { parse } from './options.js';
import { retentionPlanCommand, type RetentionPlanOptions } from './retention.js';
import { findLeftovers, removeLeftovers } from '../runner/cleanup.js';
import { cacheDir, cacheEntries, dropCache } from '../providers/cache.js';

const out = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
const err = (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);

/** The incident and the faults in the backups after it: `bad-delete + wal-gap`. */
const faultKinds = (scenario: Scenario) => [scenario.fault, ...scenario.latentFaults].map((fault) => fault.kind).join(' + ');

/** `--grep` and `--set`, on every command that loads scenarios. */
interface SelectOptions {
  grep?: RegExp;
  set?: Override[];
}

interface RunCommandOptions extends SelectOptions {
  out: string;
  keep?: boolean;
  json?: boolean;
  quiet?: boolean;
  /** `run --strategy`: this strategy instead of the scenario's. */
  strategy?: string;
  logLevel?: string;
  verbose?: boolean;
  dryRun?: boolean;
  /** `--reporter`: which reports to write (default: all). */
  reporter?: ReporterName[];
  /** `--shard i/n`: only this shard's drills of the plan. */
  shard?: Shard;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/** `--verbose`, else `--log-level`, else FIREDRILL_LOG_LEVEL, else info. */
function logLevelOf(options: RunCommandOptions): string | { problem: string } {
  const level = options.verbose ? 'debug' : (options.logLevel ?? process.env.FIREDRILL_LOG_LEVEL ?? 'info');
  return LOG_LEVELS.includes(level) ? level : { problem: `FIREDRILL_LOG_LEVEL=${level} is not a log level: use one of ${LOG_LEVELS.join(', ')}` };
}

const selection = (options: SelectOptions): Selection => ({ ...(options.grep ? { grep: options.grep } : {}), ...(options.set ? { overrides: options.set } : {}) });

/** Nothing matched `--grep`: say so, with the names there are. */
async function nothingMatched(paths: readonly string[], grep: RegExp): Promise<number> {
  const all = (await loadAll(paths)).scenarios.map((scenario) => scenario.name);
  err(`no scenario matches --grep ${grep.source} in ${paths.join(', ')}${all.length > 0 ? ` (there are: ${all.join(', ')})` : ''}`);
  return ExitCode.couldNotRun;
}

/** What `compare` adds to `run`: strategies from the command line instead of the scenario's. */
interface ComparePlan extends PlanOptions {
  strategies?: string[];
}

/** Applies `--strategies` to every scenario; any problem means nothing runs. */
function applyStrategyNames(scenarios: readonly Scenario[], names: readonly string[], flag?: string): { scenarios: Scenario[]; problems: string[] } {
  const results = scenarios.map((scenario) => ({ file: scenario.file, ...withStrategyNames(scenario, names, flag) }));
  return {
    scenarios: results.flatMap((result) => (result.scenario ? [result.scenario] : [])),
    problems: results.flatMap((result) => result.problems.map((problem) => `${result.file}: ${problem}`)),
  };
}

async function runCommand(paths: string[], options: RunCommandOptions, plan: ComparePlan = {}): Promise<number> {
  const logLevel = logLevelOf(options);
  if (typeof logLevel !== 'string') {
    err(logLevel.problem);
    return ExitCode.couldNotRun;
  }
  const loaded = await loadAll(paths, selection(options));
  const { problems } = loaded;
  if (problems.length > 0) {
    if (options.json) out(resultJson({ exitCode: ExitCode.couldNotRun, command: plan.compare ? 'compare' : 'run', drills: [], comparisons: [], problems }));
    err(problems.map(formatProblem).join('\n'));
    err(`\n${problems.length} problem(s); nothing was run. Fix the scenario and run \`firedrill validate\` to check.`);
    return ExitCode.couldNotRun;
  }
  if (loaded.scenarios.length === 0) {
    if (options.grep) return nothingMatched(paths, options.grep);
    err(`no scenario files in ${paths.join(', ')} (looked for .yaml, .yml, .json)`);
    return ExitCode.couldNotRun;
  }
  let scenarios = loaded.scenarios;
  if (options.strategy) {
    const replaced = applyStrategyNames(scenarios, [options.strategy], '--strategy');
    if (replaced.problems.length > 0) {
      err(replaced.problems.join('\n'));
      err('\nnothing was run. Check the names with `firedrill list`.');
      return ExitCode.couldNotRun;
    }
    // One strategy: a drill, not a comparison.
    scenarios = replaced.scenarios.map(({ strategies: _compared, ...scenario }) => scenario);
  }
  if (plan.strategies) {
    const replaced = applyStrategyNames(scenarios, plan.strategies);
    if (replaced.problems.length > 0) {
      err(replaced.problems.join('\n'));
      err('\nnothing was run. Check the names with `firedrill list`.');
      return ExitCode.couldNotRun;
    }
    scenarios = replaced.scenarios;
  }
  if (plan.compare && !plan.strategies && (plan.repeat ?? 1) === 1) {
    const single = scenarios.filter((scenario) => !scenario.strategies || scenario.strategies.length < 2);
    if (single.length > 0) {
      err(`nothing to compare in ${single.map((scenario) => scenario.file).join(', ')}: it names one strategy.`);
      err('Pass --strategies a,b (e.g. --strategies pg-dump,pg-basebackup-wal), list strategies: in the scenario, or --repeat N to measure one strategy\'s spread.');
      return ExitCode.couldNotRun;
    }
  }

  const command = plan.compare ? 'compare' : 'run';
  const sharded = { ...plan, ...(options.shard ? { shard: options.shard } : {}) };
  const whole = planDrills(scenarios, plan);
  const drills = options.shard ? shardDrills(whole, options.shard) : whole;
  if (options.shard) {
    const { index, total } = options.shard;
    if (drills.length === 0) {
      // More shards than scenarios: this machine's share is nothing, which is not a failure.
      const filled = new Set(whole.map((drill) => drill.scenario.name)).size;
      err(`shard ${index}/${total} has nothing to run: a scenario's drills all run in one shard, and the plan's ${whole.length} drill(s) are of ${filled} scenario(s), in ${filled === 1 ? 'shard 1' : `shards 1 to ${filled}`}. Nothing was provisioned.`);
      if (options.json) out(resultJson({ exitCode: ExitCode.passed, command, shard: options.shard, drills: [], comparisons: [] }));
      return ExitCode.passed;
    }
    if (!options.quiet && !options.json) err(`shard ${index}/${total}: ${drills.length} of the plan's ${whole.length} drills`);
  }

  if (options.dryRun) {
    if (options.json) {
      const plannedDrills = drills.map(({ scenario, drillId, comparison }) => ({ drillId, scenario: scenario.name, strategy: comparison?.label ?? scenario.strategy.name, file: scenario.file }));
      out(resultJson({ exitCode: ExitCode.passed, command, ...(options.shard ? { shard: options.shard } : {}), drills: [], comparisons: [], planned: plannedDrills }));
    } else {
      out(await dryRun(scenarios, sharded, options.out));
    }
    return ExitCode.passed;
  }

  // Ctrl-C or SIGTERM: abort the drill, let cleanup run, exit 130. A second Ctrl-C exits at once.
  return interruptible('drill', err, async (signal) => {
    const { runDir, outcomes, warnings } = await runScenarios(scenarios, {
      outDir: options.out,
      keep: options.keep,
      logLevel,
      signal,
      compare: plan.compare,
      repeat: plan.repeat,
      shard: options.shard,
      onPhase: options.quiet || options.json ? undefined : consolePhaseListener(),
      onDrillStart: (scenario, drill) => {
        if (options.quiet || options.json) return;
        const comparison = drill.comparison;
        const strategy = comparison ? `${comparison.label}${comparison.repetitions > 1 ? ` run ${comparison.repetition}/${comparison.repetitions}` : ''}` : scenario.strategy.name;
        err(`\n▶ ${scenario.name} (${strategy}, ${faultKinds(scenario)}) — ${scenario.file}`);
      },
    });
    const journals = outcomes.map((outcome) => outcome.journal);
    const drillDirs = outcomes.map((outcome) => outcome.dir);
    const reports = await writeReports(journals, runDir, drillDirs, options.reporter);
    for (const warning of warnings) err(`history: ${warning}`);
    for (const failure of reports.errors) err(`report ${failure.reporter} failed: ${failure.message}`);
    if (options.json) {
      const drills = journals.map((journal, index) => ({ dir: drillDirs[index]!, status: journal.status, scenario: journal.scenario.name, strategy: journal.strategy, ...(journal.comparison ? { comparison: journal.comparison } : {}), measurements: journal.measurements, objectives: journal.objectives, errors: journal.errors }));
      const exitCode = signal.aborted ? ExitCode.interrupted : exitCodeOf(journals);
      out(resultJson({ exitCode, command, runDir, ...(options.shard ? { shard: options.shard } : {}), drills, comparisons: comparisonJson(journals, runDir, drillDirs).comparisons }));
    } else {
      err('');
      err(renderConsoleSummary(journals));
      const comparisons = renderConsoleComparison(journals);
      if (comparisons) err(comparisons);
      for (const outcome of outcomes) {
        err(`journal: ${outcome.dir}/journal.json`);
        err(`log:     ${outcome.dir}/firedrill.log (${logLevel}; --verbose or --log-level for more)`);
        if (reports.files.includes(join(outcome.dir, 'report.html'))) err(`report:  ${outcome.dir}/report.html`);
        if (outcome.journal.kept?.length) err(renderKept(outcome.journal.kept));
        if (outcome.journal.leftovers?.length) err(`teardown could not remove:\n${outcome.journal.leftovers.map((left) => `  ${left.where}: ${left.message}`).join('\n')}\nrun \`firedrill cleanup\` to remove them`);
      }
      if (outcomes.length > 1) err(`index:   ${join(runDir, 'index.html')}`);
      if (reports.files.includes(join(runDir, 'compare.html'))) err(`compare: ${join(runDir, 'compare.html')}`);
      const sweeps = renderConsoleSweeps(journals);
      if (sweeps) err(`${sweeps}\nsweep:   ${join(runDir, 'sweep.html')}`);
    }
    return signal.aborted ? ExitCode.interrupted : exitCodeOf(journals);
  });
}

interface ReportCommandOptions {
  json?: boolean;
  reporter?: ReporterName[];
  /** `--out`: where the run reports go. */
  out?: string;
}

async function reportCommand(paths: string[], options: ReportCommandOptions): Promise<number> {
  const found = await readJournals(paths);
  const runs = await reportedRuns(found);
  let reports: { files: string[]; errors: Array<{ reporter: string; message: string }> };
  let missing: ReturnType<typeof missingDrills> = [];
  if (paths.length === 1 && !options.out && !(await stat(paths[0]!)).isDirectory()) {
    // One journal: render that drill's own report. The run's index, comparison and summaries
    // describe every drill of the run, so one journal must not overwrite them.
    const file = join(found[0]!.dir, 'report.html');
    await writeFile(file, renderDrillHtml(found[0]!.journal));
    reports = { files: [file], errors: [] };
  } else {
    const outDir = resolve(options.out ?? (await commonFolder(paths)));
    reports = await writeReports(found.map((entry) => entry.journal), outDir, found.map((entry) => entry.dir), options.reporter);
    missing = missingDrills(found, runs);
  }
  // A merged report without a shard's drills must not pass for the whole run's.
  const exitCode = reports.errors.length > 0 || missing.length > 0 ? ExitCode.couldNotRun : ExitCode.passed;
  if (options.json) {
    const merged = runs.map((run) => ({ runId: run.runId, dir: run.dir, ...(run.shard ? { shard: run.shard } : {}), drills: run.drills }));
    out(resultJson({ exitCode, command: 'report', files: reports.files, errors: reports.errors.map(({ reporter, message }) => ({ reporter, message })), runs: merged, missing }));
    return exitCode;
  }
  for (const file of reports.files) out(file);
  for (const failure of reports.errors) err(`report ${failure.reporter} failed: ${failure.message}`);
  if (runs.length > 1) {
    err(`merged ${found.length} drills of ${runs.length} runs: ${runs.map((run) => `${run.runId} (${run.shard ? `shard ${run.shard.index}/${run.shard.total}, ` : ''}${run.drills.length} drill${run.drills.length === 1 ? '' : 's'})`).join(', ')}`);
  }
  if (missing.length > 0) {
    err(`${missing.length} drill(s) the runs planned have no journal among the paths given; the reports above are without them:`);
    for (const drill of missing) err(`  ${drill.drillId}: ${drill.reason}`);
  }
  return exitCode;
}

async function validateCommand(paths: string[], options: SelectOptions & { json?: boolean }): Promise<number> {
  const { scenarios, problems } = await loadAll(paths, selection(options));
  if (options.grep && scenarios.length === 0 && problems.length === 0) return nothingMatched(paths, options.grep);
  if (options.json) {
    const exitCode = problems.length > 0 || scenarios.length === 0 ? ExitCode.couldNotRun : ExitCode.passed;
    const listed = scenarios.map((scenario) => ({
      file: scenario.file,
      name: scenario.name,
      engine: scenario.target.engine,
      strategies: scenario.strategies?.map((entry) => entry.label) ?? [scenario.strategy.name],
      faults: [scenario.fault, ...scenario.latentFaults].map((fault) => fault.kind),
    }));
    out(resultJson({ exitCode, command: 'validate', scenarios: listed, problems }));
    return exitCode;
  }
  for (const scenario of scenarios) {
    const strategies = scenario.strategies?.map((entry) => entry.label).join(' vs ') ?? scenario.strategy.name;
    out(`ok  ${scenario.file}  (${scenario.target.engine}, ${strategies}, ${faultKinds(scenario)})`);
  }
  if (problems.length > 0) err(problems.map(formatProblem).join('\n'));
  if (scenarios.length === 0 && problems.length === 0) {
    err(`no scenario files in ${paths.join(', ')}`);
    return ExitCode.couldNotRun;
  }
  return problems.length > 0 ? ExitCode.couldNotRun : ExitCode.passed;
}

function listCommand(options: { json?: boolean }): number {
  if (options.json) {
    out(
      resultJson({
        exitCode: ExitCode.passed,
        command: 'list',
        strategies: Object.values(strategies).map((strategy) => ({ name: strategy.name, summary: strategy.summary, engines: [...strategy.engines], pointInTime: strategy.pointInTime, keeps: strategy.keeps })),
        faults: Object.values(faults).map((fault) => ({ kind: fault.kind, summary: fault.summary, role: fault.role })),
        engines: Object.keys(engines),
      }),
    );
    return ExitCode.passed;
  }
  out('Strategies:');
  for (const strategy of Object.values(strategies)) {
    out(`  ${strategy.name.padEnd(20)} ${strategy.summary} [${strategy.engines.join(', ')}${strategy.pointInTime ? ', point-in-time' : ''}]`);
  }
  out('\nFaults:');
  for (const fault of Object.values(faults)) out(`  ${fault.kind.padEnd(20)} ${fault.summary}`);
  out(`\nEngines: ${Object.keys(engines).join(', ')}`);
  return ExitCode.passed;
}

async function doctorCommand(options: { json?: boolean }): Promise<number> {
  const report = await doctor();
  if (options.json) {
    const { leftovers } = await findLeftovers();
    const exitCode = report.usable.length > 0 ? ExitCode.passed : ExitCode.couldNotRun;
    const found = leftovers.map((leftover) => ({ runId: leftover.runId, kind: leftover.kind, where: leftover.where }));
    out(resultJson({ exitCode, command: 'doctor', checks: report.lines, usable: report.usable, leftovers: found }));
    return exitCode;
  }
  for (const line of report.lines) out(`${line.ok ? 'ok ' : 'MISSING'} ${line.what.padEnd(28)} ${line.detail}${line.fix ? `\n        → ${line.fix}` : ''}`);
  const { leftovers } = await findLeftovers();
  if (leftovers.length > 0) {
    out(`\nleftovers of runs whose firedrill process is gone (remove them with \`firedrill cleanup\`):`);
    for (const leftover of leftovers) out(`  ${leftover.runId}  ${leftover.kind}: ${leftover.where}`);
  }
  out(`\n${report.usable.length > 0 ? `can drill: ${report.usable.join(', ')}` : 'no engine can run here: install one of the above'}`);
  return report.usable.length > 0 ? ExitCode.passed : ExitCode.couldNotRun;
}

async function cleanupCommand(options: { dryRun?: boolean; cache?: boolean }): Promise<number> {
  if (options.cache) return dropCacheCommand(options);
  const found = await findLeftovers();
  if (found.leftovers.length === 0 && found.deadRuns.length === 0) {
    out('nothing to clean up: no run left anything behind');
    return ExitCode.passed;
  }
  if (options.dryRun) {
    for (const leftover of found.leftovers) out(`would remove  ${leftover.runId}  ${leftover.kind}: ${leftover.where}`);
    return ExitCode.passed;
  }
  const results = await removeLeftovers(found);
  for (const { leftover, error } of results) out(`${error ? 'FAILED ' : 'removed'}  ${leftover.runId}  ${leftover.kind}: ${leftover.where}${error ? ` — ${error}` : ''}`);
  const failed = results.filter((result) => result.error).length;
  if (failed > 0) err(`${failed} leftover(s) could not be removed; see above`);
  return failed > 0 ? ExitCode.couldNotRun : ExitCode.passed;
}

/** `cleanup --cache`: the cluster templates and seeded data directories, which later drills make again. */
async function dropCacheCommand(options: { dryRun?: boolean }): Promise<number> {
  const entries = await cacheEntries();
  if (entries.length === 0) {
    out(`nothing to drop: the cache (${cacheDir()}) is empty`);
    return ExitCode.passed;
  }
  if (options.dryRun) {
    for (const entry of entries) out(`would remove  ${entry.kind}: ${entry.path}`);
    return ExitCode.passed;
  }
  const results = await dropCache();
  for (const result of results) out(`${result.error ? 'FAILED ' : 'removed'}  ${result.kind}: ${result.path}${result.error ? ` — ${result.error}` : ''}`);
  const failed = results.filter((result) => result.error).length;
  if (failed > 0) err(`${failed} cache entr${failed === 1 ? 'y' : 'ies'} could not be removed; see above`);
  return failed > 0 ? ExitCode.couldNotRun : ExitCode.passed;
}

/** `a,b, c`: the names, without blanks. */
function commaList(value: string): string[] {
  return value.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

function parseGrep(value: string): RegExp {
  try {
    return new RegExp(value, 'i');
  } catch (error) {
    throw new InvalidArgumentError(`not a regular expression (${(error as Error).message}); a plain word matches names that contain it.`);
  }
}

/** `--set` may be given again and again; each adds one override. */
function collectOverride(value: string, previous: Override[] = []): Override[] {
  try {
    return [...previous, parseOverride(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** `--reporter html,junit`: known reporter names only, so a typo fails before anything runs. */
function parseReporters(value: string): ReporterName[] {
  const names = commaList(value);
  const unknown = names.filter((name) => !(name in reporters));
  if (names.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`${unknown.length > 0 ? `unknown reporter ${unknown.map((name) => `"${name}"`).join(', ')}` : 'no reporter named'}; known: ${Object.keys(reporters).join(', ')} (separated by commas).`);
  }
  return names as ReporterName[];
}

const jsonOption = () => new Option('--json', 'print the machine-readable result on stdout (schema/result.schema.json)');

const reporterOption = () => new Option('--reporter <names>', `which reports to write, separated by commas (default: all: ${Object.keys(reporters).join(', ')})`).argParser(parseReporters);

/** The options of the commands that run drills. */
function running(command: Command): Command {
  return selectable(command)
    .option('--keep', 'leave instances and temp dirs running for inspection and print where they are')
    .addOption(jsonOption())
    .option('-q, --quiet', 'no progress output')
    .addOption(new Option('--log-level <level>', 'how much the drill log (firedrill.log beside the journal) records; default: FIREDRILL_LOG_LEVEL, else info').choices(LOG_LEVELS))
    .option('-v, --verbose', 'the same as --log-level debug')
    .option('-n, --dry-run', 'say what each drill would do and where, with the commands of its last passing run; provision nothing')
    .option('--shard <i/n>', 'run only the i-th of n shards of the drills (each scenario\'s drills in one shard), e.g. --shard 2/3 on the second of three machines; merge their reports with `firedrill report`', parseShardOption)
    .addOption(reporterOption());
}

/** The options every command that loads scenarios has. */
function selectable(command: Command): Command {
  return command
    .option('-g, --grep <pattern>', 'only scenarios whose name or file matches (a regular expression, case-insensitive)', parseGrep)
    .option('--set <path=value>', 'set a scenario field, e.g. --set workload.rate=50 --set fault.at=10s (repeatable; the value is read as YAML)', collectOverride);
}

const EXIT_CODES = `
Exit codes:
  0  every drill passed (validate: every scenario is valid)
  1  a drill ran to the end and breached an objective or check
  2  could not run: a scenario error, a missing tool, a crash (nothing is left behind)
  130  interrupted (Ctrl-C, SIGTERM); cleanup ran`;

const EXAMPLES = `
Examples:
  firedrill run scenarios/demo.yaml                      one drill, reports in ./reports
  firedrill run scenarios/ --grep pitr                   every scenario whose name or file says pitr
  firedrill run scenarios/pg-dump-bad-delete.yaml --strategy pg-basebackup-wal
  firedrill run scenarios/demo.yaml --set workload.rate=50 --set fault.at=10s
  firedrill compare scenarios/pg-compare.yaml --repeat 3  medians and ranges of 3 runs each
  firedrill run scenarios/ --shard 2/3 --out shard-2     the second of three machines' share of the drills
  firedrill report shard-1 shard-2 shard-3               one report of the three shards' drills
  firedrill init drill.yaml --engine mariadb             a commented scenario to start from
  firedrill validate scenarios/                          check every file, run nothing
  firedrill doctor                                       what this machine can drill
  firedrill cleanup                                      remove what a killed run left`;

function parseShardOption(value: string): Shard {
  try {
    return parseShard(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function parseRepeat(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError('give a whole number of runs per strategy, 1 or more (e.g. --repeat 3).');
  return count;
}

/** The command line. Returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code: number = ExitCode.passed;
  const program = new Command('firedrill')
    .description('Disaster-recovery drills for databases: provision, back up, break, restore, and measure RTO and RPO.')
    .version(firedrillVersion())
    .exitOverride()
    // Options after a subcommand are its own: `evidence keygen --out` is keygen's, not evidence's.
    .enablePositionalOptions()
    .configureOutput({ writeErr: err, writeOut: out });

  program.addHelpText('after', `${EXAMPLES}\n${EXIT_CODES}`);

  running(program.command('run'))
    .description('run drills from scenario files or directories of them (a scenario with a strategies: list runs each, and gets compare.html)')
    .argument('<paths...>', 'scenario files (.yaml, .yml, .json) or directories')
    .option('--strategy <name>', 'run this strategy (with its default options) instead of the scenario\'s')
    .option('--sizes <sizes>', 'sweep: run each scenario at these sizes of the built-in dataset, e.g. --sizes 256MB,1GB,4GB (the same as --set sweep.size=[…]); sweep.html fits RTO against size', commaList)
    .addOption(new Option('-o, --out <dir>', 'reports folder').default('reports'))
    .action(async (paths: string[], options: RunCommandOptions & { sizes?: string[] }) => {
      const { sizes, ...rest } = options;
      // Given as the field itself, so a bad size is reported like a bad file, naming the flag's value.
      const sweep = sizes ? [{ path: ['sweep'], value: { size: sizes }, text: `--sizes ${sizes.join(',')}` }] : [];
      code = await runCommand(paths, { ...rest, set: [...(rest.set ?? []), ...sweep] });
    });

  running(program.command('compare'))
    .description('run a scenario once per strategy (same data, load and fault) and compare them in compare.html')
    .argument('<paths...>', 'scenario files or directories')
    .option('-s, --strategies <names>', 'strategies to compare, separated by commas (default: the scenario\'s strategies: list)', commaList)
    .addOption(new Option('-r, --repeat <n>', 'run each strategy n times and compare medians and ranges').default(1).argParser(parseRepeat))
    .addOption(new Option('-o, --out <dir>', 'reports folder').default('reports'))
    .action(async (paths: string[], options: RunCommandOptions & { strategies?: string[]; repeat: number }) => {
      code = await runCommand(paths, options, { compare: true, strategies: options.strategies, repeat: options.repeat });
    });

  selectable(program.command('validate'))
    .description('check scenario files without running anything')
    .argument('<paths...>', 'scenario files or directories')
    .addOption(jsonOption())
    .action(async (paths: string[], options: SelectOptions & { json?: boolean }) => {
      code = await validateCommand(paths, options);
    });

  program
    .command('report')
    .description('render the reports (HTML, JUnit, Markdown, JSON) again from journals; given several runs (the shards of one), one report of all their drills')
    .argument('<paths...>', 'journal.json files, run directories (reports/<run>), or folders holding runs (the shards\' reports, downloaded)')
    .option('-o, --out <dir>', 'where the run reports go (default: the folder given, or the deepest folder holding every path given)')
    .addOption(jsonOption())
    .addOption(reporterOption())
    .action(async (paths: string[], options: ReportCommandOptions) => {
      code = await reportCommand(paths, options);
    });

  program
    .command('list')
    .description('list strategies, faults and engines')
    .addOption(jsonOption())
    .action((options: { json?: boolean }) => {
      code = listCommand(options);
    });

  program
    .command('doctor')
    .description('check which engines and tools this machine has, what to install, and what crashed runs left behind')
    .addOption(jsonOption())
    .action(async (options: { json?: boolean }) => {
      code = await doctorCommand(options);
    });

  program
    .command('cleanup')
    .description('remove what runs whose firedrill process died left behind: servers, containers, temp dirs (only what firedrill created)')
    .option('-n, --dry-run', 'list what would be removed, remove nothing')
    .option('--cache', 'instead: drop the cache (initialized clusters, seeded data directories of dataset.cache); drills make them again')
    .action(async (options: { dryRun?: boolean; cache?: boolean }) => {
      code = await cleanupCommand(options);
    });

  const retention = program.command('retention').description('what a retention policy keeps and costs');
  retention
    .command('plan')
    .description('simulate a backup schedule under a retention policy: backups kept, storage needed, the oldest restorable point')
    .addOption(new Option('--every <interval>', 'time between backups (1d, 6h, 1w)').default(86_400_000, '1d').argParser(parse.interval))
    .addOption(new Option('--period <span>', 'how long to simulate (365d, 52w, 3y)').default(1095, '3y').argParser(parse.days))
    .option('--keep-last <n>', 'keep the newest n backups', parse.count)
    .option('--keep-daily <n>', 'keep the newest backup of each of the n latest days', parse.count)
    .option('--keep-weekly <n>', 'keep the newest backup of each of the n latest ISO weeks', parse.count)
    .option('--keep-monthly <n>', 'keep the newest backup of each of the n latest months', parse.count)
    .option('--keep-yearly <n>', 'keep the newest backup of each of the n latest years', parse.count)
    .option('--size <bytes>', 'size of one backup (5GB, 800GB)', parse.bytes)
    .option('--from-journal <file>', 'take the backup size a drill measured (a journal.json)')
    .option('--log-per-day <bytes>', 'WAL or binlog archived per day, kept from the oldest kept backup on', parse.bytes)
    .option('--html <file>', 'also write the plan as an HTML page with a chart')
    .action(async (options: RetentionPlanOptions) => {
      code = await retentionPlanCommand(options, out, err);
    });

  program
    .command('verify')
    .description("restore a team's own backup into a throwaway server and prove it restores: integrity, expected tables, freshness, checks, inventory, named findings")
    .argument('<backup...>', 'a pg_dump file (custom or plain), a pg_dump --format=directory dump, a pg_dumpall file, a mysqldump file, SQL files in restore order, a base backup (directory or tar), a pgBackRest repository, or a mariadb-backup directory')
    .option('-f, --verification <file>', 'a verification file: tables and their fewest rows, freshness, checks, objectives, findings to ignore (docs/verify.md)')
    .option('--newest', 'of the backups under the path or s3:// prefix given, verify the newest (the latest modified)')
    .option('--s3-endpoint <url>', 'an S3-compatible endpoint for an s3:// backup (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)')
    .option('--s3-path-style', 'address the bucket in the path (MinIO and most S3-compatible servers)')
    .option('--s3-ca-file <pem>', 'a CA certificate to trust for the endpoint')
    .addOption(new Option('--kind <kind>', 'what the backup is, when its files do not say').choices([...BACKUP_KINDS]))
    .option('--wal <dir>', "a base backup's WAL archive: the directory its archive_command copies into, or an s3:// prefix of it (read only)")
    .option('--stanza <name>', "a pgBackRest repository's stanza (default: its only one)")
    .option('--binlogs <dir>', 'binlogs to replay onto a mariadb-backup, from its position on: a directory, or an s3:// prefix (read only)')
    .option('--target-time <time>', 'recover to this time, e.g. 2026-01-10T02:00:00Z (a base backup or pgBackRest: recovery_target_time; binlogs: --stop-datetime)')
    .option('--target-xid <xid>', 'recover to this transaction (PostgreSQL)')
    .option('--target-lsn <lsn>', 'recover to this WAL position (PostgreSQL)')
    .option('--database <name>', 'the database of a physical backup to check (default: its first)')
    .option('--provider <name>', 'where the restore runs (default local; docker for a dump of a version not installed here)')
    .option('--image <image>', "the container image to restore into with --provider docker (default: the engine's official image of the backup's version)")
    .option('--name <name>', 'the source\'s name in reports and history (default: the file name)')
    .option('--set <path=value>', 'set a field of the verification, e.g. --set tables.orders=1000 --set freshness.maxAge=26h (repeatable)', collectOverride)
    .addOption(new Option('-o, --out <dir>', 'reports folder').default('reports'))
    .option('--notify-webhook-env <variable>', 'POST the result as JSON to the URL in this environment variable')
    .option('--notify-slack-env <variable>', 'post the result to the Slack incoming webhook whose URL is in this environment variable')
    .addOption(new Option('--notify-on <when>', 'notify on a failed or errored verification only, or on every run').choices(['failure', 'always']).default('failure'))
    .option('--metrics-file <file.prom>', 'write Prometheus metrics for the node-exporter textfile collector')
    .option('--pushgateway <url>', 'push Prometheus metrics to this Pushgateway')
    .option('-q, --quiet', 'no progress output')
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ firedrill verify backups/app.dump --set tables.orders=1000\n  $ firedrill verify s3://backups/app/ --newest -f verify.yaml --json\n  $ firedrill verify /backups/base/2026-01-10 --wal /backups/wal --target-time 2026-01-10T06:00:00Z\n  $ firedrill verify /var/lib/pgbackrest --stanza main\n  $ firedrill verify /backups/mariadb/full --binlogs /backups/binlogs\n\nExit codes: 0 verified, 1 a finding, 2 could not verify.\n')
    .action(async (paths: string[], options: VerifyCommandOptions & { quiet?: boolean; json?: boolean }) => {
      let result: Awaited<ReturnType<typeof verifyCommand>>;
      try {
        result = await verifyCommand(paths, { ...options, ...(options.quiet || options.json ? {} : { onPhase: consolePhaseListener() }) });
      } catch (error) {
        if (!(error instanceof ScenarioError)) throw error;
        err(error.problems.map(formatProblem).join('\n'));
        code = ExitCode.couldNotRun;
        return;
      }
      const { record, dir, exitCode, lastVerified, delivered } = result;
      if (options.json) {
        out(resultJson({ exitCode, command: 'verify', name: record.name, kind: record.kind, status: record.status, restoreMs: record.restoreMs, dataAgeMs: record.dataAgeMs ?? null, findings: record.findings, errors: record.errors, dir, delivered, ...(lastVerified ? { lastVerified } : {}) }));
      } else {
        const label = { passed: 'VERIFIED', failed: 'FAILED', error: 'ERROR' }[record.status];
        err(`${record.name} (${record.kind}): ${label}${record.restoreMs === null ? '' : `, restored in ${formatDuration(record.restoreMs)}`}`);
        for (const finding of record.findings) err(`  ${finding.ignored ? '-' : '✗'} ${finding.code}: ${finding.message}${finding.ignored ? ` (ignored: ${finding.ignored})` : ''}`);
        for (const error of record.errors) err(`  ✗ ${error.phase}: ${error.message}${error.hint ? `\n    hint: ${error.hint}` : ''}`);
        for (const outcome of delivered) err(`  ${outcome.status === 'failed' ? '!' : '·'} ${outcome.sink} ${outcome.target}: ${outcome.status}${'reason' in outcome ? ` — ${outcome.reason}` : ''}`);
        err(`last verified: ${lastVerified ?? 'never'}`);
        err(`report:  ${record.report}`);
      }
      code = exitCode;
    });

  program
    .command('runbook')
    .description('write the restore procedure of the newest passing drill of a scenario as a versioned Markdown file, with parameters for an incident\'s own values')
    .argument('<scenario>', 'the scenario file')
    .addOption(new Option('-o, --out <dir>', 'reports folder the drills wrote into').default('reports'))
    .option('--output <file>', 'the Markdown file to write (default: runbooks/<scenario name>.md)')
    .option('--param <NAME=value>', 'put a value in place of ${NAME}, e.g. --param RESTORE_DIR=/srv/pg/restore (repeatable)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--set <path=value>', 'set a scenario field, as on run (the runbook is of the drill the scenario so changed names)', collectOverride)
    .addOption(jsonOption())
    .addHelpText('after', '\nExample:\n  $ firedrill run scenarios/demo.yaml && firedrill runbook scenarios/demo.yaml\n')
    .action(async (file: string, options: { out: string; output?: string; param?: string[]; set?: Override[]; json?: boolean }) => {
      const written = await writeRunbook(file, { outDir: options.out, ...(options.output ? { output: options.output } : {}), ...(options.param ? { params: options.param } : {}), ...(options.set ? { overrides: options.set } : {}) });
      if (options.json) out(resultJson({ exitCode: ExitCode.passed, command: 'runbook', ...written }));
      else out(`${written.file}: version ${written.version}${written.changed ? '' : ' (procedure unchanged)'}, from the drill that passed on ${written.lastPassingDrill} (${written.journal})`);
      code = ExitCode.passed;
    });

  const gameday = program
    .command('gameday')
    .description('rehearse an incident with a team: the drill runs to the fault, the team recovers with its own tools while firedrill keeps the clock, then measures what they restored')
    .argument('<scenario>', 'the scenario file (one strategy)')
    .addOption(new Option('-o, --out <dir>', 'reports folder (the runbook shown is the newest passing drill\'s there)').default('reports'))
    .option('--hidden [window]', 'do not announce the fault: it strikes at a random moment up to WINDOW (default 2m) after fault.at, and detecting it is part of the exercise', parse.duration)
    .option('--withhold-runbook', 'show the runbook only when the team asks for it (the asking is recorded)')
    .addOption(new Option('--time-limit <duration>', 'from the fault, how long the team has to declare a database restored; then the game day ends as not recovered').default(30 * 60_000, '30m').argParser(parse.duration))
    .option('--port <port>', "the page's port on 127.0.0.1 (default: any free one)", parse.port)
    .option('--set <path=value>', 'set a scenario field, as on run (repeatable)', collectOverride)
    .option('--keep', 'leave the instances running afterwards (firedrill cleanup removes them)')
    .option('-q, --quiet', 'no progress output')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      '\nThe team, from another shell (the game day prints its address; $FIREDRILL_GAMEDAY holds it for several at once):\n  $ firedrill gameday mark "detected"\n  $ firedrill gameday exec -- pg_restore --create --dbname=postgres -h 127.0.0.1 -p PORT …\n  $ firedrill gameday done --restored spare\n\nExit codes: as for run: 0 recovered within every objective, 1 an objective missed or not recovered in time, 2 could not run, 130 interrupted.\n',
    )
    .action(async (file: string, options: GamedayCommandOptions) => {
      code = await gamedayCommand(file, options, out, err);
    });
  gameday
    .command('mark')
    .description('mark a moment of the running game day ("detected", "decided to restore", "restore started", or your own words)')
    .argument('<label>', 'what happened')
    .option('--url <address>', 'the game day\'s address with its token (default: $FIREDRILL_GAMEDAY, else the one running)')
    .action(async (label: string, options: { url?: string }) => {
      code = await markCommand(label, options, out);
    });
  gameday
    .command('exec')
    .description('run a command of the recovery and record it in the game day: what, when, how long, its exit code (which it exits with)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--step <n>', 'the runbook step it carries out (default: matched by its shape)', parse.count)
    .option('--url <address>', 'the game day\'s address with its token')
    .passThroughOptions()
    .action(async (argv: string[], options: { url?: string; step?: number }) => {
      code = await execCommand(argv, options);
    });
  gameday
    .command('done')
    .description('declare a database restored: firedrill points the workload at it, verifies it, and prints the verdict')
    .requiredOption('--restored <instance|uri>', 'an instance of the game day by name (spare, source) or a connection URI on this machine')
    .option('--url <address>', 'the game day\'s address with its token')
    .addOption(jsonOption())
    .action(async (options: { url?: string; restored: string; json?: boolean }) => {
      code = await doneCommand(options, out, err);
    });

  const evidence = program
    .command('evidence')
    .description("sign one bundle of run folders' journals, reports, scenarios, versions, runbooks and history for auditors, with an index mapping drills to the controls that ask for tested restores")
    .argument('<paths...>', 'run directories (reports/<run>) or drill directories, as for `firedrill report`')
    .option('-o, --out <bundle>', 'the bundle\'s folder; BUNDLE.tar.gz is written beside it (default: evidence-<date>-<time>)')
    .option('--key <file>', 'the Ed25519 private key (PEM) that signs it (default: the PEM text in $FIREDRILL_EVIDENCE_KEY)')
    .addOption(historyOption())
    .addOption(jsonOption())
    .addHelpText('after', '\nExamples:\n  $ firedrill evidence keygen --out evidence-key.pem\n  $ firedrill evidence reports/2026* --key evidence-key.pem --out audit-2026q4\n  $ firedrill evidence verify audit-2026q4.tar.gz --public-key evidence-key.pub.pem\n\nverify exits 0 when the bundle is intact, 1 when a file was changed, added or removed or the signature fails (each named), 2 when there is no bundle to check.\n')
    .action(async (paths: string[], options: EvidenceOptions) => {
      code = await evidenceCommand(paths, options, out);
    });
  evidence
    .command('verify')
    .description("check a bundle: every file's sha256 against the manifest, nothing missing or added, the manifest's signature")
    .argument('<bundle>', "the bundle's folder or its .tar.gz")
    .option('--public-key <file>', "the signer's public key (PEM) as published; default: the one in the bundle, which proves only that whoever made it signed it")
    .addOption(jsonOption())
    .action(async (bundle: string, options: { publicKey?: string; json?: boolean }) => {
      code = await verifyBundleCommand(bundle, options, out, err);
    });
  evidence
    .command('keygen')
    .description('make an Ed25519 key pair to sign bundles with (FILE and FILE.pub.pem; never over an existing file)')
    .addOption(new Option('-o, --out <file>', 'the private key file').default('evidence-key.pem'))
    .addOption(jsonOption())
    .action(async (options: { out: string; json?: boolean }) => {
      code = await keygenCommand(options, out);
    });

  program
    .command('init')
    .description('write a commented scenario to start from, for the engine, strategy and fault you name (valid as written)')
    .argument('[file]', 'where to write it', 'drill.yaml')
    .addOption(new Option('-e, --engine <engine>', 'database engine').choices(Object.keys(engines)).default('postgres'))
    .option('-s, --strategy <name>', 'backup strategy (default: the engine\'s point-in-time one)')
    .option('-f, --fault <kind>', 'what goes wrong (default: bad-delete; kill-primary for your own SQL without --table)')
    .option('--dataset <files>', 'your own SQL files, separated by commas (default: the built-in shop dataset)', commaList)
    .option('--table <name>', 'the table a table fault damages (default: orders of the shop dataset)')
    .option('--force', 'replace the file if it exists')
    .action(async (file: string, options: { engine: string; strategy?: string; fault?: string; dataset?: string[]; table?: string; force?: boolean }) => {
      const { dataset, ...rest } = options;
      code = await initCommand(file, { ...rest, ...(dataset ? { files: dataset } : {}) }, out, err);
    });

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editor completion), or with --result of what --json prints')
    .option('--result', 'the schema of the --json result of every command')
    .action((options: { result?: boolean }) => {
      out(JSON.stringify(options.result ? resultJsonSchema() : scenarioJsonSchema(), null, 2));
    });

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.passed : ExitCode.couldNotRun;
    }
    // A problem the user can fix is said in words; a stack is for firedrill's own bugs.
    if (error instanceof DrillSetupError) {
      err(`firedrill: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`);
      return ExitCode.couldNotRun;
    }
    err(`firedrill: ${(error as Error).stack ?? String(error)}`);
    return ExitCode.couldNotRun;
  }
  return code;
}
