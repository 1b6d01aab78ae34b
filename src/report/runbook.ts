import { createHash } from 'node:crypto';
import type { Journal } from '../journal/types.js';
import type { CommandRecord } from '../util/exec.js';
import { formatDuration } from '../util/duration.js';

/** A value of this drill that a real incident has its own of: a directory, a port, the bad transaction. */
export interface RunbookParameter {
  /** Written `${NAME}` in the commands. */
  name: string;
  meaning: string;
  /** What it was in the drill. */
  value: string;
  /** Put in only right after this text (an offset a tool takes as `--stop-position=N`), not wherever the number appears. */
  after?: string;
}

/** The restore path as a procedure: the drill's commands with its values made parameters. */
export interface Runbook {
  parameters: RunbookParameter[];
  /** The restore path, in the order the commands began, with `${NAME}` for each parameter. */
  steps: CommandRecord[];
  /** Every other command (provisioning, loading, backups, teardown), as it ran: firedrill's set-up, not the responder's procedure. */
  others: CommandRecord[];
}

/**
 * The commands a responder runs after a fault, in the order they began: everything the drill
 * executed from the fault on (locate, archive, fetch, restore, start, replay, ...), except the
 * fault's own commands, firedrill's own work (phases not counted in the RTO: a latent fault
 * injected) and teardown. Derived from the timeline, not a list of phase names, so a
 * strategy's own phases show up.
 */
export function restorePathCommands(journal: Journal): Journal['commands'] {
  const faultAt = journal.fault?.atMs;
  if (faultAt === undefined) return [];
  const own = new Set(journal.phases.filter((phase) => phase.notCounted).map((phase) => phase.name));
  return journal.commands
    .filter((command) => command.startedAtMs >= faultAt && command.phase !== 'fault' && command.phase !== 'teardown' && !own.has(command.phase))
    .sort((a, b) => a.startedAtMs - b.startedAtMs);
}

const paramName = (name: string, suffix: string) => `${name.replace(/\W+/g, '_').toUpperCase()}_${suffix}`;

/**
 * The values of this run a responder replaces with their own, most specific first: the bad
 * transaction and its position, each instance's home and port, each storage location, the
 * run's temp directory. A value two instances share (a container's default port) names
 * neither, so it stays as it is.
 */
export function runbookParameters(journal: Journal): RunbookParameter[] {
  const found: RunbookParameter[] = [];
  const point = journal.fault?.point;
  const named = journal.fault?.located?.found;
  if (named ?? point?.transaction) {
    // Without a name from the step, the drill's value is the fault's own: firedrill knew it, a responder would not.
    const meaning = named || !journal.fault?.located ? 'the transaction to stop before: the one the locate step names' : 'the transaction to stop before (the locate step named none; in the drill, the fault\'s own)';
    found.push({ name: 'BAD_TRANSACTION', meaning, value: (named ?? point?.transaction)! });
  }
  if (point?.position && journal.recovery?.target === 'before-fault') {
    found.push({ name: 'BAD_POSITION', meaning: "where the bad transaction is in the server's log (the locate step prints it)", value: point.position });
    // A position may be `file:offset`; a replay tool takes the offset alone.
    const offset = /^[^:/]+:(\d+)$/.exec(point.position)?.[1];
    if (offset) found.push({ name: 'BAD_POSITION_OFFSET', meaning: "the bad transaction's offset in its log file (the locate step prints file:offset): where a replay stops", value: offset, after: '-position=' });
  }
  const ports = new Map<number, number>();
  for (const instance of journal.instances ?? []) for (const port of instance.ports ?? []) ports.set(port, (ports.get(port) ?? 0) + 1);
  for (const instance of journal.instances ?? []) {
    const directory = instance.location.startsWith('/');
    found.push({ name: paramName(instance.name, directory ? 'DIR' : 'HOST'), meaning: `where the ${instance.name} server runs (${directory ? 'its data directory is data/ inside' : 'a container'})`, value: instance.location });
    for (const [index, port] of (instance.ports ?? []).entries()) {
      if (ports.get(port) !== 1) continue;
      found.push({ name: paramName(instance.name, index === 0 ? 'PORT' : `PORT_${index + 1}`), meaning: `the port the ${instance.name} server listens on${index === 0 ? '' : ` (start ${index + 1})`}`, value: String(port) });
    }
  }
  for (const location of journal.storage ?? []) {
    found.push({ name: paramName(location.name, 'STORAGE'), meaning: `where storage "${location.name}" keeps the backups (${location.type}, region ${location.region})`, value: location.address });
  }
  const dirs = found.filter((parameter) => parameter.value.startsWith('/')).map((parameter) => parameter.value);
  const common = commonDirectory(dirs);
  if (common && common.split('/').length > 2) found.push({ name: 'WORK_DIR', meaning: "the drill's own directory: scratch space for the restore", value: common });
  return found;
}

