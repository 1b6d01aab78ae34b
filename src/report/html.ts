import { gamedaySection } from './html-gameday.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { historyStrategy } from '../journal/history.js';
import type { ArtifactRecord, BackupRecord, CheckResult, HistoryEntry, InstanceRecord, Journal, ObjectiveResult, PhaseRecord, StorageRecord } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';
import type { CommandRecord } from '../util/exec.js';
import {
  NOT_MEASURED,
  VERDICT_LABEL,
  drillTitle,
  failuresFirst,
  formatBytes,
  formatCount,
  formatMs,
  formatRate,
  formatServerTime,
  formatWallTime,
  formatYesNo,
  damageSummary,
  runHeadline,
  strategyLabel,
  summarizeDrill,
  faultPause,
  locateShortfall,
  lostToDetection,
  verdictHeadline,
} from './format.js';
import { BACKUP_SHADE, OUTAGE_SHADE, chartModel, historyPoints, phaseColor, seriesRows, type ChartModel, type SampleUnit, type SeriesRow } from './html-charts.js';
import { CLIENT_SCRIPT } from './html-client.js';
import { STATUS_TONE, facts, html, jsonScript, page, pill, table, type Column, type HtmlValue, type SafeHtml, type Tone } from './html-markup.js';
import { runbookOf } from './runbook.js';

/**
 * The drill report: one HTML file with everything inlined (Chart.js, data, styles), to open
 * from disk, mail, or attach to an audit. Reads the journal and nothing else.
 */

let chartJs: string | undefined;

/**
 * Chart.js's UMD build, read once. chart.js's package exports do not list the UMD file, so
 * it is found beside the package's main entry; createRequire resolves from this module,
 * which works from src/ under vitest and from dist/src/ after tsc alike.
 */
export function chartJsSource(): string {
  chartJs ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.js'), 'utf8');
  return chartJs;
}

/** Renders one drill's self-contained HTML report. */
export function renderDrillHtml(journal: Journal): string {
  const charts = chartModel(journal);
  const body = html`
${masthead(journal)}
<main>
${verdictSection(journal)}
${gamedaySection(journal)}
${figuresSection(journal)}
${timelineSection(journal, charts)}
${phasesSection(journal, charts)}
${rpoSection(journal, charts)}
${samplesSection(charts)}
${backupSection(journal)}
${recoverySection(journal)}
${checksSection(journal)}
${historySection(journal, charts)}
${environmentSection(journal)}
${runbookSection(journal)}
${errorsSection(journal)}
</main>
<footer>firedrill ${journal.versions.firedrill} · journal format ${journal.formatVersion} · run ${journal.runId} · drill ${journal.drillId}</footer>
${jsonScript('firedrill-data', charts)}`;
  return page({
    title: `${VERDICT_LABEL[journal.status]} · ${drillTitle(journal)} · firedrill`,
    body,
    scripts: [chartJsSource(), CLIENT_SCRIPT],
  });
}

/**
 * Renders the index of a run of several drills, drills needing attention first.
 * `links[i]` is the (relative) address of `journals[i]`'s report.
 */
export function renderRunIndexHtml(journals: readonly Journal[], links: readonly string[]): string {
  const rows = failuresFirst(
    journals.map((journal, index) => ({ journal, link: links[index], summary: summarizeDrill(journal) })),
    (row) => row.journal.status,
  );
  const runIds = [...new Set(journals.map((journal) => journal.runId))];
  const started = journals.map((journal) => journal.startedAt).sort()[0];
  const body = html`
<header>
  <div class="eyebrow">firedrill · run report</div>
  <h1>${runHeadline(journals)}</h1>
  <dl class="meta">
    ${runIds.length > 0 ? metaItem(runIds.length === 1 ? 'run' : 'runs', runIds.join(', ')) : ''}
    ${started ? metaItem('started', formatWallTime(started)) : ''}
  </dl>
</header>
<main>
<section class="card">
  ${
    rows.length === 0
      ? html`<p class="note">This run has no drills.</p>`
      : table(rows, [
          { header: 'Verdict', cell: (row) => pill(row.summary.verdict, STATUS_TONE[row.journal.status]) },
          {
            header: 'Drill',
            cell: (row) => html`${row.link ? html`<a href="${row.link}">${row.journal.scenario.name}</a>` : row.journal.scenario.name}
              <div class="muted">${strategyLabel(row.journal)} · ${row.journal.engine} · ${row.journal.faultKind}</div>
              ${row.journal.status === 'passed' ? '' : html`<div>${verdictHeadline(row.journal)}</div>`}`,
          },
          { header: 'RTO (service)', cell: (row) => measuredCell(row.summary.rtoService), numeric: true },
          { header: 'RTO (verified)', cell: (row) => measuredCell(row.summary.rtoVerified), numeric: true },
          { header: 'Data loss', cell: (row) => measuredCell(row.summary.dataLoss), numeric: true },
          { header: 'Lost writes', cell: (row) => measuredCell(row.summary.lostWrites), numeric: true },
          { header: 'Objectives met', cell: (row) => row.summary.objectivesMet, numeric: true },
          // Only journals of a run that kept history know when their scenario last passed.
          ...(journals.some((journal) => journal.history)
            ? [{ header: 'Last passed', cell: (row: (typeof rows)[number]) => measuredCell(lastPassed(row.journal) ?? '—'), numeric: true }]
            : []),
        ])
  }
</section>
</main>
<footer>firedrill · ${formatCount(journals.length)} drill report${journals.length === 1 ? '' : 's'} in this run</footer>`;
  return page({ title: `firedrill · ${runHeadline(journals)}`, body });
}

// ---------------------------------------------------------------- page parts

/** A figure in a table cell; NOT_MEASURED is greyed so real numbers stand out. */
export function measuredCell(text: string): HtmlValue {
  return text === NOT_MEASURED ? html`<span class="muted">${text}</span>` : text;
}

/** One `label value` pair of a report's masthead. */
export function metaItem(label: string, value: HtmlValue): SafeHtml {
  return html`<div><dt>${label}</dt><dd>${value}</dd></div>`;
}

