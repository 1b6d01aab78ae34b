import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ShopDataset } from '../datasets/shop.js';
import type { FaultApplicability, FaultDefinition, IncidentDefinition } from '../faults/fault.js';
import { faults, type FaultKind } from '../faults/index.js';
import { providers, type ProviderName } from '../providers/index.js';
import type { Provider } from '../providers/provider.js';
import { serverWrites, SPOOL, storageTypes, type LocationOptions } from '../storage/index.js';
import { strategies, strategiesFor, type StrategyName } from '../strategies/index.js';
import { nearest } from '../util/suggest.js';
import { SCENARIO_ALTERNATIVES, scenarioSchema, type ParsedScenario } from './schema.js';

/** A scenario problem with the place it is at: `file:line:column: message`. */
export interface ScenarioProblem {
  file: string;
  /** Where in the file; absent when the value came from a flag and the file has no such field. */
  line?: number;
  column?: number;
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
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column}`;
  return `${where}: ${problem.field ? `${problem.field}: ` : ''}${problem.message}${problem.hint ? `\n  hint: ${problem.hint}` : ''}`;
}

/** A strategy to run: its name and its options, defaults applied. */
export interface StrategyChoice {
  name: StrategyName;
  options: Record<string, unknown>;
}

/** One entry of a `strategies:` list. */
export interface StrategyEntry extends StrategyChoice {
  /** The strategy's name, or `pg-dump (jobs=4)` when the list has the same strategy with other options too. */
  label: string;
}

/** The incident of a scenario: kind, timing (ms), and the fault's own parameters. */
export type IncidentSpec = { kind: FaultKind; at: number; detectAfter: number } & Record<string, unknown>;
/** A latent fault in the backups: kind and the fault's own parameters. */
export type LatentSpec = { kind: FaultKind } & Record<string, unknown>;

/** A validated scenario, defaults applied, paths resolved, ready to run. */
export type Scenario = Omit<ParsedScenario, 'strategy' | 'strategies' | 'fault' | 'recovery'> & {
  /** The incident: the fault that takes the service down or damages data. */
  fault: IncidentSpec;
  /** Faults in the stored backups, injected after the incident and found when restoring. */
  latentFaults: LatentSpec[];
  /** The recovery target, defaulted from the incident (before a logical fault, the latest otherwise). */
  recovery: { target: string; method: ParsedScenario['recovery']['method'] };
  /** Path of the file it came from (as given), or "<inline>". */
  file: string;
  /** sha256 of the normalized scenario, as run with `strategy` (a `strategies:` list is not part of it). */
  hash: string;
  /** The strategy a drill of this scenario runs; with a `strategies:` list, its first entry. */
  strategy: StrategyChoice;
  /** The `strategies:` list, when the scenario has one: each entry runs the same drill, and the drills are compared. */
  strategies?: StrategyEntry[];
};

type Path = ReadonlyArray<string | number>;

export class Locator {
  constructor(
    /** The file as messages name it. */
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly overrides: readonly Override[] = [],
    /** The overrides that replaced a value the file has: a problem with one is placed there. */
    private readonly inFile: ReadonlySet<Override> = new Set(),
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
    const field = [...path, ...(key ? [key] : [])];
    // A value from the command line has no place in the file: the message names the flag.
    const set = this.overrides.find((override) => override.path.every((segment, index) => String(field[index]) === String(segment)));
    const place = set && !this.inFile.has(set) ? {} : this.at(path, { key });
    return { file: this.file, ...place, field: field.join('.'), message: set ? `${message} (from ${set.text})` : message, ...(hint ? { hint } : {}) };
  }
}

function issueProblems(issue: z.core.$ZodIssue, locator: Locator, basePath: Path = [], schema: z.ZodType = scenarioSchema): ScenarioProblem[] {
  const path = [...basePath, ...(issue.path as Array<string | number>)];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const known = knownKeys(path, locator, schema);
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
    // Report the alternative that got furthest (fewest issues), not every alternative's complaint;
    // one the value is not even the type of (an object where a list could be) is no candidate.
    const wrongType = (errors: z.core.$ZodIssue[]) => errors.length === 1 && errors[0]!.code === 'invalid_type' && errors[0]!.path.length === 0;
    const candidates = issue.errors.some((errors) => !wrongType(errors)) ? issue.errors.filter((errors) => !wrongType(errors)) : issue.errors;
    const best = [...candidates].sort((a, b) => a.length - b.length)[0]!;
    return best.flatMap((inner) => issueProblems(inner, locator, path, schema));
  }
  const actual = locator.value(path);
  const message = issue.code === 'invalid_type' && actual === undefined ? `missing required field (${issue.expected})` : issue.message;
  return [locator.problem(path, message)];
}

/** Known keys of the object at `path`, for "did you mean" on unknown fields. */
function knownKeys(path: Path, locator: Locator, root: z.ZodType = scenarioSchema): string[] | undefined {
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
  let schema: unknown = root;
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
      const index = path[path.indexOf(segment) + 1];
      const kind = locator.value(typeof index === 'number' ? ['fault', index, 'kind'] : ['fault', 'kind']);
      const definition = faults[kind as keyof typeof faults];
      if (definition) return [...Object.keys(definition.params.shape), 'kind', ...(definition.role === 'incident' ? ['at', 'detectAfter'] : [])];
    }
  }
  return shapeOf(schema);
}

/** A field set from the command line (`--set workload.rate=50`): its path in the scenario, and the value as YAML reads it. */
export interface Override {
  path: Array<string | number>;
  value: unknown;
  /** The flag as typed (`--set workload.rate=50`, `--sizes 256MB,1GB`), for messages. */
  text: string;
}

/**
 * `workload.rate=50`, `fault.at=10s`, `strategy={ name: pgbackrest, schedule: [full, incr] }`:
 * the path is dot-separated (a number indexes a list), the value is read as YAML, so a number
 * stays a number and a flow mapping or list is one.
 */
export function parseOverride(text: string): Override {
  const at = text.indexOf('=');
  const path = at > 0 ? text.slice(0, at).split('.') : [];
  if (at <= 0 || path.some((part) => !/^[\w-]+$/.test(part))) {
    throw new Error(`--set ${text}: write it as path=value, the path's fields separated by dots (workload.rate=50, fault.at=10s, backups.count=3)`);
  }
  const doc = parseDocument(text.slice(at + 1));
  if (doc.errors.length > 0) throw new Error(`--set ${text}: the value is not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); quote it if it is text`);
  return { path: path.map((part) => (/^\d+$/.test(part) ? Number(part) : part)), value: doc.toJS() as unknown, text: `--set ${text}` };
}

