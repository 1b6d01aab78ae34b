import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { CHECK_PREFIX, OBJECTIVE } from '../../src/measure/verdict.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = ['passed', 'breached', 'error', 'failover', 'broken-chain'] as const;
const text = (name: string) => readFileSync(join(ROOT, 'test/fixtures/journals', `${name}.json`), 'utf8');
const load = (name: string): Journal => JSON.parse(text(name)) as Journal;

describe('journal fixtures', () => {
  // The fixtures stand in for real journals in every reporter test, so they must be Journals
  // to the compiler, not just to a cast: each is pasted as an object literal into a
  // `const x: Journal = ...` declaration, which also catches misspelled (excess) fields.
  it('type-check as Journal object literals', () => {
    const file = join(ROOT, 'test/fixtures/journals/fixtures.typecheck.ts');
    const source = [
      `import type { Journal } from '../../../src/journal/types.js';`,
      ...FIXTURES.map((name) => `export const ${name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase())}: Journal = ${text(name)};`),
    ].join('\n');
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
    };
    const host = ts.createCompilerHost(options);
    const { getSourceFile, fileExists, readFile } = host;
    host.getSourceFile = (name, version, ...rest) =>
      name === file ? ts.createSourceFile(name, source, version) : getSourceFile.call(host, name, version, ...rest);
    host.fileExists = (name) => name === file || fileExists.call(host, name);
    host.readFile = (name) => (name === file ? source : readFile.call(host, name));
    const program = ts.createProgram([file], options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
    expect(diagnostics.map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))).toEqual([]);
  }, 30_000);

  it('tell the stories their names promise', () => {
    const passed = load('passed');
    expect(passed.status).toBe('passed');
    expect(passed.objectives.every((objective) => objective.passed)).toBe(true);

    const breached = load('breached');
    expect(breached.status).toBe('failed');
    expect(breached.objectives.find((objective) => objective.name === OBJECTIVE.rtoService)?.passed).toBe(false);
    expect(breached.objectives.find((objective) => objective.name === 'check: the newest orders are back')?.passed).toBe(false);
    expect(breached.ledger!.lost).toBeGreaterThan(0);

    const error = load('error');
    expect(error.status).toBe('error');
    expect(error.ledger).toBeUndefined();
    const { resolutionMs: _calibration, rtoBreakdown: _phases, ...figures } = error.measurements;
    expect(Object.values(figures).filter((value) => value !== null)).toEqual([]);
    expect(error.errors[0]!.hint).toBeTruthy();

    // A failover to a standby in another region: lag sampled, the primary's storage destroyed, nothing lost.
    const failover = load('failover');
    expect(failover.status).toBe('passed');
    expect(failover.recovery).toMatchObject({ point: 'failover', restored: true });
    expect(failover.strategySamples!.length).toBeGreaterThan(0);
    expect(failover.storage!.find((location) => location.name === 'primary')!.destroyed).toBe(true);
    expect(failover.instances!.find((instance) => instance.name === 'standby')!.region).toBe('us');

    // A broken chain: recovery stopped at the gap, the drill failed saying which segment, and no RPO objective was needed for that.
    const broken = load('broken-chain');
    expect(broken.status).toBe('failed');
    expect(broken.scenario.spec).not.toHaveProperty('objectives.rpo');
    expect(broken.recovery).toMatchObject({ reached: false, gap: { what: expect.stringMatching(/^WAL segment [0-9A-F]{24}$/), location: 'primary' } });
    expect(broken.latentFaults![0]!.kind).toBe('wal-gap');
    expect(broken.objectives.find((objective) => objective.name === OBJECTIVE.recoveryReached)).toMatchObject({ passed: false });
  });

  it('have RTO figures measured from the fault, that the phase breakdown accounts for', () => {
    for (const name of ['passed', 'breached']) {
      const { measurements, events, phases } = load(name);
      const at = (event: string) => events.find((candidate) => candidate.name === event)?.atMs ?? null;
      // The drill's own phases after the fault (recording the archive, a hook) are not the recovery's.
      const own = (until: number) => phases.filter((phase) => phase.notCounted && phase.startMs >= at('fault')! && phase.endMs <= until).reduce((sum, phase) => sum + phase.durationMs, 0);
      expect(measurements.rtoServiceMs).toBeCloseTo(at('service-restored')! - at('fault')! - own(at('service-restored')!), 6);
      const verified = at('verified');
      expect(measurements.rtoVerifiedMs).toBe(verified === null ? null : verified - at('fault')! - own(verified));
      // The phases cover the recovery window but for the instants between them (an event, a log line).
      const rto = measurements.rtoVerifiedMs ?? measurements.rtoServiceMs!;
      const accounted = Object.values(measurements.rtoBreakdown).reduce((sum, ms) => sum + ms, 0);
      expect(accounted).toBeLessThanOrEqual(rto);
      expect(rto - accounted).toBeLessThan(50);
    }
  });

  it('use only the objective names the runner gives', () => {
    const known = new Set<string>(Object.values(OBJECTIVE));
    for (const name of FIXTURES) {
      for (const objective of load(name).objectives) expect(known.has(objective.name) || objective.name.startsWith(CHECK_PREFIX), objective.name).toBe(true);
    }
  });
});
