import type { HistoryEntry, Journal } from '../journal/types.js';
import { drillTitle, formatCount, formatMs, formatWallTime, runHeadline, strategyLabel, VERDICT_LABEL, verdictHeadline } from '../report/format.js';
import { facts, html, page, pill, STATUS_TONE, table, type HtmlValue } from '../report/html-markup.js';
import { measuredCell, metaItem, section } from '../report/html.js';
import type { MissingDrill } from '../report/index.js';
import { md } from '../report/markdown.js';
import { CONTROLS, evidenceFor, objectivesOf, type Control } from './controls.js';
import { MANIFEST_FILE, PUBLIC_KEY_FILE, SIGNATURE_FILE } from './manifest.js';

/**
 * The index of an evidence bundle, as HTML (to open from disk, no tools) and Markdown (to
 * paste into an audit's own documents): which controls the drills evidence, drill by drill
 * with dates, verdicts and RTO/RPO against objectives; the drills and their files; the
 * versions they ran with; the history of their scenarios; how to check the bundle; and what
 * it does not prove. Both are made from the same parts, so they never say different things.
 */

/** A drill in the bundle. */
export interface BundledDrill {
  journal: Journal;
  /** Its folder in the bundle, `runs/<run>/<drill>` (ids are `[\w.-]+`, so it needs no escaping in a link). */
  dir: string;
  /** Whether it has a runbook.md (passing drills only). */
  runbook: boolean;
}

export interface EvidenceIndex {
  createdAt: string;
  firedrill: string;
  fingerprint: string;
  /** Oldest first. */
  drills: readonly BundledDrill[];
  /** The earlier drills of the bundle's scenarios from history.jsonl, oldest first. */
  history: readonly HistoryEntry[];
  historyLimit: number;
  /** Drills the bundled runs planned that are not in the bundle. */
  missing: readonly MissingDrill[];
}

/** What the bundle does not show, said plainly: an auditor weighs the evidence by its limits. */
const LIMITS: ReadonlyArray<readonly [title: string, text: string]> = [
  [
    'That production backups restore.',
    "A drill restores a backup of a throwaway database, loaded with its scenario's dataset and backed up the way the scenario says, on the machine the drill ran on. It shows that the procedure and the tools work at that size; not that the backups of production systems restore, nor how long a restore of their size takes.",
  ],
  [
    'That the times would hold in an incident.',
    "RTO and RPO are measured on the drill's machine, at its load. Detection is a delay the scenario sets, not a measured human response; paging people, and more data, take longer.",
  ],
  [
    'That the dates are right.',
    'Every time comes from the clock of the machine that ran the drill, and nothing here stamps it independently. The signature dates from when the bundle was made, not from when the drills ran.',
  ],
  [
    'That the journals are as the drills wrote them.',
    'The bundle was signed when it was made: whoever could write to the reports folder before then could have changed a journal, and the reports here are rendered from the journals.',
  ],
  [
    'That these are all the drills.',
    "The bundle holds the runs its maker chose; drills left out (a failed night, another scenario) do not show. The History section and the runs' plans (under Drills) are the reports folder's own records, in the same hands: compare them with the CI system's record of the scheduled runs.",
  ],
  [
    'Who signed it.',
    'A valid signature shows the bundle is unchanged since a holder of the key signed it. Whether that key is the one it should be is told by its fingerprint, compared with one its owner published elsewhere.',
  ],
  [
    'The rest of each control.',
    "Policies, schedules, who is responsible, off-site and access controls, and the systems no drill covers are for the organisation's other evidence: a drill is one piece of evidence for the controls above.",
  ],
];

// ---------------------------------------------------------------- shared parts

/** A judged objective, or the measured figure when the scenario set none. */
interface Figure {
  text: string;
  met?: boolean;
}

