import { forecastSentences, formatSize, type PhaseFit } from '../measure/forecast.js';
import { formatDuration } from '../util/duration.js';
import { formatBytes, formatMs } from './format.js';
import { CHART_THEME, phaseColor } from './html-charts.js';
import { clientScript } from './html-client.js';
import { chartFigure, chartJsSource, metaItem, section } from './html.js';
import { html, jsonScript, page, pill, STATUS_TONE, table, type SafeHtml } from './html-markup.js';
import type { Sweep } from './sweep.js';

/** Per sweep: RTO by phase as stacked bars, one bar per size. */
const SWEEP_CHARTS = String.raw`  function sweep(m) {
    return {
      type: 'bar',
      data: { labels: m.labels, datasets: m.phases.map(function (p) { return { label: p.name, data: p.seconds, backgroundColor: p.color, stack: 'rto' }; }) },
      options: {
        plugins: { legend: { position: 'top', align: 'end', labels: { boxWidth: 12, boxHeight: 12 } } },
        scales: { x: { stacked: true, title: { display: true, text: 'data size' } }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'seconds of the RTO' } } },
      },
    };
  }
  model.sweeps.forEach(function (s, index) { draw('chart-sweep-' + index, s, sweep); });
`;

const per = (ms: number) => (Math.abs(ms) < 1 ? `${ms.toFixed(3)} ms` : formatMs(ms));

function chartData(sweep: Sweep) {
  const phases = [...new Set(sweep.drills.flatMap((journal) => Object.keys(journal.measurements.rtoBreakdown)))];
  return {
    labels: sweep.drills.map((journal) => `${journal.sweep!.label} (${journal.volume ? formatBytes(journal.volume.dataBytes) : '?'})`),
    phases: phases.map((name) => ({ name, color: phaseColor(name), seconds: sweep.drills.map((journal) => Number(((journal.measurements.rtoBreakdown[name] ?? 0) / 1000).toFixed(3))) })),
  };
}

function measuredTable(sweep: Sweep, links: ReadonlyMap<string, string>): SafeHtml {
  return table(sweep.drills, [
    { header: 'Size', cell: (journal) => (links.get(journal.drillId) ? html`<a href="${links.get(journal.drillId)!}">${journal.sweep!.label}</a>` : journal.sweep!.label) },
    { header: 'Verdict', cell: (journal) => pill(journal.status.toUpperCase(), STATUS_TONE[journal.status]) },
    { header: 'Data', cell: (journal) => (journal.volume ? formatBytes(journal.volume.dataBytes) : '—'), numeric: true },
    { header: 'Log replayed', cell: (journal) => (journal.volume?.logBytes === null || !journal.volume ? '—' : formatBytes(journal.volume.logBytes)), numeric: true },
    { header: 'RTO (service)', cell: (journal) => formatMs(journal.measurements.rtoServiceMs), numeric: true },
    { header: 'RTO (verified)', cell: (journal) => formatMs(journal.measurements.rtoVerifiedMs), numeric: true },
    { header: 'Restore write rate', cell: (journal) => (journal.restoreThroughput ? `${formatBytes(journal.restoreThroughput.bytesPerSecond)}/s` : '—'), numeric: true },
    { header: 'Log replay rate', cell: (journal) => (journal.replayThroughput ? `${formatBytes(journal.replayThroughput.bytesPerSecond)}/s` : '—'), numeric: true },
    {
      header: 'Of the disk',
      cell: (journal) => (journal.restoreThroughput?.efficiency != null && journal.calibration.diskWriteBytesPerSecond ? `${Math.round(journal.restoreThroughput.efficiency * 100)} % of ${formatBytes(journal.calibration.diskWriteBytesPerSecond)}/s` : '—'),
      numeric: true,
    },
  ]);
}

function modelTable(phases: readonly PhaseFit[]): SafeHtml {
  return table(phases, [
    { header: 'Phase', cell: (fit) => fit.phase },
    { header: 'Fixed', cell: (fit) => per(fit.coefficients.fixedMs), numeric: true },
    { header: 'Per GB of data', cell: (fit) => (fit.terms.includes('data') ? per(fit.coefficients.msPerGbData) : '—'), numeric: true },
    { header: 'Per GB of log', cell: (fit) => (fit.terms.includes('log') ? per(fit.coefficients.msPerGbLog) : '—'), numeric: true },
    { header: 'R²', cell: (fit) => (fit.rSquared === null ? '—' : fit.rSquared.toFixed(3)), numeric: true },
    { header: 'Residuals', cell: (fit) => fit.residuals.map((residual) => `${residual.drill}: ${residual.residualMs >= 0 ? '+' : '−'}${per(Math.abs(residual.residualMs))}`).join(', ') },
    { header: 'Left out', cell: (fit) => html`<span class="note-text">${fit.omitted.map((omitted) => `${omitted.term}: ${omitted.detail}`).join('\n') || '—'}</span>` },
  ]);
}

