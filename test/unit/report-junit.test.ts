import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../../src/journal/types.js';
import { renderJUnit } from '../../src/report/junit.js';

const load = (name: string): Journal => JSON.parse(readFileSync(new URL(`../fixtures/journals/${name}.json`, import.meta.url), 'utf8')) as Journal;

interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
  text: string;
}

/**
 * A deliberately strict little XML reader, enough for JUnit: it throws on unbalanced tags,
 * stray `<` or `&`, and unquoted attributes, which is what a CI's parser would choke on.
 */
function parseXml(xml: string): Element {
  const body = xml.replace(/^<\?xml [^?]*\?>\s*/, '');
  const root: Element = { name: '#document', attributes: {}, children: [], text: '' };
  const stack = [root];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let at = 0;
  while (at < body.length && (match = token.exec(body))) {
    at = token.lastIndex;
    const [, closing, name, attributeText, selfClosing, text] = match;
    const current = stack.at(-1)!;
    if (text !== undefined) {
      if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(text)) throw new Error(`bare & in text: ${text}`);
      current.text += text;
    } else if (closing) {
      if (current.name !== name) throw new Error(`</${name}> closes <${current.name}>`);
      stack.pop();
    } else {
      const attributes: Record<string, string> = {};
      for (const [, key, value] of attributeText!.matchAll(/([\w.:-]+)="([^"]*)"/g)) {
        if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(value!)) throw new Error(`bare & in attribute ${key}`);
        attributes[key!] = value!;
      }
      const element: Element = { name: name!, attributes, children: [], text: '' };
      current.children.push(element);
      if (!selfClosing) stack.push(element);
    }
  }
  if (at !== body.length) throw new Error(`unparseable XML at ${at}: ${body.slice(at, at + 40)}`);
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  return root;
}

const all = (element: Element, name: string): Element[] =>
  element.children.flatMap((child) => [...(child.name === name ? [child] : []), ...all(child, name)]);

describe('renderJUnit', () => {
  const journals = ['passed', 'breached', 'error'].map(load);
  const doc = parseXml(renderJUnit(journals));
  const [suites] = doc.children;
  const suite = (index: number) => all(doc, 'testsuite')[index]!;

  it('is well-formed, one testsuite per drill', () => {
    expect(suites!.name).toBe('testsuites');
    expect(all(doc, 'testsuite').map((s) => s.attributes.name)).toEqual([
      'accidental-delete-pitr (pg-basebackup-wal)',
      'primary-disk-loss (pg-basebackup)',
      'offsite-pitr-pgbackrest (pgbackrest)',
    ]);
  });

  it('has one testcase per objective and check', () => {
    for (const [index, journal] of journals.slice(0, 2).entries()) {
      const cases = all(suite(index), 'testcase');
      expect(cases).toHaveLength(journal.objectives.length + journal.checks.length);
      expect(suite(index).attributes.tests).toBe(String(cases.length));
    }
    expect(all(suite(0), 'testcase').map((testCase) => testCase.attributes.name)).toContain('objective: rto-service');
    expect(all(suite(0), 'testcase').map((testCase) => testCase.attributes.name)).toContain('check: accounts row count');
  });

  it('reports a breached objective as a failure with the numbers', () => {
    const failures = all(suite(1), 'failure');
    expect(failures).toHaveLength(1);
    expect(failures[0]!.attributes.message).toBe('rto-service breached: 23.84 s (target ≤ 15.00 s)');
    expect(suite(1).attributes.failures).toBe('1');
    expect(suite(1).attributes.errors).toBe('0');
    expect(all(suite(0), 'failure')).toHaveLength(0);
  });

  it('reports a drill that could not run as errors, with the hint', () => {
    const errors = all(suite(2), 'error');
    // Two unmeasured objectives and the drill itself.
    expect(errors).toHaveLength(3);
    expect(all(suite(2), 'failure')).toHaveLength(0);
    expect(suite(2).attributes.errors).toBe('3');
    const drill = all(suite(2), 'testcase').find((testCase) => testCase.attributes.name === 'drill')!;
    expect(drill.children[0]!.attributes.message).toContain('pgbackrest not found on PATH');
    expect(drill.children[0]!.text).toContain('apt-get install -y pgbackrest');
    // Unmeasured is "not met", never "breached": nothing was measured to breach anything.
    const objective = all(suite(2), 'testcase').find((testCase) => testCase.attributes.name === 'objective: rto-service')!;
    expect(objective.children[0]!.attributes.message).toBe('rto-service not met: not measured (target ≤ 2 min 00 s): the drill stopped in prepare, before the fault');
  });

  it('totals the run and gives times in seconds', () => {
    // 5 objectives + 3 checks, 4 + 3, and 2 objectives + the drill that could not run.
    expect(suites!.attributes).toMatchObject({ tests: '18', failures: '1', errors: '3' });
    expect(suite(0).attributes.time).toBe('36.200');
    expect(suite(0).attributes.timestamp).toBe('2026-11-21T13:20:04');
  });

  it('escapes journal text and drops characters XML cannot carry', () => {
    const journal = load('breached');
    const hostile: Journal = {
      ...journal,
      scenario: { ...journal.scenario, name: `<evil attr="x"> & 'friends'` },
      checks: [{ name: 'bell\u0007 check', sql: 'SELECT 1 < 2 AND 3 > 2', passed: false, detail: 'line 1\nline 2' }],
    };
    const xml = renderJUnit([hostile]);
    const parsed = parseXml(xml);
    expect(xml).not.toContain('\u0007');
    expect(xml).not.toContain('<evil');
    expect(all(parsed, 'testsuite')[0]!.attributes.name).toBe('&lt;evil attr=&quot;x&quot;&gt; &amp; &apos;friends&apos; (pg-basebackup)');
    expect(all(parsed, 'failure')).toHaveLength(2);
  });

  it('never lets a failed drill look green, even without a failing objective', () => {
    const journal = load('passed');
    const odd: Journal = { ...journal, status: 'failed' };
    const doc = parseXml(renderJUnit([odd]));
    expect(all(doc, 'failure').map((failure) => all(doc, 'testcase').find((c) => c.children.includes(failure))!.attributes.name)).toEqual(['drill']);
  });

  it('renders an empty run', () => {
    expect(parseXml(renderJUnit([])).children[0]!.attributes.tests).toBe('0');
  });
});