function figures(journal: Journal, kind: 'rto' | 'rpo'): Figure[] {
  const judged = objectivesOf(journal, kind);
  if (judged.length > 0) return judged.map((objective) => ({ text: `${objective.name}: ${objective.measured}, target ${objective.target}`, met: objective.passed }));
  const { rtoServiceMs, rtoVerifiedMs, dataLossMs } = journal.measurements;
  if (kind === 'rpo') return [{ text: `RPO (data loss): ${formatMs(dataLossMs)}, no objective set` }];
  return [{ text: rtoVerifiedMs !== null ? `RTO (verified): ${formatMs(rtoVerifiedMs)}, no objective set` : `RTO (service): ${formatMs(rtoServiceMs)}, no objective set` }];
}

const metWord = (figure: Figure) => (figure.met === undefined ? '' : figure.met ? 'met' : 'breached');

/** `3 drills (2 passed, 1 failed), 2026-11-02 to 2026-12-01`, or why none. */
function coverage(drills: readonly BundledDrill[]): string {
  if (drills.length === 0) return 'No drill in this bundle evidences it.';
  const passed = drills.filter((drill) => drill.journal.status === 'passed').length;
  const [first, last] = [drills[0]!.journal.startedAt.slice(0, 10), drills.at(-1)!.journal.startedAt.slice(0, 10)];
  return `${drills.length === 1 ? '1 drill' : `${formatCount(drills.length)} drills`} (${formatCount(passed)} passed, ${formatCount(drills.length - passed)} failed), ${first === last ? `on ${first}` : `${first} to ${last}`}.`;
}

function files(drill: BundledDrill): Array<[label: string, path: string]> {
  return [
    ['report', `${drill.dir}/report.html`],
    ['journal', `${drill.dir}/journal.json`],
    ['scenario', `${drill.dir}/scenario-as-run.yaml`],
    ...(drill.runbook ? [['runbook', `${drill.dir}/runbook.md`] as [string, string]] : []),
  ];
}

/** Each tool's version, with how many drills ran it (one row per version). */
function toolVersions(drills: readonly BundledDrill[]): Array<{ name: string; version: string; drills: number }> {
  const rows = new Map<string, { name: string; version: string; drills: number }>();
  for (const { journal } of drills) {
    const tools: Journal['versions']['tools'] = [{ name: 'firedrill', version: journal.versions.firedrill }, { name: 'node', version: journal.versions.node }, ...journal.versions.tools];
    for (const tool of tools) {
      const version = tool.version ?? (tool.missing ? `missing: ${tool.missing}` : 'missing');
      const key = JSON.stringify([tool.name, version]);
      const row = rows.get(key) ?? { name: tool.name, version, drills: 0 };
      row.drills++;
      rows.set(key, row);
    }
  }
  return [...rows.values()];
}

/** The bundle's history by scenario, in the order the bundle's drills name them. */
function historyByScenario(index: EvidenceIndex): Array<{ scenario: string; entries: HistoryEntry[] }> {
  const scenarios = [...new Set(index.drills.map((drill) => drill.journal.scenario.name))];
  return scenarios.map((scenario) => ({ scenario, entries: index.history.filter((entry) => entry.scenario === scenario) }));
}

function inBundle(index: EvidenceIndex): (entry: HistoryEntry) => boolean {
  const ids = new Set(index.drills.map((drill) => `${drill.journal.runId}/${drill.journal.drillId}`));
  return (entry) => ids.has(`${entry.runId}/${entry.drillId}`);
}

const VERIFY_COMMAND = `firedrill evidence verify THIS_FOLDER --public-key THE_PUBLISHED_KEY.pem`;

/** The same checks with standard tools (OpenSSL 3, jq, sha256sum), for an auditor without firedrill. */
const MANUAL_CHECK = [
  `openssl pkey -pubin -in ${PUBLIC_KEY_FILE} -outform DER | sha256sum     # the fingerprint`,
  `base64 -d ${SIGNATURE_FILE} > signature.bin`,
  `openssl pkeyutl -verify -pubin -inkey ${PUBLIC_KEY_FILE} -rawin -in ${MANIFEST_FILE} -sigfile signature.bin`,
  `jq -r '.files[] | "\\(.sha256)  \\(.path)"' ${MANIFEST_FILE} | sha256sum --check`,
].join('\n');

