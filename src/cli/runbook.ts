import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { runbookMarkdown, runbookOf } from '../report/runbook.js';
import { lastPassing } from '../runner/history.js';
import { loadScenario, type Override } from '../scenario/loader.js';
import { DrillSetupError } from '../util/errors.js';
import { firedrillVersion } from '../util/version.js';

export interface RunbookOptions {
  /** The reports folder the drills wrote into. */
  outDir: string;
  /** Where to write the Markdown file (default: runbooks/<scenario>.md). */
  output?: string;
  /** `NAME=value`: an incident's own values put in place of `${NAME}`. */
  params?: readonly string[];
  overrides?: readonly Override[];
}

export interface RunbookWritten {
  file: string;
  scenario: string;
  version: number;
  changed: boolean;
  lastPassingDrill: string;
  journal: string;
  parameters: Array<{ name: string; value: string }>;
}

/** `NAME=value` pairs, each NAME one of the runbook's parameters: a typo is refused, never silently left in. */
function parseParams(params: readonly string[], known: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const param of params) {
    const at = param.indexOf('=');
    const name = at > 0 ? param.slice(0, at) : '';
    if (!known.includes(name)) {
      throw new DrillSetupError(`--param ${param}: ${name ? `"${name}" is not a parameter of this runbook` : 'expected NAME=value'}`, `its parameters: ${known.join(', ') || 'none'}`);
    }
    values.set(name, param.slice(at + 1));
  }
  return values;
}

/**
 * `firedrill runbook SCENARIO`: the restore procedure of the newest passing drill of the
 * scenario in the reports folder, as a versioned Markdown file. Only a passing drill makes a
 * runbook: a procedure that did not work is not one to follow.
 */
export async function writeRunbook(file: string, options: RunbookOptions): Promise<RunbookWritten> {
  const scenario = await loadScenario(file, options.overrides);
  const last = await lastPassing(options.outDir, scenario.name);
  if (!last) {
    throw new DrillSetupError(
      `no passing drill of "${scenario.name}" in ${options.outDir}/: a runbook is the procedure of a drill that passed`,
      `run \`firedrill run ${file}\` (with --out ${options.outDir} if it is not the default), then write the runbook again`,
    );
  }
  const output = resolve(options.output ?? join('runbooks', `${scenario.name}.md`));
  const previous = await readFile(output, 'utf8').catch(() => undefined);
  const known = runbookOf(last.journal).parameters.map((parameter) => parameter.name);
  const values = parseParams(options.params ?? [], known);
  const written = runbookMarkdown(last.journal, { firedrill: firedrillVersion(), generatedAt: new Date().toISOString(), journalPath: relative(process.cwd(), last.path) }, previous);
  let text = written.text;
  for (const [name, value] of values) text = text.replaceAll(`\${${name}}`, value);
  await mkdir(dirname(output), { recursive: true });
  await writeFile(output, text, 'utf8');
  return {
    file: output,
    scenario: scenario.name,
    version: written.version,
    changed: written.changed,
    lastPassingDrill: last.journal.finishedAt,
    journal: last.path,
    parameters: known.map((name) => ({ name, value: values.get(name) ?? `\${${name}}` })),
  };
}