/** A titled card of a report, its id the target of the navigation links. */
export function section(id: string, title: string, content: HtmlValue): SafeHtml {
  return html`<section id="${id}" class="card" aria-labelledby="${id}-title"><h2 id="${id}-title">${title}</h2>${content}</section>`;
}

function notMeasured(what: string, why: string): SafeHtml {
  return html`<p class="note"><strong>${what}: not measured.</strong> ${why}</p>`;
}

/** A chart with its numbers: the canvas for the eye, a folded table for screen readers and copy-paste. */
export function chartFigure(id: string, label: string, height: number, caption: HtmlValue, data: SafeHtml, rows: number): SafeHtml {
  return html`<figure class="chart">
  <div class="chart-box" style="height: ${height}px"><canvas id="${id}" role="img" aria-label="${label}"></canvas></div>
  ${caption ? html`<figcaption>${caption}</figcaption>` : ''}
</figure>
<details class="data"><summary>Numbers behind this chart (${formatCount(rows)} row${rows === 1 ? '' : 's'})</summary>${data}</details>`;
}

const NAV: ReadonlyArray<readonly [id: string, label: string]> = [
  ['verdict', 'Verdict'],
  ['figures', 'Key figures'],
  ['timeline', 'Timeline'],
  ['phases', 'Phases'],
  ['rpo', 'Data loss'],
  ['samples', 'Samples'],
  ['backup', 'Backup'],
  ['recovery', 'Fault & recovery'],
  ['checks', 'Checks'],
  ['environment', 'Environment'],
  ['runbook', 'Runbook'],
];

/**
 * When the drill's scenario last passed: this drill, an earlier one from the history (with its
 * strategy when that was another), or never on record. Undefined without history.
 */
function lastPassed(journal: Journal): string | undefined {
  if (journal.status === 'passed') return 'this run';
  if (!journal.history) return undefined;
  const last = journal.history.lastPassed;
  if (!last) return 'never on record';
  return `${formatWallTime(last.at)}${last.strategy === historyStrategy(journal) ? '' : ` (${last.strategy})`}`;
}

/** The comparison this drill was part of: its entry and run, linked to the run's compare.html beside the drill's folder. */
function comparisonMeta(journal: Journal): SafeHtml | undefined {
  const comparison = journal.comparison;
  if (!comparison) return undefined;
  const run = comparison.repetitions > 1 ? ` · run ${comparison.repetition} of ${comparison.repetitions}` : '';
  return metaItem('comparison', html`<a href="../compare.html">${comparison.label}${run}</a>`);
}

function masthead(journal: Journal): SafeHtml {
  // The History section sits right before Environment, and only journals with history have it.
  // And a game day's own section right after the verdict.
  const sections = NAV.flatMap((entry) =>
    entry[0] === 'environment' && journal.history ? [['history', 'History'] as const, entry] : entry[0] === 'verdict' && journal.gameday ? [entry, ['gameday', 'Game day'] as const] : [entry],
  );
  const nav = journal.errors.length > 0 ? [...sections, ['errors', 'Errors'] as const] : sections;
  const passedLast = journal.status === 'passed' ? undefined : lastPassed(journal);
  return html`<header>
  <div class="eyebrow">firedrill · disaster-recovery drill</div>
  <h1>${journal.scenario.name}</h1>
  ${journal.scenario.description ? html`<p class="description">${journal.scenario.description}</p>` : ''}
  <dl class="meta">
    ${metaItem('strategy', journal.strategy)}
    ${metaItem('engine', serverName(journal))}
    ${metaItem('provider', journal.provider)}
    ${metaItem('fault', journal.faultKind)}
    ${metaItem('started', formatWallTime(journal.startedAt))}
    ${metaItem('took', formatDuration(journal.durationMs))}
    ${comparisonMeta(journal)}
    ${journal.sweep ? metaItem('sweep', html`<a href="../sweep.html">${journal.sweep.label} (${journal.sweep.index + 1} of ${journal.sweep.count})</a>`) : ''}
    ${passedLast ? metaItem('last passed', passedLast) : ''}
  </dl>
  <nav class="toc" aria-label="Sections">${nav.map(([id, label]) => html`<a href="#${id}">${label}</a>`)}</nav>
</header>`;
}

/** `PostgreSQL 16.4` out of `PostgreSQL 16.4 (Debian 16.4-1.pgdg120+2) on x86_64-pc-linux-gnu`; the full string is under Environment. */
function serverName(journal: Journal): string {
  const server = journal.versions.server?.split(' on ')[0]?.replace(/\s*\(.*\)\s*$/, '');
  return server ? `${journal.engine} · ${server}` : journal.engine;
}

/** What the verdict means for whoever gates on it (the exit codes of DESIGN.md). */
const VERDICT_MEANING: Readonly<Record<Journal['status'], string>> = {
  passed: 'Each objective and check is judged on its own; all of them passed. Exit code 0.',
  failed: 'The drill ran to the end and breached at least one objective or check. Exit code 1.',
  error: 'The drill could not run to the end; whatever it did not measure counts as not met. Exit code 2.',
  interrupted: 'The drill was stopped before it finished; nothing it did not measure counts as met. Exit code 130.',
};

function resultPill(passed: boolean, brokenTone: Tone): SafeHtml {
  return passed ? pill('PASS', 'pass') : pill('FAIL', brokenTone);
}

/** What the scenario as run declared, in words, for a drill that never got to judge it. */
function declaredObjectives(journal: Journal): string[] {
  const declared = (journal.scenario.spec as { objectives?: { rto?: unknown; rpo?: unknown; damageUndone?: boolean; equalToSource?: boolean; checks?: Array<{ name: string }> } }).objectives ?? {};
  return [
    ...(declared.rto !== undefined ? ['an RTO'] : []),
    ...(declared.rpo !== undefined ? ['an RPO'] : []),
    ...(declared.damageUndone ? ['the damage undone'] : []),
    ...(declared.equalToSource ? ['equality with the source'] : []),
    ...(declared.checks ?? []).map((check) => `check "${check.name}"`),
  ];
}