function sweepSection(sweep: Sweep, index: number, links: ReadonlyMap<string, string>): SafeHtml {
  const chart = chartData(sweep);
  const data = table(
    chart.labels.map((label, row) => ({ label, values: chart.phases.map((phase) => phase.seconds[row]!) })),
    [{ header: 'Size', cell: (row) => row.label }, ...chart.phases.map((phase, column) => ({ header: phase.name, cell: (row: { values: number[] }) => `${row.values[column]!.toFixed(3)} s`, numeric: true }))],
  );
  const f = sweep.forecast;
  const sentences = f ? forecastSentences(f) : [];
  // The forecast and its verdicts first; the notes on each phase's fit (also in the model's table) folded.
  const told = sentences.slice(0, sentences.length - (f?.notes.length ?? 0));
  const notes = sentences.slice(told.length);
  const forecastPart = f
    ? html`<h3>Forecast at ${formatSize(f.dataBytes)}, a base backup every ${formatDuration(f.backupEvery)} (a forecast, not a measurement)</h3>
<ul>${told.map((sentence) => html`<li>${sentence}</li>`)}</ul>
${notes.length ? html`<details class="print-open"><summary>Notes on the fit and how far it reaches (${notes.length})</summary><ul class="muted">${notes.map((sentence) => html`<li>${sentence}</li>`)}</ul></details>` : ''}
${table(f.objectives, [
  { header: 'Objective', cell: (objective) => objective.name },
  { header: 'Target', cell: (objective) => formatMs(objective.targetMs), numeric: true },
  { header: 'Forecast', cell: (objective) => (objective.forecast ? `${formatMs(objective.forecast.ms)}${objective.forecast.low !== null && objective.forecast.high !== null ? ` (${formatMs(objective.forecast.low)}–${formatMs(objective.forecast.high)})` : ''}` : '—'), numeric: true },
  { header: 'Outcome', cell: (objective) => pill(`forecast: ${objective.outcome}`, objective.passed ? 'pass' : objective.outcome === 'breaches' ? 'fail' : 'neutral') },
  { header: 'Why', cell: (objective) => objective.reason },
])}
${table(f.phases, [
  { header: 'Phase', cell: (phase) => phase.phase },
  { header: 'Forecast', cell: (phase) => formatMs(phase.ms), numeric: true },
  { header: 'Range', cell: (phase) => (phase.low === null || phase.high === null ? 'no range' : `${formatMs(phase.low)}–${formatMs(phase.high)}`), numeric: true },
  { header: 'Share', cell: (phase) => `${Math.round(phase.share * 100)} %`, numeric: true },
])}`
    : '';
  return section(
    `sweep-${index}`,
    `${sweep.scenario} · ${sweep.strategy}`,
    html`<h3>Measured at each size</h3>${measuredTable(sweep, links)}
${chartFigure(`chart-sweep-${index}`, `RTO by phase at each size of ${sweep.scenario}`, 300, 'Each bar is one drill: its RTO split by phase.', data, chart.labels.length)}
${
  sweep.model
    ? html`<h3>Model: per phase, fixed + per GB of data + per GB of ${sweep.model.log}, fitted by least squares over ${sweep.model.drills} sizes</h3>${modelTable(sweep.model.phases)}${sweep.model.notes.length ? html`<ul class="muted">${sweep.model.notes.map((note) => html`<li>${note}</li>`)}</ul>` : ''}`
    : ''
}
${forecastPart}
${sweep.notes.length ? html`<p class="note">${sweep.notes.join('; ')}.</p>` : ''}`,
  );
}

/** `sweep.html`: each sweep of a run — measured at each size, the model, its forecast. */
export function renderSweepHtml(sweeps: readonly Sweep[], links: ReadonlyMap<string, string>): string {
  const model = { theme: CHART_THEME, sweeps: sweeps.map(chartData) };
  const body = html`
<header>
  <div class="eyebrow">firedrill · RTO against size</div>
  <h1>${sweeps.map((sweep) => sweep.scenario).join(', ')}</h1>
  <dl class="meta">${metaItem('sizes', sweeps.map((sweep) => sweep.drills.map((journal) => journal.sweep!.label).join(', ')).join(' · '))}</dl>
</header>
<main>
${sweeps.map((sweep, index) => sweepSection(sweep, index, links))}
<p class="muted">The model assumes restore time grows in step with the data, replay with the log, and that the other costs stay fixed; docs/forecast.md says what its range means and what it does not prove.</p>
</main>
<footer>firedrill · sweep of ${sweeps.reduce((sum, sweep) => sum + sweep.drills.length, 0)} drills</footer>
${jsonScript('firedrill-data', model)}`;
  return page({ title: `RTO against size · ${sweeps.map((sweep) => sweep.scenario).join(', ')} · firedrill`, body, scripts: [chartJsSource(), clientScript(SWEEP_CHARTS)], wide: true });
}