/**
 * Parses YAML (or JSON) text against a schema, each problem named at its file:line:column with
 * a hint, as scenario files are; `--set` overrides are applied first. Scenario files and
 * verification files share it. `alternatives` are pairs of fields that say one thing two ways
 * (a size or a scale): an override of one replaces the other where the file gives it, as a
 * flag meant to.
 */
export function parseLocated<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  overrides: readonly Override[] = [],
  alternatives: ReadonlyArray<readonly [string, string]> = [],
): { data: z.infer<S>; locator: Locator } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const fromHere = relative(process.cwd(), file);
  const displayFile = isAbsolute(file) && !fromHere.startsWith('..') ? fromHere || file : file;
  const locator = new Locator(displayFile, doc, lines, overrides, new Set(overrides.filter((override) => doc.hasIn(override.path))));
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
  const overridden = (path: ReadonlyArray<string | number>) => overrides.some((override) => override.path.length === path.length && override.path.every((part, index) => part === path[index]));
  for (const { path } of overrides) {
    const key = path[path.length - 1];
    for (const pair of alternatives) {
      if (!pair.includes(key as string)) continue;
      const sibling = [...path.slice(0, -1), pair[0] === key ? pair[1] : pair[0]];
      if (doc.hasIn(sibling) && !overridden(sibling)) doc.deleteIn(sibling);
    }
  }
  for (const override of overrides) doc.setIn(override.path, override.value);
  const result = schema.safeParse(doc.toJS() as unknown);
  if (!result.success) throw new ScenarioError(result.error.issues.flatMap((issue) => issueProblems(issue, locator, [], schema)));
  return { data: result.data, locator };
}