function verdictSection(journal: Journal): SafeHtml {
  const tone = STATUS_TONE[journal.status];
  const firstError = journal.errors[0];
  const notRun = journal.status === 'error' || journal.status === 'interrupted';
  const objectives = journal.objectives.length
    ? table<ObjectiveResult>(journal.objectives, [
        { header: 'Result', cell: (o) => resultPill(o.passed, notRun ? tone : 'fail') },
        { header: 'Objective', cell: (o) => html`<strong>${o.name}</strong>` },
        { header: 'Target', cell: (o) => o.target, numeric: true },
        { header: 'Measured', cell: (o) => o.measured, numeric: true },
        { header: 'Note', cell: (o) => html`<span class="note-text">${o.reason ?? o.detail ?? (o.passed ? 'within target' : 'outside target')}</span>` },
      ])
    : notRun && declaredObjectives(journal).length > 0
      ? html`<p class="note">No objective was judged: the drill did not run to the end. The scenario declares ${declaredObjectives(journal).join(', ')}; each counts as not met.</p>`
      : html`<p class="note">The scenario declares no objectives.</p>`;
  return html`<section id="verdict" class="card verdict tone-${tone}" aria-labelledby="verdict-title">
  <h2 id="verdict-title" class="muted">Verdict</h2>
  <div class="verdict-head">
    <span class="badge">${VERDICT_LABEL[journal.status]}</span>
    <div>
      <p class="headline">${verdictHeadline(journal)}</p>
      <p class="muted">${VERDICT_MEANING[journal.status]}</p>
    </div>
  </div>
  ${
    notRun && firstError
      ? html`<div class="callout"><strong class="message">${firstError.phase}: ${firstError.message}</strong>${firstError.hint ? html`<span>What to do: ${firstError.hint}</span>` : ''}</div>`
      : ''
  }
  ${objectives}
</section>`;
}

function figure(label: string, value: string, sub: HtmlValue, tone?: Tone): SafeHtml {
  const measured = value !== NOT_MEASURED;
  return html`<div class="figure"><div class="label">${label}</div><div class="value${measured ? (tone ? ` tone-${tone}` : '') : ' unmeasured'}">${value}</div><div class="sub">${sub}</div></div>`;
}

function figuresSection(journal: Journal): SafeHtml {
  const m = journal.measurements;
  const resolution = m.resolutionMs !== null ? `, ±${formatDuration(m.resolutionMs)}` : '';
  const damageValue = m.damageUndone === null && journal.fault && journal.fault.table === undefined ? 'n/a' : formatYesNo(m.damageUndone);
  const damageSub = journal.damage
    ? damageSummary(journal.damage)
    : damageValue === 'n/a'
      ? 'the fault damaged no rows'
      : 'rows the fault destroyed';
  return section(
    'figures',
    'Key figures',
    html`<div class="figures">
  ${figure('RTO (service)', formatMs(m.rtoServiceMs), `fault → first acknowledged write${resolution}`)}
  ${figure('RTO (verified)', formatMs(m.rtoVerifiedMs), `fault → every check passed${resolution}`)}
  ${figure('Data loss', formatMs(m.dataLossMs), 'last write acked before the fault → newest surviving')}
  ${figure('Lost writes', formatCount(m.lostWrites), journal.ledger ? `of ${formatCount(journal.ledger.acked)} acknowledged` : 'acknowledged, then missing')}
  ${figure('Lost to detection', lostToDetection(journal), 'unnoticed / writes acknowledged between the fault and its detection')}
  ${figure('Damage undone', damageValue, damageSub, m.damageUndone === null ? undefined : m.damageUndone ? 'pass' : 'fail')}
</div>`,
  );
}

function timelineSection(journal: Journal, charts: ChartModel): SafeHtml {
  if (!charts.timeline) {
    return section('timeline', 'Workload timeline', notMeasured('Throughput and latency', 'The workload never ran, so there is no time series.'));
  }
  const { rows, bucketsPerRow, bucket } = seriesRows(journal);
  const latencyHeader = bucketsPerRow > 1 ? ' (worst)' : '';
  const data = table<SeriesRow>(
    rows,
    [
      { header: 'From (s)', cell: (r) => r.from.toFixed(2), numeric: true },
      { header: 'To (s)', cell: (r) => r.to.toFixed(2), numeric: true },
      { header: 'Acked/s', cell: (r) => r.ackedPerSecond.toFixed(1), numeric: true },
      { header: 'Failed + unknown/s', cell: (r) => r.failedPerSecond.toFixed(1), numeric: true },
      { header: `p50 ms${latencyHeader}`, cell: (r) => latencyCell(r.p50), numeric: true },
      { header: `p95 ms${latencyHeader}`, cell: (r) => latencyCell(r.p95), numeric: true },
      { header: `p99 ms${latencyHeader}`, cell: (r) => latencyCell(r.p99), numeric: true },
    ],
    bucketsPerRow > 1
      ? `Each row merges ${bucketsPerRow} buckets of ${bucket} s: rates are averages, latencies the worst bucket. Times on the drill clock.`
      : `One row per ${bucket} s bucket. Times on the drill clock.`,
  );
  const w = journal.workload;
  const pause = faultPause(journal);
  const caption = html`${formatCount(w.writers)} writer${w.writers === 1 ? '' : 's'}, target ${w.targetRate === null ? 'as fast as possible' : formatRate(w.targetRate)};
    ${formatCount(w.acked)} acknowledged, ${formatCount(w.failed)} failed, ${formatCount(w.indeterminate)} with unknown outcome${
      w.resumed ? html`; then, after the verdict, ${formatCount(w.resumed.acked)} written to the restored database as an application reconnecting would (not in the ledger)` : ''
    }.
    Shaded: <span class="swatch" style="background: ${BACKUP_SHADE}"></span>backup <span class="swatch" style="background: ${OUTAGE_SHADE}"></span>outage (fault → service restored).${w.achievedRate === undefined ? '' : ` Achieved before the fault: ${formatRate(w.achievedRate)}.`}`;
  return section(
    'timeline',
    'Workload timeline',
    html`${w.shortfall ? html`<p class="note">Target not reached: ${w.shortfall}.</p>` : ''}${pause ? html`<p class="note">Writes held back: ${pause}.</p>` : ''}${chartFigure('chart-timeline', 'Workload throughput and latency over the drill, with fault, detection and recovery events', 340, caption, data, rows.length)}`,
  );
}

