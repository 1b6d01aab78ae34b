import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { faults, type FaultKind } from '../faults/index.js';
import { strategies, type StrategyName } from '../strategies/index.js';
import { nearest } from '../util/suggest.js';
import { scenarioSchema, type ParsedScenario } from './schema.js';

/** A scenario problem with the place it is at: `file:line:column: message`. */
export interface ScenarioProblem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field (`fault.kind`). */
  field: string;
  message: string;
  hint?: string;
}

export class ScenarioError extends Error {
  constructor(readonly problems: ScenarioProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ScenarioError';
  }
}

export function formatProblem(problem: ScenarioProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.field ? `${problem.field}: ` : ''}${problem.message}${problem.hint ? `\n  hint: ${problem.hint}` : ''}`;
}

/** A validated scenario, defaults applied, paths resolved, ready to run. */
export type Scenario = Omit<ParsedScenario, 'strategy' | 'fault'> & {
  /** The fault block: kind, timing (ms), and the fault's own parameters. */
  fault: { kind: FaultKind; at: number; detectAfter: number } & Record<string, unknown>;
  /** Path of the file it came from (as given), or "<inline>". */
  file: string;
  /** sha256 of the normalized scenario. */
  hash: string;
  strategy: { name: StrategyName; options: Record<string, unknown> };
};

type Path = ReadonlyArray<string | number>;

class Locator {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The deepest node along `path` that exists; `key` points at the key instead of the value. */
  at(path: Path, options: { key?: string } = {}): { line: number; column: number } {
    let node = this.doc.contents as Node | null;
    for (const segment of path) {
      if (!node || !('get' in node)) break;
      const child = (node as unknown as { get(k: unknown, keep: true): Node | undefined }).get(segment, true);
      if (!child) break;
      node = child;
    }
    let offset = node?.range?.[0] ?? 0;
    if (options.key && node && isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === options.key);
      if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
    }
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  value(path: Path): unknown {
    return this.doc.getIn(path as Array<string | number>);
  }

  problem(path: Path, message: string, hint?: string, key?: string): ScenarioProblem {
    return { file: this.file, ...this.at(path, { key }), field: [...path, ...(key ? [key] : [])].join('.'), message, ...(hint ? { hint } : {}) };
  }
}

function issueProblems(issue: z.core.$ZodIssue, locator: Locator, basePath: Path = []): ScenarioProblem[] {
  const path = [...basePath, ...(issue.path as Array<string | number>)];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const known = knownKeys(path, locator);
      const guess = known ? nearest(key, known) : undefined;
      return locator.problem(path, `unknown field "${key}"${guess ? ` — did you mean "${guess}"?` : ''}`, known ? `known fields here: ${known.join(', ')}` : undefined, key);
    });
  }
  if (issue.code === 'invalid_value' || (issue.code === 'invalid_union' && 'options' in issue)) {
    const options = ((issue as { values?: unknown[]; options?: unknown[] }).values ?? (issue as { options?: unknown[] }).options ?? []).map(String);
    const actual = locator.value(path);
    const guess = typeof actual === 'string' ? nearest(actual, options) : undefined;
    const field = path[path.length - 1];
    return [
      locator.problem(
        path,
        `${actual === undefined ? 'missing' : `unknown ${String(field)} ${JSON.stringify(actual)}`}${guess ? ` — did you mean "${guess}"?` : ''}`,
        `known: ${options.join(', ')}`,
      ),
    ];
  }
  if (issue.code === 'invalid_union' && !issue.message.startsWith('Invalid input')) {
    // The schema says what it expects here better than any one alternative's complaint.
    const actual = locator.value(path);
    return [locator.problem(path, `${actual === undefined ? 'missing' : JSON.stringify(actual)}: ${issue.message}`)];
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the alternative that got furthest (fewest issues), not every alternative's complaint.
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
    return best.flatMap((inner) => issueProblems(inner, locator, path));
  }
  const actual = locator.value(path);
  const message = issue.code === 'invalid_type' && actual === undefined ? `missing required field (${issue.expected})` : issue.message;
  return [locator.problem(path, message)];
}

/** Known keys of the object at `path`, for "did you mean" on unknown fields. */
function knownKeys(path: Path, locator: Locator): string[] | undefined {
  const shapeOf = (schema: unknown): string[] | undefined => {
    let current = schema as { def?: { type: string; innerType?: unknown; in?: unknown; options?: unknown[] }; shape?: Record<string, unknown> };
    while (current?.def && ['default', 'prefault', 'optional', 'pipe', 'nullable'].includes(current.def.type)) {
      current = (current.def.innerType ?? current.def.in) as typeof current;
    }
    if (current?.shape) return Object.keys(current.shape);
    if (current?.def?.type === 'union' && current.def.options) {
      return [...new Set(current.def.options.flatMap((option) => shapeOf(option) ?? []))];
    }
    return undefined;
  };
  let schema: unknown = scenarioSchema;
  for (const segment of path) {
    const keys = shapeOf(schema);
    if (!keys) return undefined;
    let current = schema as { def?: { type: string; innerType?: unknown; in?: unknown }; shape?: Record<string, unknown> };
    while (current?.def && ['default', 'prefault', 'optional', 'pipe', 'nullable'].includes(current.def.type)) current = (current.def.innerType ?? current.def.in) as typeof current;
    schema = current.shape?.[String(segment)];
    if (segment === 'strategy') {
      const definition = strategies[locator.value(['strategy', 'name']) as StrategyName];
      if (definition) return ['name', ...Object.keys(definition.options.shape)];
    }
    if (segment === 'fault') {
      const kind = locator.value(['fault', 'kind']);
      const definition = faults[kind as keyof typeof faults];
      if (definition) return [...Object.keys(definition.params.shape), 'kind', 'at', 'detectAfter'];
    }
  }
  return shapeOf(schema);
}

/** Parses and validates scenario text; `file` is used in messages and to resolve dataset paths. */
export async function parseScenario(text: string, file: string): Promise<Scenario> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const fromHere = relative(process.cwd(), file);
  const displayFile = isAbsolute(file) && !fromHere.startsWith('..') ? fromHere || file : file;
  const locator = new Locator(displayFile, doc, lines);
  // Warnings count too: `expect: != 0` parses as a YAML tag and would silently become "0".
  if (doc.errors.length > 0 || doc.warnings.length > 0) {
    throw new ScenarioError(
      [...doc.errors, ...doc.warnings].map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        const message = error.message.split('\n')[0]!;
        const hint = /Unresolved tag/.test(message) ? 'a value starting with "!" is a YAML tag: quote it, e.g. expect: "!= 0"' : 'the file is not valid YAML (or JSON)';
        return { file: displayFile, line, column: col, field: '', message, hint };
      }),
    );
  }
  const raw = doc.toJS() as unknown;
  const result = scenarioSchema.safeParse(raw);
  if (!result.success) throw new ScenarioError(result.error.issues.flatMap((issue) => issueProblems(issue, locator)));
  const parsed = result.data;
  const problems: ScenarioProblem[] = [];

  // The strategy: a known name, for this engine, with valid options.
  const strategyRaw = typeof parsed.strategy === 'string' ? { name: parsed.strategy } : parsed.strategy;
  const strategyPath = typeof parsed.strategy === 'string' ? ['strategy'] : ['strategy', 'name'];
  const known = Object.keys(strategies);
  const definition = strategies[strategyRaw.name as StrategyName];
  let strategyOptions: Record<string, unknown> = {};
  if (!definition) {
    const guess = nearest(strategyRaw.name, known);
    problems.push(locator.problem(strategyPath, `unknown strategy "${strategyRaw.name}"${guess ? ` — did you mean "${guess}"?` : ''}`, `known: ${known.join(', ')} (firedrill list)`));
  } else {
    if (!(definition.engines as readonly string[]).includes(parsed.target.engine)) {
      const fitting = Object.values(strategies).filter((s) => (s.engines as readonly string[]).includes(parsed.target.engine)).map((s) => s.name);
      problems.push(locator.problem(strategyPath, `strategy "${definition.name}" does not work with ${parsed.target.engine}`, `strategies for ${parsed.target.engine}: ${fitting.join(', ') || 'none yet'}`));
    }
    const { name: _name, ...options } = strategyRaw as Record<string, unknown>;
    const parsedOptions = definition.options.safeParse(options);
    if (parsedOptions.success) strategyOptions = parsedOptions.data as Record<string, unknown>;
    else problems.push(...parsedOptions.error.issues.flatMap((issue) => issueProblems(issue, locator, typeof parsed.strategy === 'string' ? ['strategy'] : ['strategy'])));
    if (!definition.pointInTime && parsed.recovery.target !== 'before-fault' && parsed.recovery.target !== 'latest') {
      const pointInTime = Object.values(strategies).filter((s) => s.pointInTime && (s.engines as readonly string[]).includes(parsed.target.engine)).map((s) => s.name);
      problems.push(locator.problem(['recovery', 'target'], `strategy "${definition.name}" cannot restore to a point in time`, `use a point-in-time strategy (${pointInTime.join(', ') || `none for ${parsed.target.engine} yet`}), or target before-fault`));
    }
  }
  if (!parsed.storage.primary) {
    problems.push(locator.problem(['storage'], 'no "primary" storage location', 'add storage: { primary: { type: local } }'));
  }

  // Dataset files exist, relative to the scenario file.
  const base = dirname(resolve(file));
  if ('files' in parsed.target.dataset) {
    const files: string[] = [];
    for (const [index, path] of parsed.target.dataset.files.entries()) {
      const absolute = resolve(base, path);
      files.push(absolute);
      if (!(await access(absolute).then(() => true, () => false))) {
        problems.push(locator.problem(['target', 'dataset', 'files', index], `file not found: ${path} (looked at ${absolute})`, 'paths are relative to the scenario file'));
      }
    }
    parsed.target.dataset = { files };
  } else if (parsed.workload.statements.length > 0) {
    problems.push(locator.problem(['workload', 'statements'], 'workload statements are for file datasets; the built-in dataset writes its own', 'remove workload.statements'));
  }
  // Storage paths are relative to the scenario file, like dataset files: servers run
  // archive and restore commands from their own data directory, so a relative path would break.
  for (const location of Object.values(parsed.storage)) {
    if ('path' in location && typeof location.path === 'string') location.path = resolve(base, location.path);
  }
  if (problems.length > 0) throw new ScenarioError(problems);

  const scenario = {
    ...parsed,
    fault: parsed.fault as Scenario['fault'],
    file: displayFile,
    strategy: { name: strategyRaw.name as StrategyName, options: strategyOptions },
  };
  const { file: _file, ...hashed } = scenario;
  return { ...scenario, hash: createHash('sha256').update(JSON.stringify(hashed)).digest('hex') };
}

/** Reads and validates one scenario file. */
export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: `cannot read the scenario: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, hint: 'check the path' }]);
  }
  return parseScenario(text, file);
}