/**
 * Parses and validates scenario text; `file` is used in messages and to resolve dataset paths.
 * `overrides` are set into it first, and validated with the rest.
 */
export async function parseScenario(text: string, file: string, overrides: readonly Override[] = []): Promise<Scenario> {
  const { data: parsed, locator } = parseLocated(text, file, scenarioSchema, overrides, SCENARIO_ALTERNATIVES);
  const problems: ScenarioProblem[] = [];
  const faultSet = resolveFaults(parsed, locator, problems);

  // The strategy, or the list of strategies: known names, for this engine, with valid options.
  let strategyList: StrategyEntry[] | undefined;
  let strategy: StrategyChoice | undefined;
  if (parsed.strategy !== undefined && parsed.strategies !== undefined) {
    problems.push(locator.problem([], 'both strategy and strategies are set', 'a scenario runs one strategy or a list of them to compare: move the strategy into the strategies list', 'strategies'));
  } else if (parsed.strategies !== undefined) {
    const resolved = parsed.strategies.map((raw, index) => resolveStrategy(raw, ['strategies', index], parsed, faultSet, locator));
    problems.push(...resolved.flatMap((entry) => entry.problems));
    const choices = resolved.map((entry) => entry.choice);
    if (choices.every((choice): choice is StrategyChoice => choice !== undefined)) {
      const labelled = labelStrategies(choices);
      if (labelled.duplicate !== undefined) {
        problems.push(locator.problem(['strategies', labelled.duplicate], `${choices[labelled.duplicate]!.name} is listed twice with the same options`, 'give each entry different options, or use `firedrill compare --repeat N` to run a strategy several times'));
      } else {
        strategyList = labelled.entries;
        strategy = { name: choices[0]!.name, options: choices[0]!.options };
      }
    }
  } else if (parsed.strategy !== undefined) {
    const resolved = resolveStrategy(parsed.strategy, ['strategy'], parsed, faultSet, locator);
    problems.push(...resolved.problems);
    strategy = resolved.choice;
  } else {
    problems.push(locator.problem([], 'missing required field', `add strategy: NAME, or strategies: [NAME, NAME] to compare several. Known: ${Object.keys(strategies).join(', ')}`, 'strategy'));
  }
  if (!parsed.storage.primary) {
    problems.push(locator.problem(['storage'], 'no "primary" storage location', 'add storage: { primary: { type: local } }'));
  }
  const chosen = providers[parsed.target.provider as ProviderName] as Provider | undefined;
  if (parsed.target.image && chosen && !chosen.runsImages) {
    const runsImages = Object.values(providers).filter((provider) => provider.runsImages).map((provider) => provider.name);
    problems.push(locator.problem(['target', 'image'], `provider "${chosen.name}" runs the binaries on this machine, not container images`, `remove target.image, or set target.provider to ${runsImages.join(' or ')} (or auto)`));
  }
  for (const [name, location] of Object.entries(parsed.storage) as Array<[string, LocationOptions]>) {
    const from = location.copy?.from;
    if (from === undefined) continue;
    const origin = parsed.storage[from] as LocationOptions | undefined;
    if (!origin || from === name) {
      problems.push(locator.problem(['storage', name, 'copy', 'from'], `"${from}" is not another storage location`, `locations: ${Object.keys(parsed.storage).join(', ')}`));
    } else if (origin.copy) {
      problems.push(locator.problem(['storage', name, 'copy', 'from'], `"${from}" is itself a copy; copy from the location the backups are written to`, 'copy from primary'));
    }
  }

  // A sweep changes the built-in dataset's size; a forecast is made from a sweep's model.
  if (parsed.sweep) {
    if ('files' in parsed.target.dataset) problems.push(locator.problem(['sweep'], 'a sweep sizes the built-in dataset, and this scenario loads its own files', 'drill your own data at one size, or sweep with target.dataset: { builtin: shop }'));
    if (parsed.strategies) problems.push(locator.problem(['sweep'], 'a sweep runs one strategy at several sizes, and this scenario lists strategies to compare', 'sweep one strategy per scenario (strategy: NAME), or compare at one size'));
  } else if (parsed.forecast) {
    problems.push(locator.problem(['forecast'], 'a forecast is made from a sweep, and this scenario has none', 'add sweep: { size: [256MB, 1GB, 4GB] } (or run with --sizes 256MB,1GB,4GB) so the drill is measured at several sizes'));
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
    parsed.target.dataset = { ...parsed.target.dataset, files };
  } else if (parsed.workload.statements.length > 0) {
    problems.push(locator.problem(['workload', 'statements'], 'workload statements are for file datasets; the built-in dataset writes its own', 'remove workload.statements'));
  }
  // Storage paths are relative to the scenario file, like dataset files: servers run
  // archive and restore commands from their own data directory, so a relative path would break.
  for (const location of Object.values(parsed.storage)) {
    if ('path' in location && typeof location.path === 'string') location.path = resolve(base, location.path);
  }
  if (problems.length > 0 || !strategy || !faultSet) throw new ScenarioError(problems);

  const { strategies: _list, ...rest } = parsed;
  const scenario: Scenario = { ...rest, ...faultSet, file: locator.file, strategy, hash: '' };
  return { ...scenario, hash: scenarioHash(scenario), ...(strategyList ? { strategies: strategyList } : {}) };
}

