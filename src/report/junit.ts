import type { Journal } from '../journal/types.js';
import { CHECK_PREFIX, OBJECTIVE } from '../measure/verdict.js';
import { checkOutcome, drillTitle, objectiveOutcome, summarizeDrill, verdictHeadline } from './format.js';

/**
 * JUnit XML: the format every CI shows as test results. One <testsuite> per drill, one
 * <testcase> per objective and per check. A drill that could not run reports <error>, not
 * <failure>, so CI tells "the backup is too slow" from "the drill is broken".
 */

type Outcome = 'passed' | 'failure' | 'error';

interface TestCase {
  name: string;
  outcome: Outcome;
  message?: string;
  body?: string;
  /** The drill's time spent establishing it, in ms. */
  timeMs: number;
}

/**
 * How long the drill took to establish an objective: an RTO is the time it measures; whether a
 * database came back and from which backup, the restore path (restore started → service); what
 * the restored database holds (checks, data loss, equality, damage), the verification.
 */
function caseTimeMs(journal: Journal, name: string): number {
  if (name === OBJECTIVE.rtoService) return journal.measurements.rtoServiceMs ?? 0;
  if (name === OBJECTIVE.rtoVerified) return journal.measurements.rtoVerifiedMs ?? 0;
  const at = (event: string) => journal.events.find((candidate) => candidate.name === event)?.atMs;
  const [restoreStart, service] = [at('restore-start'), at('service-restored')];
  if (name === OBJECTIVE.restored || name === OBJECTIVE.backupsIntact || name === OBJECTIVE.recoveryReached) {
    return restoreStart !== undefined && service !== undefined ? service - restoreStart : 0;
  }
  return journal.phases.filter((phase) => phase.name === 'verify').reduce((sum, phase) => sum + phase.durationMs, 0);
}

// XML 1.0 cannot carry most control characters, even escaped; a stray byte from a server
// message must not make the whole file unreadable.
const INVALID_XML = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xmlText(text: string): string {
  return text.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function xmlAttr(text: string): string {
  // Attribute-value normalization would turn newlines into spaces; keep them as references.
  return xmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([key, value]) => ` ${key}="${xmlAttr(String(value))}"`)
    .join('');
}

const seconds = (ms: number): string => (ms / 1000).toFixed(3);

/** The JUnit XSD wants `timestamp` without a zone; it is UTC. */
function timestamp(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 19);
}

function testCases(journal: Journal): TestCase[] {
  const broken: Outcome = journal.status === 'error' || journal.status === 'interrupted' ? 'error' : 'failure';
  // One test case per objective: a check is an objective of its own (`check: ...`), counted once.
  const cases: TestCase[] = journal.objectives.map((objective): TestCase => {
    const check = objective.name.startsWith(CHECK_PREFIX) ? journal.checks.find((candidate) => `${CHECK_PREFIX}${candidate.name}` === objective.name) : undefined;
    return {
      name: objective.name.startsWith(CHECK_PREFIX) ? objective.name : `objective: ${objective.name}`,
      outcome: objective.passed ? 'passed' : broken,
      message: check ? `${check.name}: ${checkOutcome(check)}` : `${objective.name} ${objective.passed ? 'met' : objective.measuredValue === null ? 'not met' : 'breached'}: ${objectiveOutcome(objective)}`,
      ...(check?.sql ? { body: check.sql } : {}),
      timeMs: caseTimeMs(journal, objective.name),
    };
  });
  // A drill that could not run says why in a case of its own; and a drill that did not
  // pass must show as failing in CI even if no objective or check accounts for it.
  if (journal.status !== 'passed' && (broken === 'error' || cases.every((testCase) => testCase.outcome === 'passed'))) {
    cases.unshift({
      name: 'drill',
      outcome: broken,
      message: verdictHeadline(journal),
      body: journal.errors.map((error) => `${error.phase}: ${error.message}${error.hint ? `\nWhat to do: ${error.hint}` : ''}`).join('\n\n'),
      timeMs: journal.durationMs,
    });
  }
  return cases;
}

