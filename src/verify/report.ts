import { checkOutcome, formatBytes, formatCount, formatWallTime } from '../report/format.js';
import { commandStep } from '../report/html.js';
import { STATUS_TONE, facts, html, page, pill, table, type SafeHtml } from '../report/html-markup.js';
import { xmlAttr } from '../report/junit.js';
import { md } from '../report/markdown.js';
import type { CommandRecord } from '../util/exec.js';
import { formatDuration } from '../util/duration.js';
import type { VerificationRecord } from './verify.js';

const VERDICT: Readonly<Record<VerificationRecord['status'], string>> = { passed: 'VERIFIED', failed: 'FAILED', error: 'ERROR' };

const MEANING: Readonly<Record<VerificationRecord['status'], string>> = {
  passed: 'The backup restored into a throwaway server and every check held; findings that are ignored have their reason below. Exit code 0.',
  failed: 'The backup was restored, and at least one finding is not ignored: it does not restore as it should. Exit code 1.',
  error: 'The verification could not run to the end: it proves nothing about the backup, and is never counted as verified. Exit code 2.',
};

/** One sentence that says why the verification got its verdict: the HTML report's and the Markdown summary's. */
function verificationHeadline(record: VerificationRecord): string {
  const open = record.findings.filter((finding) => !finding.ignored);
  if (record.status === 'error') return `could not verify: ${record.errors[0]?.message ?? 'unknown'}`;
  if (open.length === 0) return `restored in ${record.restoreMs === null ? '—' : formatDuration(record.restoreMs)}; every check held`;
  return `${open.length} finding${open.length > 1 ? 's' : ''}: ${open.map((f) => f.code).join(', ')}`;
}

const restoreTimeText = (record: VerificationRecord) => (record.restoreMs === null ? 'not restored' : formatDuration(record.restoreMs));
const dataAgeText = (record: VerificationRecord) => (record.dataAgeMs === null || record.dataAgeMs === undefined ? 'unknown' : formatDuration(record.dataAgeMs));
const recoveryText = ({ recovery }: VerificationRecord) => (recovery ? `to ${recovery.target}: ${recovery.reached === false ? 'NOT reached' : 'reached'} — ${recovery.detail}` : undefined);
const encodingText = ({ restoredCharset: charset }: VerificationRecord) => (charset ? [charset.encoding, charset.icuLocale ?? charset.collation].filter(Boolean).join(', ') : undefined);

function freshnessText({ freshness }: VerificationRecord): string | undefined {
  if (!freshness) return undefined;
  const age = freshness.ageMs === null ? 'age unknown' : `${formatDuration(freshness.ageMs)} before ${freshness.against === 'backup' ? 'the backup' : 'the verification'}`;
  return `newest ${freshness.newest ?? 'none'}, ${age} (at most ${formatDuration(freshness.maxAgeMs)})`;
}

function section(id: string, title: string, content: SafeHtml): SafeHtml {
  return html`<section id="${id}" class="card" aria-labelledby="${id}-title"><h2 id="${id}-title">${title}</h2>${content}</section>`;
}