/**
 * sha256 of the scenario as run: every field but the file's path, with its one strategy and
 * not the `strategies:` list, so a drill of pg-dump has the same hash whether the file named
 * pg-dump alone or in a list. Keys go in schema order, so the hash never depends on how the
 * object was assembled.
 */
function scenarioHash(scenario: Scenario): string {
  const fields: Record<string, unknown> = scenario;
  const normalized = Object.fromEntries(
    Object.keys(scenarioSchema.shape)
      .filter((key) => key !== 'strategies' && fields[key] !== undefined)
      .map((key) => [key, fields[key]]),
  );
  return createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}

/** The scenario as it runs with one strategy: `strategy` set, no list, its own hash. */
export function withStrategy(scenario: Scenario, choice: StrategyChoice): Scenario {
  const { strategies: _list, ...rest } = scenario;
  const single: Scenario = { ...rest, strategy: { name: choice.name, options: choice.options } };
  return { ...single, hash: scenarioHash(single) };
}

/**
 * The scenario with its strategies replaced by `names` (`firedrill compare --strategies a,b`),
 * checked as the file's list is: a known name (with a suggestion), for the scenario's engine,
 * able to reach its recovery target. Options stay at their defaults; options per entry go in
 * the file's `strategies:` list. Problems are messages for the command line.
 */
export function withStrategyNames(scenario: Scenario, names: readonly string[], flag = '--strategies'): { scenario?: Scenario; problems: string[] } {
  const problems: string[] = [];
  const choices: StrategyChoice[] = [];
  for (const name of names) {
    const objections = strategyObjections(name, scenario, scenario);
    problems.push(...objections.map((objection) => `${flag}: ${objection.message}${objection.hint ? `\n  hint: ${objection.hint}` : ''}`));
    const defaults = objections.length === 0 ? strategies[name as StrategyName].options.safeParse({}) : undefined;
    if (defaults?.success) choices.push({ name: name as StrategyName, options: defaults.data as Record<string, unknown> });
    else if (defaults) problems.push(`${flag}: strategy "${name}" needs options\n  hint: list it with its options in the scenario's strategies: list instead`);
  }
  if (names.length === 0) problems.push(`${flag}: no strategy named; list them separated by commas, e.g. ${flag} pg-dump,pg-basebackup-wal`);
  if (problems.length > 0) return { problems };
  const labelled = labelStrategies(choices);
  if (labelled.duplicate !== undefined) {
    return { problems: [`${flag}: ${names[labelled.duplicate]} is listed twice\n  hint: use --repeat N to run a strategy several times`] };
  }
  return { scenario: { ...withStrategy(scenario, choices[0]!), strategies: labelled.entries }, problems: [] };
}

