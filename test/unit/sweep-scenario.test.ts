import { describe, expect, it } from 'vitest';
import { planDrills } from '../../src/runner/run.js';
import { parseScenario } from '../../src/scenario/loader.js';
import { problemsOf } from '../support/scenarios.js';

const base = `name: s
target:
  engine: postgres
strategy: pg-dump
fault: { kind: bad-delete, table: orders }
`;

describe('a sweep in a scenario', () => {
  it('plans one drill per size, the dataset at each size and nothing else changed, each knowing its place', async () => {
    const scenario = await parseScenario(`${base}sweep: { size: [10MB, 40MB] }\nforecast: { size: 800GB, logPerHour: 20GB, backupEvery: 24h }\n`, 'x.yaml');
    const plans = planDrills([scenario]);
    expect(plans.map((plan) => plan.drillId)).toEqual(['s--pg-dump--10MB', 's--pg-dump--40MB']);
    expect(plans.map((plan) => plan.sweep)).toEqual([
      { label: '10MB', index: 0, count: 2, scale: expect.any(Number) },
      { label: '40MB', index: 1, count: 2, scale: expect.any(Number) },
    ]);
    const [small, large] = plans.map((plan) => plan.scenario.target.dataset as { scale: number; size: number });
    expect(large!.scale / small!.scale).toBeCloseTo(4, 1);
    expect(small!.size).toBe(10e6);
    expect(plans[0]!.scenario.fault).toEqual(plans[1]!.scenario.fault);
    expect(scenario.forecast).toEqual({ size: 800e9, logPerHour: 20e9, backupEvery: 86_400_000 });
  });

  it('refuses what it cannot measure, each at its line', async () => {
    expect(await problemsOf(`${base}sweep: { size: [10MB, lots] }\n`)).toEqual([expect.stringMatching(/^scenarios\/x\.yaml:6:\d+: sweep\.size\.1: "lots" is not a size/)]);
    expect((await problemsOf(`${base}sweep: { size: [10MB], scale: [1, 2] }\n`)).join('\n')).toMatch(/sweep\.size: a sweep needs 2 sizes or more/);
    expect((await problemsOf(`${base}forecast: { size: 800GB }\n`)).join('\n')).toMatch(/forecast: a forecast is made from a sweep, and this scenario has none.*--sizes/s);
    expect((await problemsOf(base.replace('strategy: pg-dump', 'strategies: [pg-dump, pg-basebackup]') + 'sweep: { scale: [1, 2] }\n')).join('\n')).toMatch(/a sweep runs one strategy at several sizes/);
  });
});