const checkText = (fingerprint: string) =>
  `${MANIFEST_FILE} lists every other file with its sha256; ${SIGNATURE_FILE} is its Ed25519 signature, by the key in ${PUBLIC_KEY_FILE}, whose fingerprint (sha256 of the key) is ${fingerprint}. Compare that fingerprint with the one its owner published elsewhere: a bundle can carry any key.`;

const DRILL_WORDS = 'A drill evidences a control only for what it did: one that could not run or was interrupted evidences none, and a failover to a standby restored no backup.';

// ---------------------------------------------------------------- Markdown

const mdLink = (text: string, path: string) => `[${md(text)}](${path})`;

const mdVerdict = (journal: Journal) => `${VERDICT_LABEL[journal.status]}${journal.status === 'passed' ? '' : `: ${md(verdictHeadline(journal))}`}`;

function mdControl(control: Control, drills: readonly BundledDrill[]): string[] {
  const covered = evidenceFor(control, drills);
  const cell = (figure: Figure) => md(`${figure.text}${figure.met === undefined ? '' : ` (${metWord(figure)})`}`);
  return [
    `### ${md(control.id)}: ${md(control.title)}`,
    '',
    `*${md(control.framework)}.* **Asks:** ${md(control.asks)}`,
    '',
    `**What the drills show:** ${md(control.shows)}`,
    '',
    md(coverage(covered)),
    '',
    ...(covered.length > 0
      ? [
          '| Date | Drill | Verdict | RTO | RPO |',
          '|:--|:--|:--|:--|:--|',
          ...covered.map(({ journal, dir }) =>
            `| ${formatWallTime(journal.startedAt)} | ${mdLink(drillTitle(journal), `${dir}/report.html`)} | ${mdVerdict(journal)} | ${figures(journal, 'rto').map(cell).join('<br>')} | ${figures(journal, 'rpo').map(cell).join('<br>')} |`,
          ),
          '',
        ]
      : []),
  ];
}

export function renderIndexMarkdown(index: EvidenceIndex): string {
  const journals = index.drills.map((drill) => drill.journal);
  const bundled = inBundle(index);
  const lines = [
    '# Evidence of tested restores',
    '',
    `${md(runHeadline(journals))}. Bundle made ${formatWallTime(index.createdAt)} by firedrill ${md(index.firedrill)}; signing key fingerprint \`${index.fingerprint}\`.`,
    '',
    '## Checking this bundle',
    '',
    md(checkText(index.fingerprint)),
    '',
    '```sh',
    VERIFY_COMMAND,
    '```',
    '',
    'Or with standard tools, from this folder (then check that no file is here that the manifest does not list):',
    '',
    '```sh',
    MANUAL_CHECK,
    '```',
    '',
    '## Controls',
    '',
    md(DRILL_WORDS),
    '',
    '| Control | Framework | Evidence in this bundle |',
    '|:--|:--|:--|',
    ...CONTROLS.map((control) => `| ${md(control.id)}: ${md(control.title)} | ${md(control.framework)} | ${md(coverage(evidenceFor(control, index.drills)))} |`),
    '',
    ...CONTROLS.flatMap((control) => mdControl(control, index.drills)),
    '## Drills in this bundle',
    '',
    '| Date | Drill | Run | Verdict | Server | Files |',
    '|:--|:--|:--|:--|:--|:--|',
    ...index.drills.map((drill) => {
      const { journal } = drill;
      const links = files(drill).map(([label, path]) => `[${label}](${path})`).join(' · ');
      return `| ${formatWallTime(journal.startedAt)} | ${md(drillTitle(journal))} | ${md(journal.runId)} | ${mdVerdict(journal)} | ${md(`${journal.engine} ${journal.versions.server ?? ''}`.trim())} | ${links} |`;
    }),
    '',
    ...(index.missing.length > 0
      ? ['Planned by these runs but not in this bundle:', '', ...index.missing.map((drill) => `- ${md(drill.drillId)}: ${md(drill.reason)}`), '']
      : []),
    '## Versions',
    '',
    '| Tool | Version | Drills |',
    '|:--|:--|--:|',
    ...toolVersions(index.drills).map((tool) => `| ${md(tool.name)} | ${md(tool.version)} | ${formatCount(tool.drills)} |`),
    '',
    '## History',
    '',
    historyIntro(index),
    '',
    ...historyByScenario(index).flatMap(({ scenario, entries }) => [
      `### ${md(scenario)}`,
      '',
      ...(entries.length === 0
        ? ['No history on record.', '']
        : [
            '| Date | Strategy | Verdict | RTO (verified) | Data loss | Journal |',
            '|:--|:--|:--|--:|--:|:--|',
            ...entries.map((entry) => `| ${formatWallTime(entry.at)} | ${md(entry.strategy)} | ${VERDICT_LABEL[entry.status]} | ${formatMs(entry.rtoVerifiedMs)} | ${formatMs(entry.dataLossMs)} | ${bundled(entry) ? 'in this bundle' : 'not in this bundle'} |`),
            '',
          ]),
    ]),
    '## What this bundle does not prove',
    '',
    ...LIMITS.map(([title, text]) => `- **${md(title)}** ${md(text)}`),
    '',
  ];
  return lines.join('\n');
}

