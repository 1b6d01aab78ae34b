import { formatBytes, formatCount, formatWallTime } from '../report/format.js';
import { commandStep } from '../report/html.js';
import { STATUS_TONE, facts, html, page, pill, table, type SafeHtml } from '../report/html-markup.js';
import { xmlAttr } from '../report/junit.js';
import { formatDuration } from '../util/duration.js';
import type { VerificationRecord } from './verify.js';

const VERDICT: Readonly<Record<VerificationRecord['status'], string>> = { passed: 'VERIFIED', failed: 'FAILED', error: 'ERROR' };

const MEANING: Readonly<Record<VerificationRecord['status'], string>> = {
  passed: 'The backup restored into a throwaway server and every check held; findings that are ignored have their reason below. Exit code 0.',
  failed: 'The backup was restored, and at least one finding is not ignored: it does not restore as it should. Exit code 1.',
  error: 'The verification could not run to the end: it proves nothing about the backup, and is never counted as verified. Exit code 2.',
};

function section(id: string, title: string, content: SafeHtml): SafeHtml {
  return html`<section id="${id}" class="card" aria-labelledby="${id}-title"><h2 id="${id}-title">${title}</h2>${content}</section>`;
}

/** The verification report: one self-contained page, the same look as a drill's. */
export function renderVerificationHtml(record: VerificationRecord): string {
  const tone = STATUS_TONE[record.status];
  const open = record.findings.filter((finding) => !finding.ignored);
  const findings = record.findings.length
    ? table(record.findings, [
        { header: 'Finding', cell: (f) => (f.ignored ? pill('IGNORED', 'neutral') : pill('FAIL', 'fail')) },
        { header: 'Code', cell: (f) => html`<code>${f.code}</code>` },
        { header: 'What it means', cell: (f) => html`<span class="note-text">${f.message}${f.ignored ? html`<br><span class="muted">Ignored: ${f.ignored}</span>` : ''}</span>` },
      ])
    : html`<p class="muted">No finding.</p>`;
  const headline =
    record.status === 'error'
      ? `could not verify: ${record.errors[0]?.message ?? 'unknown'}`
      : open.length === 0
        ? `restored in ${record.restoreMs === null ? '—' : formatDuration(record.restoreMs)}; every check held`
        : `${open.length} finding${open.length > 1 ? 's' : ''}: ${open.map((f) => f.code).join(', ')}`;
  const checks = [...record.integrity, ...record.checks];
  const body = html`<header>
  <div class="eyebrow">firedrill · verification of an existing backup</div>
  <h1>${record.name}</h1>
  <dl class="meta">
    <div><dt>kind</dt><dd>${record.kind}</dd></div>
    <div><dt>restored into</dt><dd>${record.serverVersion ?? '—'} (${record.provider ?? '—'})</dd></div>
    <div><dt>taken</dt><dd>${record.backupTakenAt ? formatWallTime(record.backupTakenAt) : 'unknown'}</dd></div>
    <div><dt>verified</dt><dd>${formatWallTime(record.finishedAt)}</dd></div>
  </dl>
</header>
<main>
<section id="verdict" class="card verdict tone-${tone}" aria-labelledby="verdict-title">
  <h2 id="verdict-title" class="muted">Verdict</h2>
  <div class="verdict-head"><span class="badge">${VERDICT[record.status]}</span><div><p class="headline">${headline}</p><p class="muted">${MEANING[record.status]}</p></div></div>
  ${record.errors.map((error) => html`<p class="note"><strong>${error.phase}</strong>: ${error.message}${error.hint ? html`<br>What to do: ${error.hint}` : ''}</p>`)}
  ${findings}
</section>
${section(
  'timings',
  'Steps',
  table(record.phases, [
    { header: 'Step', cell: (p) => html`<strong>${p.name}</strong>` },
    { header: 'Took', cell: (p) => formatDuration(p.durationMs), numeric: true },
    { header: 'Result', cell: (p) => (p.ok ? pill('ok', 'pass') : pill('failed', 'fail')) },
    { header: 'Detail', cell: (p) => p.detail ?? '' },
  ]),
)}
${section(
  'contents',
  'What came back',
  html`${facts([
    ['restore time', record.restoreMs === null ? 'not restored' : formatDuration(record.restoreMs)],
    ['data age', record.dataAgeMs === null || record.dataAgeMs === undefined ? 'unknown' : formatDuration(record.dataAgeMs)],
    ['freshness', record.freshness ? `newest ${record.freshness.newest ?? 'none'}, ${record.freshness.ageMs === null ? 'age unknown' : `${formatDuration(record.freshness.ageMs)} before ${record.freshness.against === 'backup' ? 'the backup' : 'the verification'}`} (at most ${formatDuration(record.freshness.maxAgeMs)})` : undefined],
  ])}
  ${record.contents.length ? table(record.contents, [
    { header: 'Expected table', cell: (c) => html`<code>${c.table}</code>` },
    { header: 'Rows', cell: (c) => (c.rows === null ? 'missing' : formatCount(c.rows)), numeric: true },
    { header: 'At least', cell: (c) => formatCount(c.minRows), numeric: true },
    { header: 'Result', cell: (c) => (c.rows !== null && c.rows >= c.minRows ? pill('PASS', 'pass') : pill('FAIL', 'fail')) },
  ]) : ''}
  ${checks.length ? html`<h3>Integrity and checks</h3>${table(checks, [
    { header: 'Check', cell: (c) => html`<strong>${c.name}</strong>` },
    { header: 'Result', cell: (c) => (c.passed ? pill('PASS', 'pass') : pill('FAIL', 'fail')) },
    { header: 'Value', cell: (c) => html`<span class="note-text">${c.value ?? c.detail ?? ''}${c.expect ? ` (expected ${c.expect})` : ''}</span>` },
  ])}` : ''}`,
)}
${section(
  'inventory',
  'Object inventory',
  html`${facts(Object.entries(record.inventory.objects).sort(([a], [b]) => a.localeCompare(b)).map(([kind, count]) => [kind, formatCount(count)] as const))}
  <details class="print-open"><summary>Rows of every table (${formatCount(record.inventory.tables.length)})</summary>${table(record.inventory.tables, [
    { header: 'Table', cell: (t) => html`<code>${t.name}</code>` },
    { header: 'Rows', cell: (t) => formatCount(t.rows), numeric: true },
  ])}</details>`,
)}
${section(
  'source',
  'The backup verified',
  html`<p class="muted">Read, never written: each file's sha256 as it was restored, and after (a file written to since is hashed again).</p>${table(record.sourceFiles, [
    { header: 'File', cell: (f) => html`<span class="mono">${f.path}</span>` },
    { header: 'Size', cell: (f) => formatBytes(f.sizeBytes), numeric: true },
    { header: 'sha256', cell: (f) => html`<span class="mono">${f.sha256}</span>` },
    { header: 'After', cell: (f) => (f.sha256After === undefined ? '—' : f.sha256After === f.sha256 ? pill('unchanged', 'pass') : pill('CHANGED', 'fail')) },
  ])}`,
)}
${section('runbook', 'Runbook: the restore as it ran', html`<ol class="runbook">${record.commands.map((command, index) => commandStep(command, index, undefined))}</ol>`)}
</main>
<footer>firedrill verification · format ${record.formatVersion} · run ${record.runId}</footer>`;
  return page({ title: `${VERDICT[record.status]} · ${record.name} · firedrill verify`, body });
}