/** Why a strategy cannot run here: where the objection points (its name, the recovery target, a fault) and what to do. */
interface StrategyObjection {
  at: 'name' | 'recovery.target' | 'recovery.method' | 'backups' | `storage.${string}` | { fault: number | undefined };
  message: string;
  hint?: string;
}

/** The faults of a scenario as the loader resolved them, and where each came from in the file. */
interface FaultSet {
  fault: IncidentSpec;
  latentFaults: LatentSpec[];
  recovery: Scenario['recovery'];
  /** Index in the `fault:` list of the incident and of each latent fault; undefined when `fault:` is one fault. */
  places: { incident: number | undefined; latent: Array<number | undefined> };
}

/** What the strategy checks need of a scenario, parsed or loaded. */
type DrillShape = Pick<ParsedScenario, 'target' | 'backups' | 'storage'>;

/** What stands in the way of running strategy `name` in this drill; empty when nothing does. */
function strategyObjections(name: string, drill: DrillShape, faultSet: Pick<FaultSet, 'fault' | 'latentFaults' | 'recovery'> & { places?: FaultSet['places'] }): StrategyObjection[] {
  const engine = drill.target.engine;
  const recoveryTarget = faultSet.recovery.target;
  const definition = strategies[name as StrategyName];
  if (!definition) {
    const known = Object.keys(strategies);
    const guess = nearest(name, known);
    return [{ at: 'name', message: `unknown strategy "${name}"${guess ? ` — did you mean "${guess}"?` : ''}`, hint: `known: ${known.join(', ')} (firedrill list)` }];
  }
  const objections: StrategyObjection[] = [];
  const forEngine = strategiesFor(engine);
  if (!(definition.engines as readonly string[]).includes(engine)) {
    objections.push({ at: 'name', message: `strategy "${definition.name}" does not work with ${engine}`, hint: `strategies for ${engine}: ${forEngine.map((s) => s.name).join(', ') || 'none yet'}` });
  }
  if (!definition.pointInTime && recoveryTarget !== 'before-fault' && recoveryTarget !== 'latest') {
    const pointInTime = forEngine.filter((s) => s.pointInTime).map((s) => s.name);
    objections.push({
      at: 'recovery.target',
      message: `strategy "${definition.name}" cannot restore to a point in time`,
      hint: `use a point-in-time strategy (${pointInTime.join(', ') || `none for ${engine} yet`}), or target before-fault`,
    });
  }
  if (definition.keeps === 'standby' && faultSet.recovery.method !== 'auto') {
    objections.push({ at: 'recovery.method', message: `strategy "${definition.name}" recovers by failing over to its standby, not by ${faultSet.recovery.method === 'restart' ? 'restarting the old primary' : 'restoring a backup'}`, hint: 'leave recovery.method out (auto), or choose a backup strategy' });
  }
  if (definition.keeps === 'standby' && drill.backups.count > 1) {
    objections.push({ at: 'backups', message: `strategy "${definition.name}" keeps one standby; there is nothing to take ${drill.backups.count} times`, hint: 'leave backups out, or choose a backup strategy to schedule several backups' });
  }
  if (definition.ownCatalog && drill.backups.retention) {
    objections.push({ at: 'backups', message: `strategy "${definition.name}" keeps its own catalog of backups, which deleting its files from outside would break`, hint: 'leave backups.retention out: the backup tool expires its own backups' });
  }
  const primary = drill.storage.primary as LocationOptions | undefined;
  // An archive (WAL, binlogs) goes through a spool where primary cannot take it; a tool's own repository cannot.
  const written = definition.serverWrites;
  if (definition.archive && primary && !serverWrites(primary) && drill.storage[SPOOL]) {
    objections.push({ at: `storage.${SPOOL}`, message: `storage "${SPOOL}" is the name of the spool the server archives into before its files are uploaded to "primary" (${primary.type})`, hint: 'give this location another name' });
  }
  const native = primary && !primary.encryption && definition.nativeStorage?.includes(primary.type);
  if (written && primary && !serverWrites(primary) && !native) {
    const writable = [...Object.keys(storageTypes).filter((type) => serverWrites({ type } as LocationOptions)), ...(definition.nativeStorage ?? [])];
    const what = primary.encryption ? `${primary.type}, encrypted` : primary.type;
    objections.push({
      at: primary.encryption ? 'storage.primary.encryption' : 'storage.primary.type',
      message: `strategy "${definition.name}" has the server write ${written} into storage "primary" itself, and "primary" (${what}) is not a place a server can write files into`,
      hint: `make primary a plain ${writable.join(' or ')} location (the archive host), and keep the off-site copy ${primary.encryption ? 'encrypted' : `in ${primary.type}`}: storage.offsite: { type: ${primary.type}, ..., copy: { from: primary } }`,
    });
  }
  const incident = faults[faultSet.fault.kind] as IncidentDefinition;
  const restarts = definition.keeps === 'backups' && incident.leaves === 'stopped' && faultSet.recovery.method !== 'restore';
  if (restarts && faultSet.latentFaults.length > 0) {
    objections.push({
      at: { fault: faultSet.places?.latent[0] },
      message: `${faultSet.latentFaults.map((latent) => latent.kind).join(', ')} break${faultSet.latentFaults.length === 1 ? 's' : ''} the stored backups, but after ${faultSet.fault.kind} this drill restarts the server on its own data, which reads no backup`,
      hint: 'set recovery.method: restore, to recover from the broken backups',
    });
  }
  const applicability: FaultApplicability = {
    strategy: definition,
    backups: drill.backups.count,
    region: drill.target.region,
    storage: (Object.entries(drill.storage) as Array<[string, LocationOptions]>).map(([location, options]) => ({ name: location, region: options.region, ...(options.copy ? { copyOf: options.copy.from } : {}) })),
  };
  const specs = [
    { spec: faultSet.fault as Record<string, unknown> & { kind: string }, place: faultSet.places?.incident },
    ...faultSet.latentFaults.map((spec, index) => ({ spec: spec as Record<string, unknown> & { kind: string }, place: faultSet.places?.latent[index] })),
  ];
  for (const { spec, place } of specs) {
    const fault = faults[spec.kind as FaultKind] as FaultDefinition;
    const refusal = fault.refuse?.(applicability, spec as never);
    if (refusal) objections.push({ at: { fault: place }, message: refusal });
  }
  return objections;
}

