import { describe, expect, it } from 'vitest';
import { parseScenario, withStrategy, withStrategyNames } from '../../src/scenario/loader.js';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';
import { strategies } from '../../src/strategies/index.js';
import { problemsOf } from '../support/scenarios.js';

const base = `name: t
target:
  engine: postgres
fault:
  kind: bad-delete
  table: orders
`;

describe('strategies: a list to compare', () => {
  it('takes names and { name, ...options } entries, each checked and defaulted like strategy', async () => {
    const scenario = await parseScenario(`${base}strategies:\n  - pg-dump\n  - { name: pg-basebackup-wal, compression: none }\n`, 'x.yaml');
    expect(scenario.strategies).toEqual([
      { name: 'pg-dump', options: { jobs: 2, compression: 6 }, label: 'pg-dump' },
      { name: 'pg-basebackup-wal', options: { compression: 'none' }, label: 'pg-basebackup-wal' },
    ]);
    // A drill of the scenario runs the first; its hash is that of the same file naming it alone.
    expect(scenario.strategy).toEqual({ name: 'pg-dump', options: { jobs: 2, compression: 6 } });
    const alone = await parseScenario(`${base}strategy: pg-dump\n`, 'x.yaml');
    expect(scenario.hash).toBe(alone.hash);
    expect(withStrategy(scenario, scenario.strategies![1]!).hash).toBe((await parseScenario(`${base}strategy: { name: pg-basebackup-wal, compression: none }\n`, 'x.yaml')).hash);
  });

  it('points at the entry with a typo and suggests the name', async () => {
    const problems = await problemsOf(`${base}strategies:\n  - pg-dump\n  - pg-basebakup-wal\n`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('scenarios/x.yaml:9:5: strategies.1: unknown strategy "pg-basebakup-wal" — did you mean "pg-basebackup-wal"?');
  });

  it('refuses an entry for another engine, bad options, and a point in time an entry cannot reach', async () => {
    const problems = await problemsOf(`${base}strategies:\n  - mysqldump\n  - { name: pg-dump, jobs: 0 }\n  - pg-basebackup-wal\nrecovery: { target: 2026-01-01T00:00:00Z }\n`);
    expect(problems.join('\n')).toContain('strategies.0: strategy "mysqldump" does not work with postgres');
    expect(problems.join('\n')).toMatch(/x\.yaml:9:\d+: strategies\.1\.jobs: /);
    expect(problems.join('\n')).toContain('recovery.target: strategy "pg-dump" cannot restore to a point in time');
    expect(problems.join('\n')).not.toContain('"pg-basebackup-wal" cannot');
  });

  it('labels a strategy listed twice by the options that tell its entries apart, and refuses identical entries', async () => {
    const scenario = await parseScenario(`${base}strategies:\n  - { name: pg-dump, jobs: 1 }\n  - { name: pg-dump, jobs: 4 }\n  - pg-basebackup-wal\n`, 'x.yaml');
    expect(scenario.strategies!.map((entry) => entry.label)).toEqual(['pg-dump (jobs=1)', 'pg-dump (jobs=4)', 'pg-basebackup-wal']);
    const problems = await problemsOf(`${base}strategies: [pg-dump, { name: pg-dump, jobs: 2 }]\n`);
    expect(problems[0]).toContain('strategies.1: pg-dump is listed twice with the same options');
    expect(problems[0]).toContain('--repeat');
  });

  it('wants exactly one of strategy and strategies', async () => {
    expect((await problemsOf(`${base}strategy: pg-dump\nstrategies: [pg-dump]\n`))[0]).toMatch(/x\.yaml:8:1: strategies: both strategy and strategies are set/);
    const missing = await problemsOf(base);
    expect(missing[0]).toContain('strategy: missing required field');
    expect(missing[0]).toContain('or strategies: [NAME, NAME] to compare several');
    expect(scenarioJsonSchema()).toMatchObject({ oneOf: [{ required: ['strategy'] }, { required: ['strategies'] }] });
  });
});

describe('--strategies on the command line', () => {
  it('replaces the scenario\'s strategies with the names given, options at their defaults', async () => {
    const scenario = await parseScenario(`${base}strategy: { name: pg-dump, jobs: 8 }\n`, 'x.yaml');
    const { scenario: replaced, problems } = withStrategyNames(scenario, ['pg-basebackup-wal', 'pg-dump']);
    expect(problems).toEqual([]);
    expect(replaced!.strategies!.map((entry) => [entry.label, entry.options])).toEqual([
      ['pg-basebackup-wal', { compression: 'gzip' }],
      ['pg-dump', { jobs: 2, compression: 6 }],
    ]);
    expect(replaced!.strategy.name).toBe('pg-basebackup-wal');
  });

  it('says what is wrong with each name and what to do', async () => {
    const scenario = await parseScenario(`${base}strategy: pg-dump\n`, 'x.yaml');
    const forPostgres = Object.values(strategies).filter((definition) => definition.engines.includes('postgres')).map((definition) => definition.name);
    expect(forPostgres).toEqual(expect.arrayContaining(['pg-dump', 'pg-basebackup-wal', 'replica-sync']));
    expect(forPostgres).not.toContain('mariabackup');
    expect(withStrategyNames(scenario, ['pg-dumb', 'mariabackup']).problems).toEqual([
      `--strategies: unknown strategy "pg-dumb" — did you mean "pg-dump"?\n  hint: known: ${Object.keys(strategies).join(', ')} (firedrill list)`,
      `--strategies: strategy "mariabackup" does not work with postgres\n  hint: strategies for postgres: ${forPostgres.join(', ')}`,
    ]);
    expect(withStrategyNames(scenario, ['pg-dump', 'pg-dump']).problems[0]).toContain('pg-dump is listed twice');
    expect(withStrategyNames(scenario, []).problems[0]).toContain('--strategies: no strategy named');
  });
});
