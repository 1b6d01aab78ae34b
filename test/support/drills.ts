import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect, onTestFinished } from 'vitest';
import type { Journal, ObjectiveResult } from '../../src/journal/types.js';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { runDrill, type DrillOptions, type DrillOutcome } from '../../src/runner/drill.js';
import { runbookOf } from '../../src/report/runbook.js';
import { locateShortfall } from '../../src/report/format.js';
import { parseScenario } from '../../src/scenario/loader.js';

/**
 * A small drill on the built-in shop: fast enough for the suite, and long enough (≈ 2 s of
 * detection delay at 150 writes/s) that exact loss counts are far from zero.
 */
export function shopScenario(engine: 'postgres' | 'mariadb', strategy: string, fault: string, extra = ''): string {
  return `name: it-${engine}-${strategy}
target:
  engine: ${engine}
  dataset: { builtin: shop, scale: 0.2 }
workload:
  writers: 3
  rate: 150
  warmup: 1s
  resume: 0s
strategy: ${strategy}
fault:
${fault}
  at: 4s
  detectAfter: 1500ms
${extra}`;
}

/**
 * The same small drill, its fault given as flow-map fields (`kind: bad-delete, table: orders`),
 * with latent faults in the backups after it and a backup schedule when asked for.
 */
export function shopWith(
  engine: 'postgres' | 'mariadb',
  strategy: string,
  options: { incident: string; latent?: string[]; backups?: string; extra?: string; target?: string; storage?: string },
): string {
  const faults = [`{ ${options.incident}, at: 4s, detectAfter: 1500ms }`, ...(options.latent ?? []).map((latent) => `{ ${latent} }`)];
  return `name: it-${engine}-${strategy.replace(/[^\w-]+/g, '-')}
target:
  engine: ${engine}
  dataset: { builtin: shop, scale: 0.2 }${options.target ? `\n  ${options.target}` : ''}${options.storage ? `\nstorage:\n${options.storage}` : ''}
workload:
  writers: 3
  rate: 150
  warmup: 1s
  resume: 0s
strategy: ${strategy}
${options.backups ? `backups: ${options.backups}
` : ''}fault:
${faults.map((fault) => `  - ${fault}`).join('\n')}
${options.extra ?? ''}`;
}

/** Runs a drill from scenario text into a throwaway reports folder (dataset paths are relative to scenarios/). */
export async function drill(yaml: string, options: Pick<DrillOptions, 'keep' | 'hooks'> = {}): Promise<DrillOutcome> {
  const scenario = await parseScenario(yaml, join(process.cwd(), 'scenarios', 'test.yaml'));
  const runDir = await mkdtemp(join(tmpdir(), 'firedrill-test-reports-'));
  // The journal and reports are for the test to read; they go when the test ends.
  onTestFinished(() => rm(runDir, { recursive: true, force: true }));
  return runDrill(scenario, { runId: 'test', runDir, ...options });
}

/**
 * A private TMPDIR for a CLI run, so the test can prove the run left nothing in it; its run
 * registry goes beside it (`<tmp>.state`), and both are removed when the test ends.
 */
export async function privateTmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'firedrill-tmp-'));
  // Database servers run as their service user and must traverse it; they cannot write in it.
  await chmod(dir, 0o711);
  onTestFinished(() => Promise.all([rm(dir, { recursive: true, force: true }), rm(`${dir}.state`, { recursive: true, force: true })]).then(() => undefined));
  return dir;
}

/**
 * What a run left in its TMPDIR and what still runs from it. testcontainers' lock file is not
 * the run's: it is the library's lock between every process on the machine that uses it
 * (created empty, kept on purpose), like a cache.
 */
export async function leftovers(tmp: string): Promise<{ entries: string[]; processes: string[] }> {
  const entries = (await readdir(tmp)).filter((entry) => !/^testcontainers-node-\d+\.lock$/.test(entry));
  let processes: string[] = [];
  try {
    processes = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(tmp) && !line.includes('ps -eo'));
  } catch {
    processes = [];
  }
  return { entries, processes };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (npm test builds first) with its own TMPDIR (and its own run registry, beside it). */
