import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { renderMarkdown } from '../../src/report/markdown.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

/** Table rows, split on the pipes Markdown treats as cell borders (not `\|`). */
const rows = (markdown: string) =>
  markdown
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim()));

describe('renderMarkdown', () => {
  const journals = ['passed', 'breached', 'error'].map(load);
  const markdown = renderMarkdown(journals);

  it('summarizes the run in a table, failures first', () => {
    const [header, , ...body] = rows(markdown);
    expect(header).toEqual(['Scenario', 'Strategy', 'Verdict', 'RTO (service)', 'RTO (verified)', 'Data loss', 'Lost writes']);
    const [passed, breached, error] = journals;
    expect(body.map((row) => row.slice(0, 3))).toEqual([
      [error!.scenario.name, 'pg-basebackup', '**ERROR**'],
      [breached!.scenario.name, 'pg-dump', '**FAIL**'],
      [passed!.scenario.name, 'pg-basebackup-wal', '**PASS**'],
    ]);
    expect(body[0]!.slice(3)).toEqual(['not measured', 'not measured', 'not measured', 'not measured']);
    expect(body[1]![6]).toBe(new Intl.NumberFormat('en-US').format(breached!.measurements.lostWrites!));
    expect(markdown.startsWith('## firedrill: 3 drills: 1 error, 1 failed, 1 passed\n')).toBe(true);
  });

  it('lists each drill\'s objectives once each, checks with their values', () => {
    const breached = journals[1]!;
    const rto = breached.objectives.find((objective) => objective.name === 'RTO (service)')!;
    expect(markdown).toContain(`### FAIL ${breached.scenario.name} (pg-dump)`);
    expect(markdown).toContain(`- **FAIL** RTO (service): ${rto.measured} (target ${rto.target})`);
    expect(markdown).toContain('- **FAIL** check: the newest orders are back: expected \\> 0, got 0');
    expect(markdown).toContain('- **PASS** check: seeded orders are back: expected 2000, got 2000');
    expect(markdown.match(/seeded orders are back/g)).toHaveLength(1);
    expect(markdown).toContain('- **ERROR** in seed: check "invoices are back" cannot run: relation "invoices" does not exist What to do: fix its SQL');
  });

  it('keeps journal text from breaking the table or becoming HTML', () => {
    const journal = load('passed');
    const hostile = renderMarkdown([{ ...journal, scenario: { ...journal.scenario, name: 'a | b <img src=x>\n# heading' } }]);
    const [, , row] = rows(hostile);
    expect(row).toHaveLength(7);
    // `\<` is a literal `<` to Markdown: only an unescaped one could open a tag.
    expect(hostile).not.toMatch(/(?<!\\)<img/);
    expect(hostile).not.toMatch(/^# heading/m);
  });
});