function historyIntro(index: EvidenceIndex): string {
  if (index.historyLimit === 0) return 'No history was asked for (--history 0).';
  return `The last ${formatCount(index.historyLimit)} drills of each scenario on record in the history.jsonl of the reports folders the runs are in: figures only, and the journal only of those marked in this bundle.`;
}

// ---------------------------------------------------------------- HTML

function htmlFigures(journal: Journal, kind: 'rto' | 'rpo'): HtmlValue {
  return figures(journal, kind).map((figure) => html`<div>${figure.text} ${figure.met === undefined ? '' : pill(metWord(figure), figure.met ? 'pass' : 'fail')}</div>`);
}

const drillCell = (drill: BundledDrill) =>
  html`<a href="${drill.dir}/report.html">${drill.journal.scenario.name}</a><div class="muted">${strategyLabel(drill.journal)} · ${drill.journal.engine} · ${drill.journal.faultKind}</div>`;

/** The verdict, and why when the drill did not pass: a FAIL with every RTO and RPO met is a check or an integrity objective. */
const verdictCell = (journal: Journal) =>
  html`${pill(VERDICT_LABEL[journal.status], STATUS_TONE[journal.status])}${journal.status === 'passed' ? '' : html`<div class="muted">${verdictHeadline(journal)}</div>`}`;

function htmlControl(control: Control, number: number, drills: readonly BundledDrill[]): HtmlValue {
  const covered = evidenceFor(control, drills);
  return section(
    `control-${number}`,
    `${control.id}: ${control.title}`,
    html`${facts([
      ['Framework', control.framework],
      ['Asks', control.asks],
      ['What the drills show', control.shows],
      ['Evidence', coverage(covered)],
    ])}
    ${
      covered.length > 0
        ? html`<h3>Drills</h3>${table(covered, [
            { header: 'Date', cell: (drill) => formatWallTime(drill.journal.startedAt) },
            { header: 'Drill', cell: drillCell },
            { header: 'Verdict', cell: (drill) => verdictCell(drill.journal) },
            { header: 'RTO', cell: (drill) => htmlFigures(drill.journal, 'rto') },
            { header: 'RPO', cell: (drill) => htmlFigures(drill.journal, 'rpo') },
          ])}`
        : ''
    }`,
  );
}

