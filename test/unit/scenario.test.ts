import { readFile } from 'node:fs/promises';
import { resultJsonSchema } from '../../src/cli/result.js';
import { describe, expect, it } from 'vitest';
import { loadAll } from '../../src/runner/run.js';
import { formatProblem, parseScenario } from '../../src/scenario/loader.js';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';
import { problemsOf } from '../support/scenarios.js';

const valid = `name: t
target:
  engine: postgres
strategy: pg-dump
fault:
  kind: bad-delete
  table: orders
`;

describe('scenario files', () => {
  it('every scenario shipped in scenarios/ validates', async () => {
    const { scenarios, problems } = await loadAll(['scenarios']);
    expect(problems.map(formatProblem)).toEqual([]);
    expect(scenarios.length).toBeGreaterThanOrEqual(4);
  });

  it('applies defaults and converts durations to milliseconds', async () => {
    const scenario = await parseScenario(valid, 'x.yaml');
    expect(scenario.fault).toMatchObject({ kind: 'bad-delete', table: 'orders', at: 10_000, detectAfter: 3_000 });
    expect(scenario.workload).toMatchObject({ writers: 4, rate: 200, warmup: 2_000 });
    expect(scenario.target.dataset).toEqual({ builtin: 'shop', scale: 1, cache: false });
    expect(scenario.strategy).toEqual({ name: 'pg-dump', options: { jobs: 2, compression: 6 } });
    expect(scenario.recovery.target).toBe('before-fault');
    expect(scenario.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts JSON too', async () => {
    const json = JSON.stringify({ name: 'j', target: { engine: 'postgres' }, strategy: 'pg-basebackup-wal', fault: { kind: 'truncate', table: 'orders', at: '1m30s' } });
    const scenario = await parseScenario(json, 'j.json');
    expect(scenario.fault.at).toBe(90_000);
  });

  it('names file:line:column and suggests the nearest strategy for a typo', async () => {
    const problems = await problemsOf(valid.replace('strategy: pg-dump', 'strategy: pgdump'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('scenarios/x.yaml:4:11: strategy: unknown strategy "pgdump" — did you mean "pg-dump"?');
    expect(problems[0]).toContain('known: pg-dump, pg-basebackup, pg-basebackup-wal');
  });

  it('points at an unknown field and suggests the known one', async () => {
    const problems = await problemsOf(valid.replace('  table: orders', '  table: orders\n  detect_after: 3s'));
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:8:3: fault\.detect_after: unknown field "detect_after" — did you mean "detectAfter"\?/);
  });

  it('suggests the nearest fault kind', async () => {
    const problems = await problemsOf(valid.replace('kind: bad-delete', 'kind: bad-delet'));
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:6:9: fault\.kind: unknown kind "bad-delet" — did you mean "bad-delete"\?/);
  });

  it('rejects a malformed duration with the units it takes', async () => {
    const problems = await problemsOf(valid.replace('  table: orders', '  table: orders\n  at: soon'));
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:8:7: fault\.at: "soon" is not a duration; write it like 30s/);
  });

  it('reports a missing required field', async () => {
    const problems = await problemsOf('name: t\ntarget:\n  engine: postgres\nstrategy: pg-dump\n');
    expect(problems.join('\n')).toContain('fault: missing required field');
  });

  it('takes a recovery time counted back from the fault, and says what it takes when the time is malformed', async () => {
    const pitr = valid.replace('strategy: pg-dump', 'strategy: pg-basebackup-wal');
    await expect(parseScenario(`${pitr}recovery:\n  target: 2s before the fault\n`, 'scenarios/x.yaml')).resolves.toMatchObject({ recovery: { target: '2s before the fault' } });
    expect((await problemsOf(`${pitr}recovery:\n  target: 2x before the fault\n`))[0]).toContain('recovery.target: "2x before the fault": expected before-fault, latest, a time before the fault like "2s before the fault"');
  });

  it('refuses a strategy that does not fit the engine, and a point in time it cannot reach', async () => {
    const problems = await problemsOf(`${valid}recovery:\n  target: 2026-01-01T00:00:00Z\n`);
    expect(problems[0]).toContain('recovery.target: strategy "pg-dump" cannot restore to a point in time');
  });

  it('reports YAML syntax errors with their position', async () => {
    const problems = await problemsOf('name: t\ntarget: [engine: postgres\n');
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:\d+:\d+: /);
  });

  it('checks that dataset files exist, relative to the scenario', async () => {
    const text = valid.replace('  engine: postgres', '  engine: postgres\n  dataset:\n    files: [missing.sql]');
    const problems = await problemsOf(text);
    expect(problems[0]).toMatch(/target\.dataset\.files\.0: file not found: missing\.sql/);
  });

  it('knows the built-in dataset\'s tables before anything runs, and suggests the nearest', async () => {
    const problems = await problemsOf(valid.replace('table: orders', 'table: order'));
    expect(problems[0]).toMatch(/^scenarios\/x\.yaml:7:10: fault\.table: the built-in dataset has no table "order" — did you mean "orders"\?\n  hint: its tables: customers, products, orders, order_items$/);
  });

  it('takes an incident and latent faults in the backups as a list, the recovery target from the incident', async () => {
    const scenario = await parseScenario(`name: t
target: { engine: postgres }
strategy: pg-basebackup-wal
fault:
  - { kind: disk-loss, at: 5s }
  - { kind: wal-gap, file: middle }
`, 'x.yaml');
    expect(scenario.fault).toMatchObject({ kind: 'disk-loss', at: 5_000 });
    expect(scenario.latentFaults).toEqual([{ kind: 'wal-gap', file: 'middle' }]);
    // A lost server is restored to the latest the archive has; a logical fault to just before it.
    expect(scenario.recovery.target).toBe('latest');
    expect((await parseScenario(valid, 'x.yaml')).recovery.target).toBe('before-fault');
  });

  it('refuses a fault the strategy cannot meet, at the fault, with what to use instead', async () => {
    const problems = await problemsOf(`name: t
target: { engine: postgres }
strategy: pg-dump
fault:
  - { kind: bad-delete, table: orders }
  - { kind: wal-gap }
`);
    expect(problems).toEqual([
      'scenarios/x.yaml:6:13: fault.1.kind: wal-gap removes a WAL segment from the archive, and strategy "pg-dump" keeps no WAL segment archive; use it with pg-basebackup-wal',
    ]);
  });

  it('wants exactly one incident, and a restart only after a fault that leaves the server able to start', async () => {
    expect((await problemsOf(`name: t
target: { engine: postgres }
strategy: pg-basebackup-wal
fault: [{ kind: wal-gap }]
`))[0]).toContain('fault: no incident: the faults listed only damage the backups');
    expect((await problemsOf(`name: t
target: { engine: postgres }
strategy: pg-basebackup-wal
fault: { kind: disk-loss }
recovery: { method: restart }
`))[0]).toContain('recovery.method: restart needs a fault that leaves the server able to start again, and disk-loss does not');
  });

  it('refuses what a standby cannot do, and broken backups a restart would never read, at the field to change', async () => {
    const standby = (extra: string) => problemsOf(`name: t\ntarget: { engine: postgres }\nstrategy: replica-sync\n${extra}fault: { kind: kill-primary }\n`);
    expect(await standby('recovery: { method: restore }\n')).toEqual([
      'scenarios/x.yaml:4:21: recovery.method: strategy "replica-sync" recovers by failing over to its standby, not by restoring a backup\n  hint: leave recovery.method out (auto), or choose a backup strategy',
    ]);
    expect(await standby('backups: { count: 2 }\n')).toEqual([
      'scenarios/x.yaml:4:10: backups: strategy "replica-sync" keeps one standby; there is nothing to take 2 times\n  hint: leave backups out, or choose a backup strategy to schedule several backups',
    ]);
    const restarted = `name: t\ntarget: { engine: postgres }\nstrategy: pg-basebackup-wal\nfault:\n  - { kind: kill-primary }\n  - { kind: wal-gap }\n`;
    expect(await problemsOf(restarted)).toEqual([
      'scenarios/x.yaml:6:13: fault.1.kind: wal-gap breaks the stored backups, but after kill-primary this drill restarts the server on its own data, which reads no backup\n  hint: set recovery.method: restore, to recover from the broken backups',
    ]);
    await expect(parseScenario(`${restarted}recovery: { method: restore }\n`, 'scenarios/x.yaml')).resolves.toMatchObject({ latentFaults: [{ kind: 'wal-gap' }] });
  });

  it('spools a server-written archive bound for a bucket, and refuses a tool\'s own repository there', async () => {
    const archive = (storage: string, strategy = 'pg-basebackup-wal') => `name: t\ntarget: { engine: postgres }\nstrategy: ${strategy}\nstorage:\n${storage}fault: { kind: bad-delete, table: orders }\n`;
    await expect(parseScenario(archive('  primary: { type: s3, bucket: drills, spool: { every: 500ms } }\n'), 'scenarios/x.yaml')).resolves.toMatchObject({
      storage: { primary: { type: 's3', bucket: 'drills', prefix: 'firedrill', pathStyle: false, checksums: 'when-supported', attempts: 6, spool: { every: 500 } } },
    });
    await expect(parseScenario(archive('  primary: { type: local, encryption: { keyEnv: KEY } }\n'), 'scenarios/x.yaml')).resolves.toMatchObject({ storage: { primary: { spool: { every: 1000 } } } });
    expect(await problemsOf(archive('  primary: { type: s3, bucket: drills }\n  spool: { type: local }\n'))).toEqual([
      'scenarios/x.yaml:6:10: storage.spool: storage "spool" is the name of the spool the server archives into before its files are uploaded to "primary" (s3)\n  hint: give this location another name',
    ]);
    expect(await problemsOf(archive('  primary: { type: local, encryption: { keyEnv: KEY } }\n', 'pgbackrest'))).toEqual([
      'scenarios/x.yaml:5:39: storage.primary.encryption: strategy "pgbackrest" has the server write its pgBackRest repository into storage "primary" itself, and "primary" (local, encrypted) is not a place a server can write files into\n  hint: make primary a plain local or s3 location (the archive host), and keep the off-site copy encrypted: storage.offsite: { type: local, ..., copy: { from: primary } }',
    ]);
    await expect(parseScenario(archive('  primary: { type: s3, bucket: drills }\n', 'pgbackrest'), 'scenarios/x.yaml')).resolves.toMatchObject({ storage: { primary: { type: 's3' } } });
    expect((await problemsOf(archive('  primary: { type: local, encryption: { keyEnv: KEY, keyFile: k } }\n').replace('pg-basebackup-wal', 'pg-dump')))[0]).toMatch(/storage\.primary\.encryption: give exactly one of keyEnv and keyFile/);
  });

  it('refuses an image for a provider that runs no images', async () => {
    expect(await problemsOf(valid.replace('  engine: postgres', '  engine: postgres\n  provider: local\n  image: postgres:16'))).toEqual([
      'scenarios/x.yaml:5:10: target.image: provider "local" runs the binaries on this machine, not container images\n  hint: remove target.image, or set target.provider to docker (or auto)',
    ]);
  });

  it('names the field a typo inside a fault is in, in a single fault and in a list', async () => {
    expect(await problemsOf(`name: t\ntarget: { engine: postgres }\nstrategy: pg-dump\nfault: { kind: bad-delete, tabel: orders }\n`)).toContain(
      'scenarios/x.yaml:4:28: fault.tabel: unknown field "tabel" — did you mean "table"?\n  hint: known fields here: table, where, kind, at, detectAfter',
    );
    expect(await problemsOf(`name: t\ntarget: { engine: postgres }\nstrategy: pg-basebackup-wal\nfault:\n  - { kind: bad-delete, table: orders }\n  - { kind: wal-gap, file: middel }\n`)).toEqual([
      'scenarios/x.yaml:6:28: fault.1.file: unknown file "middel" — did you mean "middle"?\n  hint: known: fault, middle, first, backup-end, newest',
    ]);
  });

  it('checks that an off-site copy copies from another location', async () => {
    const problems = await problemsOf(`${valid}storage:
  primary: { type: local }
  offsite: { type: local, region: far, copy: { from: nowhere } }
`);
    expect(problems[0]).toContain('storage.offsite.copy.from: "nowhere" is not another storage location');
  });

  it('keeps the committed JSON Schema in step with the schema', async () => {
    const committed = JSON.parse(await readFile('schema/scenario.schema.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(scenarioJsonSchema())));
    // And the one of every command's --json result.
    expect(JSON.parse(await readFile('schema/result.schema.json', 'utf8'))).toEqual(JSON.parse(JSON.stringify(resultJsonSchema())));
  });
});