/** JUnit: one test case per step of the verification, one per finding; an ignored finding is skipped with its reason. */
export function renderVerificationJunit(record: VerificationRecord): string {
  const cases = [
    ...record.phases.map((phase) => `    <testcase classname="verify.${xmlAttr(record.name)}" name="${xmlAttr(phase.name)}" time="${(phase.durationMs / 1000).toFixed(3)}">${phase.ok ? '' : `<error message="${xmlAttr(phase.detail ?? 'failed')}"/>`}</testcase>`),
    ...record.findings.map(
      (finding) =>
        `    <testcase classname="verify.${xmlAttr(record.name)}" name="finding ${xmlAttr(finding.code)}" time="0">${finding.ignored ? `<skipped message="${xmlAttr(`ignored: ${finding.ignored}`)}"/>` : `<failure message="${xmlAttr(finding.message)}"/>`}</testcase>`,
    ),
    ...record.errors.map((error) => `    <testcase classname="verify.${xmlAttr(record.name)}" name="could not run" time="0"><error message="${xmlAttr(error.message)}"/></testcase>`),
  ];
  const failures = record.findings.filter((finding) => !finding.ignored).length;
  const errors = record.errors.length + record.phases.filter((phase) => !phase.ok).length;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="firedrill verify" tests="${cases.length}" failures="${failures}" errors="${errors}">
  <testsuite name="${xmlAttr(record.name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${record.findings.length - failures}" timestamp="${record.startedAt}">
${cases.join('\n')}
  </testsuite>
</testsuites>
`;
}