export function renderIndexHtml(index: EvidenceIndex): string {
  const journals = index.drills.map((drill) => drill.journal);
  const bundled = inBundle(index);
  const nav = [
    ['check', 'Checking this bundle'],
    ['controls', 'Controls'],
    ['drills', 'Drills'],
    ['versions', 'Versions'],
    ['history', 'History'],
    ['limits', 'What it does not prove'],
  ];
  const body = html`
<header>
  <div class="eyebrow">firedrill · evidence bundle</div>
  <h1>Evidence of tested restores</h1>
  <p class="description">${runHeadline(journals)}.</p>
  <dl class="meta">
    ${metaItem('made', formatWallTime(index.createdAt))}
    ${metaItem('by firedrill', index.firedrill)}
    ${metaItem('signing key', html`<span class="mono">${index.fingerprint}</span>`)}
  </dl>
  <nav class="toc" aria-label="Sections">${nav.map(([id, label]) => html`<a href="#${id}">${label}</a>`)}</nav>
</header>
<main>
${section(
  'check',
  'Checking this bundle',
  html`<p>${checkText(index.fingerprint)}</p>
  <div class="cmd"><pre>${VERIFY_COMMAND}</pre></div>
  <p class="muted">Or with standard tools, from this folder (then check that no file is here that the manifest does not list):</p>
  <div class="cmd"><pre>${MANUAL_CHECK}</pre></div>`,
)}
${section(
  'controls',
  'Controls',
  html`<p>${DRILL_WORDS}</p>${table(
    CONTROLS.map((control, number) => ({ control, number })),
    [
      { header: 'Control', cell: ({ control, number }) => html`<a href="#control-${number + 1}">${control.id}</a><div class="muted">${control.title}</div>` },
      { header: 'Framework', cell: ({ control }) => control.framework },
      { header: 'Evidence in this bundle', cell: ({ control }) => coverage(evidenceFor(control, index.drills)) },
    ],
  )}`,
)}
${CONTROLS.map((control, number) => htmlControl(control, number + 1, index.drills))}
${section(
  'drills',
  'Drills in this bundle',
  html`${table(index.drills, [
    { header: 'Date', cell: (drill) => formatWallTime(drill.journal.startedAt) },
    { header: 'Drill', cell: drillCell },
    { header: 'Run', cell: (drill) => html`<span class="mono param">${drill.journal.runId}</span>` },
    { header: 'Verdict', cell: (drill) => verdictCell(drill.journal) },
    { header: 'Server', cell: (drill) => measuredCell(`${drill.journal.engine} ${drill.journal.versions.server ?? ''}`.trim()) },
    { header: 'Files', cell: (drill) => files(drill).map(([label, path], at) => html`${at > 0 ? ' · ' : ''}<a href="${path}">${label}</a>`) },
  ])}
  ${
    index.missing.length > 0
      ? html`<h3>Planned by these runs but not in this bundle</h3><ul>${index.missing.map((drill) => html`<li><span class="mono">${drill.drillId}</span>: ${drill.reason}</li>`)}</ul>`
      : ''
  }`,
)}
${section(
  'versions',
  'Versions',
  table(toolVersions(index.drills), [
    { header: 'Tool', cell: (tool) => tool.name },
    { header: 'Version', cell: (tool) => tool.version },
    { header: 'Drills', cell: (tool) => formatCount(tool.drills), numeric: true },
  ]),
)}
${section(
  'history',
  'History',
  html`<p>${historyIntro(index)}</p>${historyByScenario(index).map(
    ({ scenario, entries }) =>
      html`<h3>${scenario}</h3>${
        entries.length === 0
          ? html`<p class="muted">No history on record.</p>`
          : table(entries, [
              { header: 'Date', cell: (entry) => formatWallTime(entry.at) },
              { header: 'Strategy', cell: (entry) => entry.strategy },
              { header: 'Verdict', cell: (entry) => pill(VERDICT_LABEL[entry.status], STATUS_TONE[entry.status]) },
              { header: 'RTO (verified)', cell: (entry) => measuredCell(formatMs(entry.rtoVerifiedMs)), numeric: true },
              { header: 'Data loss', cell: (entry) => measuredCell(formatMs(entry.dataLossMs)), numeric: true },
              { header: 'Journal', cell: (entry) => (bundled(entry) ? 'in this bundle' : html`<span class="muted">not in this bundle</span>`) },
            ])
      }`,
  )}`,
)}
${section('limits', 'What this bundle does not prove', html`<ul>${LIMITS.map(([title, text]) => html`<li><strong>${title}</strong> ${text}</li>`)}</ul>`)}
</main>
<footer>firedrill ${index.firedrill} · evidence bundle · ${formatCount(index.drills.length)} drill${index.drills.length === 1 ? '' : 's'} · signed by ${index.fingerprint.slice(0, 16)}…</footer>`;
  return page({ title: `firedrill · evidence · ${runHeadline(journals)}`, body });
}