function formatSample(unit: SampleUnit, value: number | null): string {
  if (value === null) return NOT_MEASURED;
  return unit === 'bytes' ? formatBytes(value) : unit === 'ms' ? formatMs(value) : formatCount(value);
}

/** What the strategy sampled while the workload ran (a standby's lag): the last sample is how far behind it was when the fault struck. */
function samplesSection(charts: ChartModel): SafeHtml {
  const chart = charts.samples;
  if (!chart) return html``;
  const times = [...new Set(chart.datasets.flatMap((dataset) => dataset.points.map(([x]) => x)))].sort((a, b) => a - b);
  const rows = times.map((x) => ({ x, values: chart.datasets.map((dataset) => dataset.points.find(([at]) => at === x)?.[1] ?? null) }));
  const data = table(
    rows,
    [
      { header: 'Drill time (s)', cell: (row) => row.x.toFixed(2), numeric: true },
      ...chart.datasets.map((dataset, index) => ({
        header: dataset.label,
        cell: (row: (typeof rows)[number]) => formatSample(dataset.unit, row.values[index] ?? null),
        numeric: true,
      })),
    ],
    'One row per sample, every second while the workload ran. Times on the drill clock.',
  );
  const last = rows.at(-1)!;
  const caption = html`Sampled every second until the fault; the last sample (${chart.datasets.map((dataset, index) => `${dataset.name} ${formatSample(dataset.unit, last.values[index] ?? null)}`).join(', ')}) is how things stood when it struck.`;
  return section('samples', 'Sampled while the workload ran', chartFigure('chart-samples', 'What the strategy sampled while the workload ran', 240, caption, data, rows.length));
}

function latencyCell(value: number | null): string {
  return value === null ? '—' : value.toFixed(2);
}

function phasesSection(journal: Journal, charts: ChartModel): SafeHtml {
  if (!charts.phases) return section('phases', 'Phases', notMeasured('Phase timeline', 'No phase was recorded.'));
  const data = table<PhaseRecord>(journal.phases, [
    { header: 'Phase', cell: (p) => p.name },
    { header: 'Start (s)', cell: (p) => (p.startMs / 1000).toFixed(2), numeric: true },
    { header: 'End (s)', cell: (p) => (p.endMs / 1000).toFixed(2), numeric: true },
    { header: 'Duration', cell: (p) => formatDuration(p.durationMs), numeric: true },
    { header: 'Result', cell: (p) => (p.ok ? pill('ok', 'pass') : pill('failed', 'fail')) },
    { header: 'Detail', cell: (p) => p.detail ?? '' },
  ]);
  const height = Math.max(160, journal.phases.length * 26 + 60);
  return section(
    'phases',
    'Phases',
    html`${chartFigure('chart-phases', 'Waterfall of the drill phases on the drill clock', height, 'Each bar is one phase on the drill clock. Vertical lines: the fault (red) and service restored (green).', data, journal.phases.length)}
${rtoBreakdown(journal)}`,
  );
}

/** Where the recovery time went, as one proportional bar and its numbers. */
function rtoBreakdown(journal: Journal): SafeHtml {
  const parts = Object.entries(journal.measurements.rtoBreakdown).filter(([, ms]) => ms > 0);
  const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
  if (total === 0) return html``;
  const resolution = journal.measurements.resolutionMs;
  return html`<h3>Where the recovery time went</h3>
<div class="breakdown" role="img" aria-label="Recovery time by phase">${parts.map(
    ([name, ms]) => html`<span style="width: ${((ms / total) * 100).toFixed(2)}%; background: ${phaseColor(name)}" title="${name}: ${formatDuration(ms)}"></span>`,
  )}</div>
${compactTable(parts, [
  { header: 'Phase', cell: ([name]) => html`<span class="swatch" style="background: ${phaseColor(name)}"></span>${name}` },
  { header: 'Time', cell: ([, ms]) => formatDuration(ms), numeric: true },
  { header: 'Share', cell: ([, ms]) => `${((ms / total) * 100).toFixed(1)} %`, numeric: true },
])}
<p class="muted">Together ${formatDuration(total)}.${resolution !== null ? ` Readiness was polled every ${formatDuration(resolution)}: RTO figures cannot tell apart instants closer than that.` : ''}</p>`;
}