/** The verification report: one self-contained page, the same look as a drill's. */
export function renderVerificationHtml(record: VerificationRecord): string {
  const tone = STATUS_TONE[record.status];
  const findings = record.findings.length
    ? table(record.findings, [
        { header: 'Finding', cell: (f) => (f.ignored ? pill('IGNORED', 'neutral') : pill('FAIL', 'fail')) },
        { header: 'Code', cell: (f) => html`<code>${f.code}</code>` },
        { header: 'What it means', cell: (f) => html`<span class="note-text">${f.message}${f.ignored ? html`<br><span class="muted">Ignored: ${f.ignored}</span>` : ''}</span>` },
      ])
    : html`<p class="muted">No finding.</p>`;
  const headline = verificationHeadline(record);
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
    ['restore time', restoreTimeText(record)],
    ['data age', dataAgeText(record)],
    ['recovery', recoveryText(record)],
    ['database', record.database],
    ['encoding', encodingText(record)],
    ['freshness', freshnessText(record)],
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

/** A command of the runbook: what ran, then its line as an indented code block (literal, whatever it holds); a step firedrill took itself, in words. */
function commandMarkdown(command: CommandRecord, index: number): string[] {
  const exit = command.background ? 'in the background' : command.exitCode === 0 ? 'exit 0' : `exit ${command.exitCode ?? command.signal ?? '?'}`;
  // Not a Markdown list: a list item's indentation would make the code block below it a paragraph.
  const head = `**${index + 1}. ${md(command.phase)}**${command.user ? ` as ${md(command.user)}` : ''}, ${formatDuration(command.durationMs)}, ${exit}`;
  return command.step ? [`${head}: ${md(command.command)}`, ''] : [head, '', command.command.replace(/^/gm, '    '), ''];
}

/**
 * The verification as Markdown (GITHUB_STEP_SUMMARY, a ticket, a chat message), in the words of
 * the HTML report: the verdict, what was restored, each finding, what came back, the inventory's
 * counts and the commands that ran.
 */
export function renderVerificationMarkdown(record: VerificationRecord): string {
  const item = (label: string, value: string | undefined) => (value === undefined ? [] : [`- **${label}**: ${md(value)}`]);
  const judged = (passed: boolean, name: string, outcome: string) => `- **${passed ? 'PASS' : 'FAIL'}** ${md(name)}: ${md(outcome)}`;
  const changed = record.sourceFiles.filter((file) => file.sha256After !== undefined && file.sha256After !== file.sha256).length;
  const bytes = record.sourceFiles.reduce((sum, file) => sum + file.sizeBytes, 0);
  const rows = record.inventory.tables.reduce((sum, table) => sum + table.rows, 0);
  const lines = [
    `## firedrill verify: ${VERDICT[record.status]} ${md(record.name)}`,
    '',
    md(verificationHeadline(record)),
    '',
    ...item('source', record.source),
    ...item('kind', record.kind),
    ...item('restored into', `${record.serverVersion ?? '—'} (${record.provider ?? '—'})`),
    ...item('taken', record.backupTakenAt ? formatWallTime(record.backupTakenAt) : 'unknown'),
    ...item('verified', formatWallTime(record.finishedAt)),
    ...item('restore time', restoreTimeText(record)),
    ...item('data age', dataAgeText(record)),
    ...item('recovery', recoveryText(record)),
    ...item('database', record.database),
    ...item('encoding', encodingText(record)),
    ...item('files verified', `${formatCount(record.sourceFiles.length)} (${formatBytes(bytes)}), ${changed === 0 ? 'unchanged after' : `${formatCount(changed)} CHANGED while verified`}`),
    '',
    '### Findings',
    '',
    ...(record.findings.length === 0 ? ['No finding.'] : record.findings.map((f) => `- **${f.ignored ? 'IGNORED' : 'FAIL'}** \`${f.code}\`: ${md(f.message)}${f.ignored ? ` Ignored: ${md(f.ignored)}` : ''}`)),
    ...record.errors.map((error) => `- **ERROR** in ${md(error.phase)}: ${md(error.message)}${error.hint ? ` What to do: ${md(error.hint)}` : ''}`),
    '',
  ];
  if (record.integrity.length > 0) lines.push('### Integrity', '', ...record.integrity.map((check) => judged(check.passed, check.name, checkOutcome(check))), '');
  if (record.contents.length > 0 || record.freshness) {
    lines.push(
      '### Contents',
      '',
      ...record.contents.map((c) => judged(c.rows !== null && c.rows >= c.minRows, c.table, `${c.rows === null ? 'missing' : `${formatCount(c.rows)} rows`}, at least ${formatCount(c.minRows)}`)),
      ...(record.freshness ? [judged(record.freshness.ageMs !== null && record.freshness.ageMs <= record.freshness.maxAgeMs, 'freshness', freshnessText(record)!)] : []),
      '',
    );
  }
  if (record.checks.length > 0) lines.push('### Checks', '', ...record.checks.map((check) => judged(check.passed, check.name, checkOutcome(check))), '');
  lines.push(
    '### Inventory',
    '',
    ...item('tables', formatCount(record.inventory.tables.length)),
    ...item('rows', formatCount(rows)),
    ...Object.entries(record.inventory.objects)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, count]) => `- ${md(kind)}: ${formatCount(count)}`),
    '',
    '### Runbook: the restore as it ran',
    '',
    ...record.commands.flatMap(commandMarkdown),
  );
  return `${lines.join('\n').trimEnd()}\n`;
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