/** The deepest directory every path is in. */
function commonDirectory(paths: readonly string[]): string | undefined {
  if (paths.length < 2) return undefined;
  const split = paths.map((path) => path.split('/'));
  const parts: string[] = [];
  for (let index = 0; split.every((segments) => index < segments.length - 1 && segments[index] === split[0]![index]); index++) parts.push(split[0]![index]!);
  return parts.length > 1 ? parts.join('/') : undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Puts `${NAME}` in place of each value. Longer values first, so a directory inside another
 * is named by its own parameter. A path where a path component ends; anything else only as a
 * whole word (a port never inside a longer number), or only after its `after` text.
 */
export function parameterise(command: string, parameters: readonly RunbookParameter[]): string {
  let text = command;
  for (const { name, value, after } of [...parameters].sort((a, b) => b.value.length - a.value.length)) {
    const escaped = escapeRegExp(value);
    const pattern = after
      ? `(?<=${escapeRegExp(after)})${escaped}(?![\\w-])`
      : value.startsWith('/')
        ? `${escaped}(?=[/\\s'"]|$)`
        : `(?<![\\w-])${escaped}(?![\\w-])`;
    text = text.replace(new RegExp(pattern, 'g'), `\${${name}}`);
  }
  return text;
}

export function runbookOf(journal: Journal): Runbook {
  const parameters = runbookParameters(journal);
  const restorePath = restorePathCommands(journal);
  const steps = restorePath.map((command) => ({ ...command, command: parameterise(command.command, parameters) }));
  const others = journal.commands.filter((command) => !restorePath.includes(command)).sort((a, b) => a.startedAtMs - b.startedAtMs);
  // A parameter the procedure does not name is noise.
  const named = parameters.filter((parameter) => steps.some((command) => command.command.includes(`\${${parameter.name}}`)));
  return { parameters: named, steps, others };
}

/** What the runbook file says about where it came from: the scenario, the drill that last passed it. */
export interface RunbookOrigin {
  firedrill: string;
  generatedAt: string;
  /** The reports folder's path to the journal the procedure is taken from. */
  journalPath: string;
}

function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((match) => match[0].length));
  return `${'`'.repeat(longest + 1)}sh\n${text}\n${'`'.repeat(longest + 1)}`;
}

function stepLine(command: CommandRecord, index: number, journal: Journal): string {
  const faultAt = journal.fault?.atMs ?? 0;
  const exit = command.background ? 'runs in the background' : command.exitCode === 0 ? 'exit 0' : `exit ${command.exitCode ?? command.signal ?? '?'}`;
  const body = command.step ? command.command : fence(command.command);
  const head = `${index + 1}. **${command.phase}**${command.user ? ` (as ${command.user})` : ''}: fault +${formatDuration(Math.max(0, command.startedAtMs - faultAt))}, took ${formatDuration(command.durationMs)}, ${exit}`;
  return `${head}\n\n${body.replace(/^/gm, '   ')}\n`;
}

/** What the located step found, in words a responder reads before they restore. */
function locatedNote(journal: Journal): string | undefined {
  const located = journal.fault?.located;
  if (!located) return undefined;
  const top = located.candidates[0];
  if (!top) return `The locate step found no transaction that made a ${located.change} on ${journal.fault?.table} in ${located.searched}: find it by hand before you restore, in the archived log if the server's own no longer reaches back.`;
  return `The locate step prints each transaction that made a ${located.change} on \`${journal.fault?.table}\`, with its rows, position and commit time. Pick the one at the incident's time with the most rows (in the drill: ${top.transaction}, ${top.rows} rows, committed ${top.committed}${located.matches ? ', the bad one' : ', **not** the fault\'s transaction: check by hand'}) and put what it prints in place of the \`BAD_\` parameters.`;
}