/** Tables of the built-in dataset, known before anything is provisioned. */
const BUILTIN_TABLES: Record<string, readonly string[]> = { shop: ShopDataset.tables };

/**
 * Splits `fault:` into the incident and the latent faults, checks each against what can be known
 * before provisioning (exactly one incident, a built-in table that exists, a recovery method the
 * incident allows), and derives the default recovery target from the incident.
 */
function resolveFaults(parsed: ParsedScenario, locator: Locator, problems: ScenarioProblem[]): FaultSet | undefined {
  const list = (Array.isArray(parsed.fault) ? parsed.fault : [parsed.fault]) as Array<Record<string, unknown> & { kind: FaultKind }>;
  const pathOf = (index: number): Path => (Array.isArray(parsed.fault) ? ['fault', index] : ['fault']);
  const incidents = list.map((spec, index) => ({ spec, index })).filter(({ spec }) => faults[spec.kind].role === 'incident');
  const incidentKinds = Object.values(faults).filter((fault) => fault.role === 'incident').map((fault) => fault.kind);
  if (incidents.length !== 1) {
    problems.push(
      locator.problem(['fault'], incidents.length === 0 ? 'no incident: the faults listed only damage the backups, and nothing makes the drill restore them' : `${incidents.length} incidents listed; a drill has one`, `one of ${incidentKinds.join(', ')}, plus any latent faults (wal-gap, binlog-gap, corrupt-backup, missing-backup)`),
    );
    return undefined;
  }
  const dataset = parsed.target.dataset;
  const known = 'builtin' in dataset ? BUILTIN_TABLES[dataset.builtin] : undefined;
  for (const [index, spec] of list.entries()) {
    if (known && typeof spec.table === 'string' && !known.includes(spec.table)) {
      const guess = nearest(spec.table, known);
      problems.push(locator.problem([...pathOf(index), 'table'], `the built-in dataset has no table "${spec.table}"${guess ? ` — did you mean "${guess}"?` : ''}`, `its tables: ${known.join(', ')}`));
    }
  }
  const { spec: incident, index: incidentIndex } = incidents[0]!;
  const definition = faults[incident.kind] as IncidentDefinition;
  if (parsed.recovery.method === 'restart' && definition.leaves !== 'stopped') {
    problems.push(locator.problem(['recovery', 'method'], `restart needs a fault that leaves the server able to start again, and ${incident.kind} does not`, 'use restore (from backups), or a kill-primary fault'));
  }
  const latent = list.map((spec, index) => ({ spec, index })).filter(({ spec }) => faults[spec.kind].role === 'latent');
  const place = (index: number) => (Array.isArray(parsed.fault) ? index : undefined);
  return {
    fault: incident as IncidentSpec,
    latentFaults: latent.map(({ spec }) => spec as LatentSpec),
    recovery: { target: parsed.recovery.target ?? definition.defaultTarget, method: parsed.recovery.method },
    places: { incident: place(incidentIndex), latent: latent.map(({ index }) => place(index)) },
  };
}