function rpoSection(journal: Journal, charts: ChartModel): SafeHtml {
  const { ledger, damage } = journal;
  if (!ledger || !charts.rpo) {
    return section('rpo', 'Data loss (RPO)', notMeasured('Data loss', 'There is no ledger result: the drill did not get as far as comparing acknowledged writes with the restored database.'));
  }
  const bars = charts.rpo;
  const chart = chartFigure(
    'chart-rpo',
    'Rows lost, recovered, unexpected, and the fault damage undone',
    Math.max(150, bars.length * 30 + 50),
    '',
    table(bars, [
      { header: 'Measure', cell: (b) => b.label },
      { header: 'Rows', cell: (b) => b.text, numeric: true },
    ]),
    bars.length,
  );
  const ledgerTable = facts([
    ['acknowledged', `${formatCount(ledger.acked)} (${formatCount(ledger.ackedBeforeFault)} before the fault, ${formatCount(ledger.ackedAfterFault)} after)`],
    ['present after restore', formatCount(ledger.present)],
    ['lost', html`<strong>${formatCount(ledger.lost)}</strong> acknowledged writes missing`],
    ['lost before fault', formatCount(ledger.lostBeforeFault)],
    ['lost to detection', html`${formatCount(ledger.lostToDetection)} <span class="muted">acked between the fault and its detection: the cost of slow detection</span>`],
    ['lost after detection', journal.gameday ? html`${formatCount(ledger.lostAfterDetection)} <span class="muted">acked after the detection, while the application wrote on to the damaged database until service moved</span>` : undefined],
    ['recovered', html`${formatCount(ledger.recovered)} <span class="muted">of ${formatCount(ledger.indeterminate)} with unknown outcome found present</span>`],
    ['unexpected', html`${formatCount(ledger.unexpected)} <span class="muted">never acknowledged, or after the recovery target</span>`],
    ['failed writes', formatCount(ledger.failed)],
    ['data loss', formatMs(ledger.dataLossMs)],
    ['last acked before fault', ledger.lastAckedBeforeFaultUs === null ? undefined : formatServerTime(ledger.lastAckedBeforeFaultUs)],
    ['newest surviving', ledger.newestSurvivingUs === null ? undefined : formatServerTime(ledger.newestSurvivingUs)],
  ]);
  const damageFacts = damage
    ? facts([
        ['table', html`<code>${damage.table}</code>${damage.tablePresent ? '' : html` <span class="muted">(table missing after restore)</span>`}`],
        ['rows affected', formatCount(damage.affectedRows)],
        ['restored', formatCount(damage.restoredRows)],
        ['missing', formatCount(damage.missingRows)],
        ['explained by lost writes', formatCount(damage.explainedByLostWrites)],
        ['undone', damage.undone ? pill('yes', 'pass') : pill('no', 'fail')],
      ])
    : html`<p class="muted">No logical damage to check: the fault did not change rows.</p>`;
  const sample = ledger.lostSample.length
    ? html`<details><summary>Sample of lost writes (${formatCount(ledger.lostSample.length)} of ${formatCount(ledger.lost)})</summary>${table(ledger.lostSample, [
        { header: 'Writer', cell: (w) => w.writer, numeric: true },
        { header: 'Sequence', cell: (w) => w.seq, numeric: true },
        { header: 'Server commit time', cell: (w) => formatServerTime(w.serverTimeUs), numeric: true },
      ])}</details>`
    : '';
  return section(
    'rpo',
    'Data loss (RPO)',
    html`${chart}
<div class="grid-2"><div><h3>Ledger</h3>${ledgerTable}</div><div><h3>Damage</h3>${damageFacts}</div></div>
${sample}`,
  );
}

/** A checksum shortened on screen (the whole in its tooltip) and whole in print, where there are no tooltips. */
function shortSha(sha: string | undefined): SafeHtml | string {
  return sha ? html`<span class="sha" title="${sha}"><span class="sha-short">${sha.slice(0, 12)}…</span><span class="sha-full">${sha}</span></span>` : '—';
}

/** Artifacts listed in the open; the rest of a long list is folded under them. */
const ARTIFACTS_SHOWN = 25;

function backupSection(journal: Journal): SafeHtml {
  const backup = journal.backup;
  let summary: SafeHtml;
  if (backup) {
    const { throughputBefore: before, throughputDuring: during, latencyP95Before: latencyBefore, latencyP95During: latencyDuring } = backup;
    const relative = (from: number | undefined, to: number | undefined) => (from && to !== undefined ? ` (${to >= from ? '+' : '−'}${Math.abs(((to - from) / from) * 100).toFixed(1)} %)` : '');
    const change = relative(before, during);
    const paced = journal.workload.targetRate !== null;
    const consistent = backup.consistentAt;
    summary = html`<div class="figures">
  ${figure('Size', formatBytes(backup.sizeBytes), `${formatCount(backup.sizeBytes)} bytes`)}
  ${figure('Duration', formatDuration(backup.durationMs), `drill time ${(backup.startMs / 1000).toFixed(2)}–${(backup.endMs / 1000).toFixed(2)} s`)}
  ${figure('Throughput before', formatRate(before), 'workload before the backup')}
  ${figure('Throughput during', formatRate(during), `workload while it ran${change}${paced ? '; paced, so the latency shows the cost' : ''}`)}
  ${figure('Write latency p95 during', latencyDuring === undefined ? 'not measured' : `${latencyDuring.toFixed(1)} ms`, latencyBefore === undefined ? 'no write before the backup' : `${latencyBefore.toFixed(1)} ms before it${relative(latencyBefore, latencyDuring)}`)}
</div>
${
  consistent
    ? html`<h3>Consistent at</h3>${facts([
        ['server time', consistent.serverTimeUs === undefined ? undefined : formatServerTime(consistent.serverTimeUs)],
        ['position', consistent.position === undefined ? undefined : html`<code>${consistent.position}</code>`],
        ['detail', consistent.detail],
      ])}`
    : ''
}`;
  } else {
    summary = notMeasured('Backup', 'No backup was taken: the drill stopped before its backup phase.');
  }
  const artifactTable = (rows: readonly ArtifactRecord[]) =>
    table<ArtifactRecord>(rows, [
      { header: 'Name', cell: (a) => html`<code>${a.name}</code>` },
      { header: 'Kind', cell: (a) => a.kind },
      { header: 'Location / key', cell: (a) => html`<strong>${a.location}</strong> <span class="mono">${a.key}</span>` },
      { header: 'Size', cell: (a) => html`<span title="${formatCount(a.sizeBytes)} bytes">${formatBytes(a.sizeBytes)}</span>`, numeric: true },
      { header: 'sha256', cell: (a) => shortSha(a.sha256) },
      { header: 'Duration', cell: (a) => (a.durationMs === undefined ? '—' : formatDuration(a.durationMs)), numeric: true },
    ]);
  // A backup tool's repository holds a file per relation: the first rows, and the rest folded.
  const shown = journal.artifacts.slice(0, ARTIFACTS_SHOWN);
  const folded = journal.artifacts.slice(ARTIFACTS_SHOWN);
  const artifacts = journal.artifacts.length
    ? html`${artifactTable(shown)}${folded.length ? html`<details class="data"><summary>${formatCount(folded.length)} more artifacts (${formatBytes(folded.reduce((sum, a) => sum + a.sizeBytes, 0))})</summary>${artifactTable(folded)}</details>` : ''}`
    : html`<p class="muted">No artifacts were recorded.</p>`;
  const backups =
    (journal.backups?.length ?? 0) > 1
      ? html`<h3>Backups taken</h3>${table<BackupRecord>(journal.backups!, [
          { header: 'Backup', cell: (b) => `${b.index ?? ''}${b.index === journal.recovery?.backupUsed ? ' (restored)' : ''}` },
          { header: 'Drill time', cell: (b) => `${(b.startMs / 1000).toFixed(2)}–${(b.endMs / 1000).toFixed(2)} s` },
          { header: 'Duration', cell: (b) => formatDuration(b.durationMs), numeric: true },
          { header: 'Size', cell: (b) => formatBytes(b.sizeBytes), numeric: true },
          { header: 'Consistent at', cell: (b) => (b.consistentAt?.serverTimeUs === undefined ? (b.consistentAt?.detail ?? '—') : formatServerTime(b.consistentAt.serverTimeUs)) },
        ])}`
      : '';
  const storage = journal.storage?.length
    ? html`<h3>Storage</h3>${table<StorageRecord>(journal.storage, [
        { header: 'Location', cell: (l) => html`<strong>${l.name}</strong>${l.destroyed ? html` ${pill('destroyed', 'fail')}` : ''}` },
        { header: 'Type', cell: (l) => l.type },
        { header: 'Region', cell: (l) => l.region },
        { header: 'Address', cell: (l) => html`<span class="mono">${l.address}</span>` },
        {
          header: 'Copy',
          cell: (l) =>
            l.copy
              ? `from "${l.copy.from}" every ${formatDuration(l.copy.everyMs)}: ${formatCount(l.copy.objects)} objects, ${formatBytes(l.copy.bytes)}, at most ${formatDuration(l.copy.maxLagMs)} behind${l.copy.behind.length ? `; not yet copied when it ended: ${l.copy.behind.join(', ')}` : ''}`
              : '—',
        },
      ])}`
    : '';
  return section('backup', 'Backup and artifacts', html`${summary}${backups}${storage}<h3>Artifacts</h3>${artifacts}`);
}

