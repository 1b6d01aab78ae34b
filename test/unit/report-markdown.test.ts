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
  const markdown = renderMarkdown(['passed', 'breached', 'error'].map(load));

  it('summarizes the run in a table, failures first', () => {
    const [header, , ...body] = rows(markdown);
    expect(header).toEqual(['Scenario', 'Strategy', 'Verdict', 'RTO (service)', 'RTO (verified)', 'Data loss', 'Lost writes']);
    expect(body).toEqual([
      ['offsite-pitr-pgbackrest', 'pgbackrest', '**ERROR**', 'not measured', 'not measured', 'not measured', 'not measured'],
      ['primary-disk-loss', 'pg-basebackup', '**FAIL**', '23.84 s', '26.10 s', '21.37 s', '4,271'],
      ['accidental-delete-pitr', 'pg-basebackup-wal', '**PASS**', '11.09 s', '12.57 s', '0 ms', '1,005'],
    ]);
    expect(markdown.startsWith('## firedrill: 3 drills: 1 error, 1 failed, 1 passed\n')).toBe(true);
  });

  it('lists each drill\'s objectives and checks with their outcome', () => {
    expect(markdown).toContain('### FAIL primary-disk-loss (pg-basebackup)');
    expect(markdown).toContain('- **FAIL** objective rto-service: 23.84 s (target ≤ 15.00 s)');
    expect(markdown).toContain('- **PASS** objective data-loss: 21.37 s (target ≤ 30.00 s)');
    expect(markdown).toContain('- **PASS** check accounts row count: expected = 10000, got 10000');
    expect(markdown).toContain('- **ERROR** in prepare: pgbackrest not found on PATH (spawn pgbackrest ENOENT) What to do: Install it');
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