/** The body of the runbook file: everything but its header, so a new version is told by content. */
function runbookBody(journal: Journal): string {
  const runbook = runbookOf(journal);
  const { measurements: m } = journal;
  const objectives = journal.objectives.map((objective) => `- ${objective.passed ? '✓' : '✗'} ${objective.name}: ${objective.measured} (target ${objective.target})`);
  const parameters = runbook.parameters.map((parameter) => `| \`${parameter.name}\` | ${parameter.meaning} | \`${parameter.value}\` |`);
  return [
    `# Runbook: ${journal.scenario.name}`,
    '',
    `${journal.scenario.description ? `${journal.scenario.description}\n\n` : ''}Recovery from **${journal.faultKind}** with **${journal.strategy}** on ${journal.engine}${journal.instances?.[0] ? ` ${journal.instances[0].version}` : ''}, target ${journal.recovery?.target ?? 'none'}: ${journal.recovery?.method ?? 'no recovery ran'}.`,
    '',
    '## Parameters',
    '',
    "Put your incident's values in place of each `${NAME}` (the last column is the drill's).",
    '',
    '| Parameter | Meaning | In the drill |',
    '| --- | --- | --- |',
    ...parameters,
    '',
    '## Procedure',
    '',
    ...(locatedNote(journal) ? [locatedNote(journal)!, ''] : []),
    ...runbook.steps.map((command, index) => stepLine(command, index, journal)),
    '## What proves it worked',
    '',
    `In the drill: service back ${m.rtoServiceMs === null ? 'never' : `after ${formatDuration(m.rtoServiceMs)}`}, verified after ${m.rtoVerifiedMs === null ? 'never' : formatDuration(m.rtoVerifiedMs)}; these were judged:`,
    '',
    ...objectives,
    '',
  ].join('\n');
}

/** The version line of a runbook file firedrill wrote, and the hash of its body. */
function previousVersion(text: string | undefined): { version: number; bodyHash: string } | undefined {
  const version = /^version: (\d+)$/m.exec(text ?? '')?.[1];
  const bodyHash = /^procedure-sha256: ([0-9a-f]{64})$/m.exec(text ?? '')?.[1];
  return version && bodyHash ? { version: Number(version), bodyHash } : undefined;
}

/**
 * The runbook as a Markdown file, from the newest passing drill of a scenario: a header
 * (front matter) with its version and where it came from, then the procedure. The version goes
 * up when the procedure changed since `previous` (the file as it was), and stays when only
 * the drill's date did, so a diff in review shows what a responder would do differently.
 */
export function runbookMarkdown(journal: Journal, origin: RunbookOrigin, previous?: string): { text: string; version: number; changed: boolean } {
  const body = runbookBody(journal);
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const before = previousVersion(previous);
  const changed = before?.bodyHash !== bodyHash;
  const version = before ? before.version + (changed ? 1 : 0) : 1;
  const header = [
    '---',
    `scenario: ${journal.scenario.name}`,
    `scenario-file: ${journal.scenario.file}`,
    `scenario-sha256: ${journal.scenario.hash}`,
    `version: ${version}`,
    `procedure-sha256: ${bodyHash}`,
    `last-passing-drill: ${journal.finishedAt}`,
    `drill-journal: ${origin.journalPath}`,
    `generated: ${origin.generatedAt}`,
    `firedrill: ${origin.firedrill}`,
    '---',
    '',
    `> Version ${version}. Last drilled and **passed** on ${journal.finishedAt.slice(0, 10)} (run ${journal.runId}). A procedure not drilled since it changed is not known to work: run \`firedrill run ${journal.scenario.file}\` and write this again with \`firedrill runbook\`.`,
    '',
    '',
  ].join('\n');
  return { text: `${header}${body}`, version, changed };
}