const SOURCE_AFTER: Readonly<Record<NonNullable<Journal['fault']>['sourceAfter'] & string, string>> = {
  running: 'still serving',
  stopped: 'down, its data directory intact (crash recovery possible)',
  gone: 'gone with its data',
};

/** `42 MB/s over fetch and restore, 21 % of this disk's 200 MB/s with fsync: the tool, not the disk, bounds it`. */
function restoreRate(journal: Journal): string {
  const rate = journal.restoreThroughput!;
  const disk = journal.calibration.diskWriteBytesPerSecond;
  const base = `${formatBytes(rate.bytesPerSecond)}/s over fetch and restore`;
  if (rate.efficiency === null || !disk) return base;
  const bound = rate.efficiency >= 0.8 ? 'the disk bounds it' : rate.efficiency >= 0.4 ? 'the disk and the tool both weigh' : 'the tool (decompression, one stream, checks), not the disk, bounds it';
  return `${base}, ${Math.round(rate.efficiency * 100)} % of this disk's ${formatBytes(disk)}/s with fsync: ${bound}`;
}

function recoverySection(journal: Journal): SafeHtml {
  const { fault, recovery } = journal;
  const faultFacts = fault
    ? facts([
        ['kind', fault.kind],
        ['what happened', fault.description],
        ['at', `drill time ${(fault.atMs / 1000).toFixed(2)} s · ${formatWallTime(fault.wallTime)}`],
        ['server time', formatServerTime(fault.point.serverTimeUs)],
        ['position', fault.point.position === undefined ? undefined : html`<code>${fault.point.position}</code>`],
        ['transaction', fault.point.transaction === undefined ? undefined : html`<code>${fault.point.transaction}</code>`],
        [
          'detected',
          journal.gameday
            ? fault.detectedAtMs === undefined
              ? 'never marked by the team'
              : `${formatDuration(fault.detectedAtMs - fault.atMs)} after the fault (the team's mark)`
            : fault.detectedAtMs === undefined
              ? `after ${formatDuration(fault.detectAfterMs)} (scenario)`
              : `${formatDuration(fault.detectedAtMs - fault.atMs)} after the fault (scenario: ${formatDuration(fault.detectAfterMs)})`,
        ],
        ['how it was noticed', fault.detection],
        ['server afterwards', fault.sourceAfter === undefined ? undefined : SOURCE_AFTER[fault.sourceAfter]],
        ['storage destroyed', fault.destroyedLocations?.length ? fault.destroyedLocations.join(', ') : undefined],
        ['table', fault.table === undefined ? undefined : html`<code>${fault.table}</code>`],
        ['rows affected', fault.affectedRows === undefined ? undefined : formatCount(fault.affectedRows)],
        ['damage digest', fault.damageDigest === undefined ? undefined : shortSha(fault.damageDigest)],
        ['broken in the backups', journal.latentFaults?.length ? html`${journal.latentFaults.map((latent) => html`<div>${latent.description}</div>`)}` : undefined],
      ])
    : notMeasured('Fault', 'No fault was injected: the drill stopped before it.');
  const notes = fault?.notes?.length ? html`<h3>What these figures mean</h3><ul class="notes">${fault.notes.map((note) => html`<li>${note}</li>`)}</ul>` : '';
  const recoveryFacts = recovery
    ? facts([
        ['target', html`<code>${recovery.target}</code>`],
        ['method', html`<code>${recovery.method}</code>`],
        ['reached', recovery.reached === null ? pill('unknown', 'neutral') : recovery.reached ? pill('yes', 'pass') : pill('no, stopped early', 'fail')],
        ['detail', recovery.detail],
        ['missing from the archive', recovery.gap ? `${recovery.gap.what} (location "${recovery.gap.location}")` : undefined],
        ['replayed up to', recovery.stoppedAtUs === undefined ? undefined : formatServerTime(recovery.stoppedAtUs)],
        // A failover or a restart reads no backup.
        ['backup restored', recovery.backupUsed === undefined || !recovery.location ? undefined : `backup ${recovery.backupUsed}, read from "${recovery.location}"`],
        ['tried before it', recovery.attempts?.length ? html`${recovery.attempts.map((attempt) => html`<div>backup ${attempt.backup}: ${attempt.defect}</div>`)}` : undefined],
        ['data brought back', journal.volume ? `${formatBytes(journal.volume.dataBytes)}${journal.volume.logBytes !== null ? `, and ${formatBytes(journal.volume.logBytes)} of ${journal.volume.log ?? 'log'} replayed` : ''}` : undefined],
        ['restore write rate', journal.restoreThroughput ? restoreRate(journal) : undefined],
        ['log replay rate', journal.replayThroughput ? `at most ${formatBytes(journal.replayThroughput.bytesPerSecond)}/s: ${formatBytes(journal.replayThroughput.bytes)} of ${journal.volume?.log ?? 'log'} replayed, from the backup's start to where recovery stopped, in the ${formatMs(journal.replayThroughput.ms)} of the replay phase (one thread on the server; what a server replays while it starts up is not in that phase)` : undefined],
      ])
    : notMeasured('Recovery', 'No restore was attempted.');
  return section(
    'recovery',
    'Fault and recovery',
    html`<div class="grid-2"><div><h3>Fault</h3>${faultFacts}${notes}</div><div><h3>Recovery</h3>${recoveryFacts}</div></div>`,
  );
}

