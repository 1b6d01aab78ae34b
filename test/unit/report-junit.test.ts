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
      current.text += decode(text);
    } else if (closing) {
      if (current.name !== name) throw new Error(`</${name}> closes <${current.name}>`);
      stack.pop();
    } else {
      const attributes: Record<string, string> = {};
      for (const [, key, value] of attributeText!.matchAll(/([\w.:-]+)="([^"]*)"/g)) {
        if (/&(?!(?:amp|lt|gt|quot|apos|#\d+);)/.test(value!)) throw new Error(`bare & in attribute ${key}`);
        attributes[key!] = decode(value!);
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

/** What a CI's parser hands on: the entities resolved. */
function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#(\d+));/g, (_, name: string, code?: string) => (code ? String.fromCharCode(Number(code)) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[name]!));
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
    expect(all(doc, 'testsuite').map((s) => s.attributes.name)).toEqual(journals.map((journal) => `${journal.scenario.name} (${journal.strategy})`));
  });

  // A check is an objective of its own: counting it again as a check made tests="9" of 6 once.
  it('has one testcase per objective, a check counted once', () => {
    for (const [index, journal] of journals.entries()) {
      const cases = all(suite(index), 'testcase');
      const extra = journal.status === 'error' ? 1 : 0;
      expect(cases).toHaveLength(journal.objectives.length + extra);
      expect(suite(index).attributes.tests).toBe(String(cases.length));
    }
    const names = all(suite(0), 'testcase').map((testCase) => testCase.attributes.name);
    expect(names).toContain('objective: RTO (verified)');
    expect(names).toContain('check: seeded orders are back');
    expect(names.filter((name) => name === 'check: seeded orders are back')).toHaveLength(1);
    const check = all(suite(0), 'testcase').find((testCase) => testCase.attributes.name === 'check: seeded orders are back')!;
    expect(check.children).toHaveLength(0);
  });

  it('reports each breached objective as a failure with the numbers', () => {
    const breached = journals[1]!;
    const failing = breached.objectives.filter((objective) => !objective.passed);
    const failures = all(suite(1), 'failure');
    expect(failures).toHaveLength(failing.length);
    const rto = failing.find((objective) => objective.name === 'RTO (service)')!;
    expect(failures.map((failure) => failure.attributes.message)).toContain(`RTO (service) breached: ${rto.measured} (target ${rto.target}): ${rto.reason}`);
    expect(rto.reason).toMatch(/^the longest part of the recovery was /);
    expect(failures.map((failure) => failure.attributes.message)).toContain(`the newest orders are back: expected > 0, got 0`);
    expect(suite(1).attributes.failures).toBe(String(failing.length));
    expect(suite(1).attributes.errors).toBe('0');
    expect(all(suite(0), 'failure')).toHaveLength(0);
  });

  it('reports a drill that could not run as an error, with what to do', () => {
    const errors = all(suite(2), 'error');
    expect(errors).toHaveLength(1);
    expect(all(suite(2), 'failure')).toHaveLength(0);
    const drill = all(suite(2), 'testcase').find((testCase) => testCase.attributes.name === 'drill')!;
    expect(drill.children[0]!.attributes.message).toBe('Could not run: check "invoices are back" cannot run: relation "invoices" does not exist');
    expect(drill.children[0]!.text).toContain('What to do: fix its SQL in the scenario');
  });

  it('totals the run and gives times in seconds', () => {
    const tests = journals.reduce((sum, journal) => sum + journal.objectives.length + (journal.status === 'error' ? 1 : 0), 0);
    const failures = journals[1]!.objectives.filter((objective) => !objective.passed).length;
    expect(suites!.attributes).toMatchObject({ tests: String(tests), failures: String(failures), errors: '1' });
    expect(suite(0).attributes.time).toBe((journals[0]!.durationMs / 1000).toFixed(3));
    expect(suite(0).attributes.timestamp).toBe(journals[0]!.startedAt.slice(0, 19));
  });

  it('times each case by what established it, and gives the figures as numbers', () => {
    const journal = journals[0]!;
    const cases = all(suite(0), 'testcase');
    const time = (name: string) => Number(cases.find((testCase) => testCase.attributes.name === name)!.attributes.time);
    expect(time('objective: RTO (verified)')).toBe(Number((journal.measurements.rtoVerifiedMs! / 1000).toFixed(3)));
    const at = (event: string) => journal.events.find((candidate) => candidate.name === event)!.atMs;
    expect(time('objective: restored')).toBe(Number(((at('service-restored') - at('restore-start')) / 1000).toFixed(3)));
    const verify = journal.phases.filter((phase) => phase.name === 'verify').reduce((sum, phase) => sum + phase.durationMs, 0);
    expect(verify).toBeGreaterThan(0);
    expect(time('objective: RPO (data loss)')).toBe(Number((verify / 1000).toFixed(3)));
    const properties = Object.fromEntries(all(suite(0), 'property').map((property) => [property.attributes.name, property.attributes.value]));
    expect(properties['firedrill.rto.verified.ms']).toBe(String(Math.round(journal.measurements.rtoVerifiedMs!)));
    expect(properties['firedrill.lost-writes']).toBe(String(journal.measurements.lostWrites));
    for (const name of ['firedrill.rto.service.ms', 'firedrill.data-loss.ms', 'firedrill.lost-to-detection', 'firedrill.duration.ms']) expect(properties[name], name).toMatch(/^\d+$/);
    // The drill that could not run measured no RTO: the property is absent, not 0.
    expect(all(suite(2), 'property').map((property) => property.attributes.name)).not.toContain('firedrill.rto.service.ms');
  });

  it('escapes journal text and drops characters XML cannot carry', () => {
    const journal = load('breached');
    const hostile: Journal = {
      ...journal,
      scenario: { ...journal.scenario, name: `<evil attr="x"> & 'friends'` },
      objectives: [...journal.objectives, { name: 'check: bell\u0007 check', target: '1 < 2', measured: 'line 1\nline 2', targetValue: null, measuredValue: false, unit: 'value', passed: false }],
      checks: [{ name: 'bell\u0007 check', sql: 'SELECT 1 < 2 AND 3 > 2', passed: false, detail: 'line 1\nline 2' }],
    };
    const xml = renderJUnit([hostile]);
    const parsed = parseXml(xml);
    expect(xml).not.toContain('\u0007');
    expect(xml).not.toContain('<evil');
    expect(all(parsed, 'testsuite')[0]!.attributes.name).toBe(`<evil attr="x"> & 'friends' (pg-dump)`);
    expect(all(parsed, 'failure')).toHaveLength(hostile.objectives.filter((objective) => !objective.passed).length);
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
