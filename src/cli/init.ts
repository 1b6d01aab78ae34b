import { access, mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineName } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import type { IncidentDefinition } from '../faults/fault.js';
import { faults } from '../faults/index.js';
import { formatProblem, parseScenario, ScenarioError } from '../scenario/loader.js';
import { strategiesFor } from '../strategies/index.js';
import { ExitCode } from '../util/errors.js';

export interface InitOptions {
  engine: string;
  strategy?: string;
  fault?: string;
  /** SQL files to load instead of the built-in shop dataset. */
  files?: string[];
  /** The table a table fault damages (default for the shop dataset: orders). */
  table?: string;
  force?: boolean;
}

// The package's own JSON Schema, wherever firedrill is installed: src/cli or dist/src/cli → schema/.
const SCHEMA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', ...(import.meta.url.includes('/dist/') ? ['..'] : []), 'schema', 'scenario.schema.json');

/** The scenario text `firedrill init` writes: every field a first drill needs, each with a comment saying what it does. */
export function scenarioTemplate(file: string, options: InitOptions): { text: string } | { problem: string } {
  const engine = options.engine as EngineName;
  if (!(engine in engines)) return { problem: `unknown engine "${options.engine}"; firedrill drills ${Object.keys(engines).join(', ')}` };
  const forEngine = strategiesFor(engine);
  const strategyName = options.strategy ?? forEngine.find((candidate) => candidate.pointInTime && candidate.keeps === 'backups' && !candidate.tools)?.name;
  const strategy = forEngine.find((candidate) => candidate.name === strategyName);
  if (!strategy) return { problem: `strategy "${strategyName}" does not work with ${engine}; strategies for ${engine}: ${forEngine.map((candidate) => candidate.name).join(', ')}` };
  const kind = options.fault ?? (options.files && !options.table ? 'kill-primary' : 'bad-delete');
  const fault = faults[kind as keyof typeof faults] as IncidentDefinition | undefined;
  if (!fault || fault.role !== 'incident') {
    return { problem: `"${kind}" is not a fault that starts an incident; choose one of ${Object.values(faults).filter((candidate) => candidate.role === 'incident').map((candidate) => candidate.kind).join(', ')}` };
  }
  const wantsTable = 'table' in fault.params.shape;
  const table = options.table ?? (options.files ? undefined : 'orders');
  if (wantsTable && !table) return { problem: `fault ${kind} damages a table: name it with --table (one your SQL files create)` };
  const name = basename(file, extname(file)).replace(/[^\w-]+/g, '-');
  const target = fault.defaultTarget;
  const schema = relative(dirname(resolve(file)), SCHEMA);
  const dataset: [string, string] = options.files
    ? [`  dataset: { files: [${options.files.join(', ')}] }`, 'SQL files loaded in order (paths relative to this file)']
    : ['  dataset: { builtin: shop, scale: 1 }', 'generated: 1,000 customers, 10,000 orders; raise scale for more'];
  // Each line, and what it does: the comments line up in one column (a field left out is commented out).
  const lines: Array<string | [string, string]> = [
    `# yaml-language-server: $schema=${schema}`,
    `# ${fault.summary}; recovered with ${strategy.name}: ${strategy.summary}.`,
    '# Check it with `firedrill validate` and run it with `firedrill run`; every field is',
    '# described in the JSON Schema named above (editors complete and check it) and in docs/scenarios.md.',
    `name: ${name}`,
    `description: ${kind} recovered with ${strategy.name}`,
    'target:',
    `  engine: ${engine}`,
    ['  # provider: auto', 'local binaries, docker containers, or auto (local when installed)'],
    [`  # version: "${engine === 'postgres' ? '16' : '10.11'}"`, 'quoted; default: the newest installed'],
    dataset,
    'workload:',
    ['  writers: 4', 'connections writing rows the drill keeps a ledger of'],
    ['  rate: 200', 'writes per second in total, or max'],
    ['  warmup: 2s', 'load before the first backup'],
    [`strategy: ${strategy.name}`, '`firedrill list` shows every strategy'],
    ['# backups: { count: 2, every: 5s }', 'more than one backup during the workload'],
    'fault:',
    [`  kind: ${kind}`, '`firedrill list` shows every fault'],
    ...(wantsTable ? [`  table: ${table}`] : []),
    ['  at: 8s', 'after the workload starts'],
    ['  detectAfter: 3s', 'until someone notices: writes meanwhile are "lost to detection"'],
    'recovery:',
    [`  target: ${target}`, 'before-fault, latest, or a time ("2s before the fault")'],
    'objectives:',
    ['  rto: 60s', 'fault → the restored database passed every check'],
    [`  rpo: ${target === 'before-fault' ? '1s' : '5s'}`, 'data lost, as time'],
    ['  # checks:', 'SQL run on the restored database, one value each'],
    `  #   - name: ${table ?? 'rows'} are back`,
    `  #     sql: SELECT count(*) FROM ${table ?? 'your_table'}`,
    '  #     expect: "> 0"',
    '',
  ];
  const width = Math.max(...lines.map((line) => (typeof line === 'string' ? 0 : line[0].length))) + 2;
  return { text: lines.map((line) => (typeof line === 'string' ? line : `${line[0].padEnd(width)}# ${line[1]}`)).join('\n') };
}

/** `firedrill init FILE`: writes a commented scenario, valid as written, and never over an existing file. */
export async function initCommand(file: string, options: InitOptions, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const made = scenarioTemplate(file, options);
  if ('problem' in made) {
    err(`firedrill init: ${made.problem}`);
    return ExitCode.couldNotRun;
  }
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists && !options.force) {
    err(`firedrill init: ${file} exists; nothing was written (choose another name, or --force to replace it)`);
    return ExitCode.couldNotRun;
  }
  try {
    // What it writes must load: a template that does not validate is firedrill's bug, and said so.
    await parseScenario(made.text, file);
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    err(`firedrill init: the scenario would not be valid, so nothing was written:\n${error.problems.map(formatProblem).join('\n')}`);
    return ExitCode.couldNotRun;
  }
  await mkdir(dirname(resolve(file)), { recursive: true });
  await writeFile(file, made.text);
  out(`wrote ${file}\nnext: firedrill validate ${file}\n      firedrill run ${file}`);
  return ExitCode.passed;
}