function checksSection(journal: Journal): SafeHtml {
  const content = journal.checks.length
    ? table<CheckResult>(journal.checks, [
        { header: 'Result', cell: (c) => resultPill(c.passed, 'fail') },
        { header: 'Check', cell: (c) => html`<strong>${c.name}</strong>${c.sql ? html`<div class="mono muted">${c.sql}</div>` : ''}` },
        { header: 'Expected', cell: (c) => c.expect ?? '' },
        { header: 'Value', cell: (c) => c.value ?? '' },
        { header: 'Detail', cell: (c) => c.detail ?? '' },
      ])
    : html`<p class="note">No checks ran${journal.status === 'error' || journal.status === 'interrupted' ? ': the drill stopped before verification.' : '.'}</p>`;
  return section('checks', 'Checks', content);
}

/** The trend of this scenario and strategy over earlier runs ("has our restore got slower as the data grew?"). */
function historySection(journal: Journal, charts: ChartModel): SafeHtml {
  const points = historyPoints(journal);
  if (!points) return html``;
  const strategy = historyStrategy(journal);
  const last = lastPassed(journal);
  const passedFacts = facts([['last passing drill of this scenario', last === 'this run' ? 'this one' : last]]);
  if (!charts.history) {
    return section(
      'history',
      'History',
      html`${passedFacts}<p class="note">No earlier drill of ${journal.scenario.name} with ${strategy} is in the reports folder's history.jsonl: the trend starts with this one.</p>`,
    );
  }
  // A new scenario hash means the drill itself changed (dataset, load, fault): say so where it happened.
  const rows = points.map((entry, index) => ({ entry, current: index === points.length - 1, changed: index > 0 && entry.scenarioHash !== points[index - 1]!.scenarioHash }));
  const data = table(
    rows,
    [
      { header: 'Ran', cell: (r) => (r.current ? html`<strong>this run</strong>` : formatWallTime(r.entry.at)) },
      { header: 'Verdict', cell: (r) => pill(VERDICT_LABEL[r.entry.status], STATUS_TONE[r.entry.status]) },
      { header: 'RTO (service)', cell: (r) => measuredCell(formatMs(r.entry.rtoServiceMs)), numeric: true },
      { header: 'RTO (verified)', cell: (r) => measuredCell(formatMs(r.entry.rtoVerifiedMs)), numeric: true },
      { header: 'Data loss', cell: (r) => measuredCell(formatMs(r.entry.dataLossMs)), numeric: true },
      { header: 'Lost writes', cell: (r) => measuredCell(formatCount(r.entry.lostWrites)), numeric: true },
      { header: 'Backup size', cell: (r) => (r.entry.backupSizeBytes === null ? measuredCell(NOT_MEASURED) : formatBytes(r.entry.backupSizeBytes)), numeric: true },
      { header: 'Scenario', cell: (r) => scenarioChange(r.entry, r.changed) },
    ],
    `Run ${journal.runId} and the ${formatCount(points.length - 1)} drill${points.length === 2 ? '' : 's'} of ${journal.scenario.name} with ${strategy} before it, oldest first.`,
  );
  const changes = rows.filter((row) => row.changed).map((row) => `${row.current ? 'this run' : formatWallTime(row.entry.at)}${row.entry.dataset ? ` (${row.entry.dataset})` : ''}`);
  const caption = html`Each point is one drill of this scenario with ${strategy}, oldest first, this run last. Points of drills that did not pass are red. Gaps: not measured.${
    changes.length > 0 ? ` The scenario itself changed from the drill of ${changes.join('; of ')} on: compare across that point with care.` : ''
  }`;
  return section(
    'history',
    'History',
    html`${passedFacts}${chartFigure('chart-history', `RTO and data loss of ${journal.scenario.name} with ${strategy} over the last ${points.length} drills`, 260, caption, data, rows.length)}`,
  );
}

/** The scenario's hash, and what it ran on when it changed since the drill before. */
function scenarioChange(entry: HistoryEntry, changed: boolean): SafeHtml {
  const hash = html`<span class="sha" title="${entry.scenarioHash}">${entry.scenarioHash.slice(0, 8)}</span>`;
  return changed ? html`${pill('changed', 'info')} ${hash}${entry.dataset ? html`<div class="muted">${entry.dataset}</div>` : ''}` : hash;
}