/** Checks one `strategy` value (or list entry) at `path`: name, engine, options, recovery target, the faults it meets. */
function resolveStrategy(
  raw: NonNullable<ParsedScenario['strategy']>,
  path: Path,
  parsed: ParsedScenario,
  faultSet: FaultSet | undefined,
  locator: Locator,
): { choice?: StrategyChoice; problems: ScenarioProblem[] } {
  const { name, ...given } = typeof raw === 'string' ? { name: raw } : (raw as { name: string } & Record<string, unknown>);
  const namePath = typeof raw === 'string' ? path : [...path, 'name'];
  const where = (at: StrategyObjection['at']): Path =>
    at === 'name' ? namePath : typeof at === 'string' ? (at.split('.') as Path) : at.fault === undefined ? ['fault', 'kind'] : ['fault', at.fault, 'kind'];
  const problems = faultSet ? strategyObjections(name, parsed, faultSet).map((objection) => locator.problem(where(objection.at), objection.message, objection.hint)) : [];
  const definition = strategies[name as StrategyName];
  if (!definition) return { problems };
  const options = definition.options.safeParse(given);
  if (!options.success) return { problems: [...problems, ...options.error.issues.flatMap((issue) => issueProblems(issue, locator, path))] };
  return { choice: { name: name as StrategyName, options: options.data as Record<string, unknown> }, problems };
}

/**
 * Labels list entries: the strategy's name, and where a name comes more than once, the options
 * that tell its entries apart (`pg-dump (jobs=1)`, `pg-dump (jobs=4)`). `duplicate` is the index
 * of an entry identical to an earlier one: two drills of it would be repetitions, not entries.
 */
function labelStrategies(choices: readonly StrategyChoice[]): { entries: StrategyEntry[]; duplicate?: number } {
  const signature = (choice: StrategyChoice) => JSON.stringify([choice.name, choice.options]);
  const duplicate = choices.findIndex((choice, index) => choices.findIndex((other) => signature(other) === signature(choice)) !== index);
  if (duplicate >= 0) return { entries: [], duplicate };
  const entries = choices.map((choice) => {
    const siblings = choices.filter((other) => other.name === choice.name);
    if (siblings.length === 1) return { ...choice, label: choice.name };
    const differing = Object.keys(choice.options).filter((key) => siblings.some((other) => JSON.stringify(other.options[key]) !== JSON.stringify(choice.options[key])));
    return { ...choice, label: `${choice.name} (${differing.map((key) => `${key}=${JSON.stringify(choice.options[key])}`).join(', ')})` };
  });
  return { entries };
}

/** Reads and validates one scenario file. */
export async function loadScenario(file: string, overrides: readonly Override[] = []): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError([{ file, field: '', message: `cannot read the scenario: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, hint: 'check the path' }]);
  }
  return parseScenario(text, file, overrides);
}