export function cli(args: string[], options: { tmp: string; env?: Record<string, string>; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, TMPDIR: options.tmp, FIREDRILL_STATE_DIR: `${options.tmp}.state`, ...options.env };
    const child = spawn(process.execPath, ['bin/firedrill.js', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** An objective of a drill by name; fails the test when the drill did not judge it. */
export function objective(journal: Journal, name: string): ObjectiveResult {
  const found = journal.objectives.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`the drill has no objective "${name}" (it has: ${journal.objectives.map((candidate) => candidate.name).join(', ')})`);
  return found;
}

/** The restored database equals the source at the recovery point: compared, no difference. */
export function expectEqualToSource(journal: Journal, mode: 'exact' | 'without workload rows'): void {
  expect(journal.equality).toMatchObject({ mode, differences: [] });
  expect(journal.equality!.rows).toBeGreaterThan(0);
  expect(objective(journal, OBJECTIVE.equalToSource)).toMatchObject({ passed: true });
}

/**
 * A logical dump restores to its consistency point: exactly the writes acknowledged after it are
 * lost (none before), the damage is undone with the rest explained by those lost writes, and
 * the seconds of loss breach a 1 s RPO.
 */
export function expectDumpLoss({ journal, ledger }: DrillOutcome): void {
  expect(journal.errors).toEqual([]);
  const dumpUs = journal.backup!.consistentAt!.serverTimeUs!;
  const afterDump = ledger.acked.filter((write) => write.serverTimeUs > dumpUs).length;
  expect(afterDump).toBeGreaterThan(300);
  expect(journal.ledger!.lost).toBe(afterDump);
  expect(journal.ledger!.present).toBe(ledger.acked.length - afterDump);
  expect(journal.ledger!.unexpected).toBe(0);
  expect(journal.damage).toMatchObject({ undone: true });
  expect(journal.damage!.explainedByLostWrites).toBeGreaterThan(0);
  expect(journal.measurements.dataLossMs).toBeGreaterThan(2000);
  expect(journal.status).toBe('failed');
  expect(objective(journal, OBJECTIVE.dataLoss)).toMatchObject({ passed: false });
  // The dump's own snapshot is the point: every row of it must be back, exactly.
  expectEqualToSource(journal, 'exact');
}

/**
 * The responder's locate step, run against the source's own log as they would, names the
 * fault's transaction with exactly the rows it changed; the runbook starts with it and names
 * the transaction, the directories and the ports as parameters, none of this run's values.
 */
export function expectLocatedRunbook(journal: Journal): void {
  const fault = journal.fault!;
  expect(fault.located).toMatchObject({ found: fault.point.transaction, matches: true });
  expect(locateShortfall(journal)).toBeUndefined();
  expect(fault.located!.candidates[0]!.rows).toBe(fault.affectedRows);
  const runbook = runbookOf(journal);
  expect(runbook.steps[0]!.phase).toBe('locate');
  const procedure = runbook.steps.map((step) => step.command).join('\n');
  // PostgreSQL stops before the transaction, MariaDB's replay before its position.
  expect(procedure).toMatch(/\$\{BAD_(TRANSACTION|POSITION_OFFSET)\}/);
  expect(procedure).toContain('${RESTORE_PORT}');
  for (const instance of journal.instances!) {
    expect(procedure).not.toContain(instance.location);
    for (const port of instance.ports!) expect(procedure).not.toMatch(new RegExp(`\\b${port}\\b`));
  }
  for (const parameter of runbook.parameters.filter((parameter) => parameter.name.startsWith('BAD_'))) {
    expect([fault.point.transaction, fault.point.position, fault.point.position?.split(':')[1]]).toContain(parameter.value);
  }
}

/**
 * A point-in-time restore to just before the fault: exactly the writes acknowledged after the
 * fault are lost (all of them to the detection delay), nothing else, and the damage is undone.
 */
export function expectPitrLoss({ journal, ledger }: DrillOutcome): void {
  expect(journal.errors).toEqual([]);
  expect(journal.status).toBe('passed');
  const faultUs = journal.fault!.point.serverTimeUs;
  const ackedAfterFault = ledger.acked.filter((write) => write.serverTimeUs > faultUs).length;
  expect(ackedAfterFault).toBeGreaterThan(100); // ~2 s of detection delay at 150 writes/s
  expect(journal.ledger!.lostToDetection).toBe(ackedAfterFault);
  expect(journal.ledger!.lost).toBe(ackedAfterFault);
  expect(journal.ledger!.lostBeforeFault).toBe(0);
  expect(journal.ledger!.unexpected).toBe(0);
  expect(journal.damage).toMatchObject({ table: 'orders', undone: true, missingRows: 0 });
  expect(journal.damage!.affectedRows).toBeGreaterThan(2000);
  expect(journal.recovery).toMatchObject({ reached: true, point: 'fault' });
  expectEqualToSource(journal, 'exact');
}