function environmentSection(journal: Journal): SafeHtml {
  const { versions, host, calibration } = journal;
  const tools = versions.tools.length
    ? compactTable(versions.tools, [
        { header: 'Tool', cell: (t) => html`<code>${t.name}</code>` },
        { header: 'Version', cell: (t) => (t.missing !== undefined ? pill(`missing: ${t.missing}`, 'fail') : (t.version ?? '—')) },
      ])
    : html`<p class="muted">No tools recorded.</p>`;
  const kept = journal.kept?.length
    ? html`<h3>Left for inspection (--keep)</h3>${table(journal.kept, [
        { header: 'Kind', cell: (r) => r.kind },
        { header: 'Where', cell: (r) => html`<code>${r.where}</code>` },
      ])}`
    : '';
  let spec: string | undefined;
  try {
    spec = JSON.stringify(journal.scenario.spec, null, 2);
  } catch {
    spec = undefined;
  }
  return section(
    'environment',
    'Environment',
    html`<div class="grid-2">
  <div><h3>Versions</h3>${facts([
    ['firedrill', versions.firedrill],
    ['node', versions.node],
    ['server', versions.server],
  ])}${tools}</div>
  <div><h3>Host</h3>${facts([
    ['hostname', host.hostname],
    ['platform', `${host.platform} ${host.arch}`],
    ['CPUs', formatCount(host.cpus)],
    ['memory', formatBytes(host.memoryMb * 1024 * 1024)],
  ])}
  <h3>Calibration</h3>${facts([
    ['instance ready', formatMs(calibration.instanceReadyMs)],
    ['readiness poll', formatMs(calibration.readinessPollMs)],
    ['baseline throughput', formatRate(calibration.baselineThroughput)],
  ])}
  <h3>Scenario</h3>${facts([
    ['file', journal.scenario.file],
    ['sha256', shortSha(journal.scenario.hash)],
    ['run', journal.runId],
    ['drill', journal.drillId],
    ['finished', formatWallTime(journal.finishedAt)],
  ])}</div>
</div>
${
  journal.instances?.length
    ? html`<h3>Instances</h3>${table<InstanceRecord>(journal.instances, [
        { header: 'Instance', cell: (i) => html`<strong>${i.name}</strong>` },
        { header: 'Provider', cell: (i) => i.provider },
        { header: 'Version', cell: (i) => i.version },
        { header: 'Region', cell: (i) => i.region },
        { header: 'Where', cell: (i) => html`<span class="mono">${i.location}</span>` },
      ])}`
    : ''
}
${kept}
${spec === undefined ? '' : html`<details class="data"><summary>Scenario as run (defaults applied)</summary><pre class="mono">${spec}</pre></details>`}`,
  );
}

function compactTable<T>(rows: readonly T[], columns: readonly Column<T>[]): SafeHtml {
  return html`<div class="compact">${table(rows, columns)}</div>`;
}

export function commandStep(command: CommandRecord, index: number, faultAtMs: number | undefined): SafeHtml {
  const exit =
    command.background === true
      ? pill('background', 'info')
      : command.exitCode === 0
        ? pill('exit 0', 'pass')
        : pill(command.exitCode === null ? `no exit code${command.signal ? ` (${command.signal})` : ''}` : `exit ${command.exitCode}`, 'fail');
  const at =
    faultAtMs === undefined
      ? `at ${(command.startedAtMs / 1000).toFixed(2)} s`
      : `fault ${command.startedAtMs >= faultAtMs ? '+' : '−'}${formatDuration(Math.abs(command.startedAtMs - faultAtMs))}`;
  return html`<li>
  <div class="step-head"><span class="step-no">${index + 1}.</span>${pill(command.phase, 'neutral')}<span class="muted">${at}</span>${command.user ? html`<span class="muted">as ${command.user}</span>` : ''}<span class="spacer"></span><span>${command.background ? `spawned in ${formatDuration(command.durationMs)}` : formatDuration(command.durationMs)}</span>${exit}</div>
  <div class="cmd"><pre><code>${command.command}</code></pre><button class="copy" type="button" title="Copy this command">Copy</button></div>
</li>`;
}

function runbookSection(journal: Journal): SafeHtml {
  const { parameters, steps, others } = runbookOf(journal);
  const faultAt = journal.fault?.atMs;
  const located = journal.fault?.located;
  const found = located?.candidates[0];
  const shortfall = locateShortfall(journal);
  const locate = shortfall
    ? html`<p class="note">Not a tested step: ${shortfall}.</p>`
    : located && found
      ? html`<p class="muted">The locate step names transaction <span class="mono">${found.transaction}</span> (${formatCount(found.rows)} rows, committed ${found.committed}) in ${located.searched}: the bad one.</p>`
      : '';
  const table = parameters.length
    ? html`<h3>Parameters: your incident's values in place of this drill's</h3>${compactTable(parameters, [
        { header: 'Parameter', cell: (parameter) => html`<span class="mono param">\${${parameter.name}}</span>` },
        { header: 'Meaning', cell: (parameter) => parameter.meaning },
        { header: 'In the drill', cell: (parameter) => html`<span class="mono">${parameter.value}</span>` },
      ])}<h3>Procedure</h3>`
    : '';
  const main = journal.gameday
    ? html`<p class="note">In a game day the team restores, not firedrill: their commands, and the runbook they had with what became of each step, are in <a href="#gameday">Game day</a>.</p>`
    : steps.length
    ? html`<p class="muted">The restore path as firedrill ran it (${[...new Set(steps.map((command) => command.phase))].join(', ')}), in order, with times from the fault: the procedure to follow in a real incident. <span class="mono">firedrill runbook ${journal.scenario.file}</span> writes it as a Markdown file.</p>
${table}${locate}
<ol class="runbook">${steps.map((command, index) => commandStep(command, index, faultAt))}</ol>`
    : html`<p class="note">No restore-path command ran${journal.status === 'error' || journal.status === 'interrupted' ? ': the drill stopped before the restore.' : '.'}</p>`;
  const rest = others.length
    ? html`<details class="print-open"><summary>Other commands: ${[...new Set(others.map((command) => command.phase))].join(', ')} (${formatCount(others.length)})</summary>
<ol class="runbook">${others.map((command, index) => commandStep(command, index, faultAt))}</ol></details>`
    : '';
  return section('runbook', 'Runbook', html`${main}${rest}`);
}

function errorsSection(journal: Journal): SafeHtml {
  if (journal.errors.length === 0) return html``;
  return section(
    'errors',
    'Errors',
    html`<ul class="errors">${journal.errors.map(
      (error) => html`<li><strong>${error.phase}</strong>: ${error.message}${error.hint ? html`<div class="muted">What to do: ${error.hint}</div>` : ''}</li>`,
    )}</ul>`,
  );
}