function renderCase(testCase: TestCase, classname: string): string {
  const head = `    <testcase${attrs({ classname, name: testCase.name, time: seconds(testCase.timeMs) })}`;
  if (testCase.outcome === 'passed') return `${head}/>\n`;
  const element = testCase.outcome;
  const body = testCase.body ? xmlText(testCase.body) : '';
  return `${head}>\n      <${element}${attrs({ message: testCase.message ?? '', type: element === 'error' ? 'DrillError' : 'ObjectiveBreached' })}>${body}</${element}>\n    </testcase>\n`;
}

interface Suite {
  xml: string;
  tests: number;
  failures: number;
  errors: number;
  durationMs: number;
}

const numeric = (values: Record<string, number | null>): Record<string, number> =>
  Object.fromEntries(Object.entries(values).filter((entry): entry is [string, number] => entry[1] !== null).map(([name, value]) => [name, Math.round(value)]));

function renderSuite(journal: Journal, id: number): Suite {
  const cases = testCases(journal);
  const failures = cases.filter((testCase) => testCase.outcome === 'failure').length;
  const errors = cases.filter((testCase) => testCase.outcome === 'error').length;
  const summary = summarizeDrill(journal);
  const classname = `firedrill.${journal.scenario.name}.${journal.strategy}`;
  const properties = {
    'firedrill.run': journal.runId,
    'firedrill.drill': journal.drillId,
    'firedrill.status': journal.status,
    'firedrill.engine': journal.engine,
    'firedrill.provider': journal.provider,
    'firedrill.fault': journal.faultKind,
    'firedrill.scenario.hash': journal.scenario.hash,
    // Numbers a CI can chart; a figure the drill could not measure is left out, never 0.
    ...numeric({
      'firedrill.rto.service.ms': journal.measurements.rtoServiceMs,
      'firedrill.rto.verified.ms': journal.measurements.rtoVerifiedMs,
      'firedrill.data-loss.ms': journal.measurements.dataLossMs,
      'firedrill.lost-writes': journal.measurements.lostWrites,
      'firedrill.lost-to-detection': journal.measurements.lostToDetection,
      'firedrill.duration.ms': journal.durationMs,
    }),
  };
  const out = [
    `${summary.verdict} ${summary.title}: ${verdictHeadline(journal)}`,
    `RTO (service) ${summary.rtoService}, RTO (verified) ${summary.rtoVerified}, data loss ${summary.dataLoss}, lost writes ${summary.lostWrites}`,
  ].join('\n');
  const xml =
    `  <testsuite${attrs({
      name: drillTitle(journal),
      id,
      tests: cases.length,
      failures,
      errors,
      skipped: 0,
      time: seconds(journal.durationMs),
      timestamp: timestamp(journal.startedAt),
      hostname: journal.host.hostname,
    })}>\n` +
    `    <properties>\n${Object.entries(properties)
      .map(([name, value]) => `      <property${attrs({ name, value })}/>\n`)
      .join('')}    </properties>\n` +
    cases.map((testCase) => renderCase(testCase, classname)).join('') +
    `    <system-out>${xmlText(out)}</system-out>\n` +
    `  </testsuite>\n`;
  return { xml, tests: cases.length, failures, errors, durationMs: journal.durationMs };
}

/** Renders the drills of a run as one JUnit XML document. */
export function renderJUnit(journals: readonly Journal[]): string {
  const suites = journals.map(renderSuite);
  const total = (key: 'tests' | 'failures' | 'errors' | 'durationMs') => suites.reduce((sum, suite) => sum + suite[key], 0);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites${attrs({ name: 'firedrill', tests: total('tests'), failures: total('failures'), errors: total('errors'), time: seconds(total('durationMs')) })}>\n` +
    suites.map((suite) => suite.xml).join('') +
    `</testsuites>\n`
  );
}
