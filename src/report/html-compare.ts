import { COMPARISON_METRICS, type ComparedEntry, type Comparison, type MetricDefinition, type MetricStats, type MetricUnit } from '../compare/comparison.js';
import type { Journal } from '../journal/types.js';
import { NOT_MEASURED, VERDICT_LABEL, comparisonHeadline, formatCount, formatMetric, formatSpread, formatWallTime, runHeadline } from './format.js';
import { CHART_THEME, type ChartTheme } from './html-charts.js';
import { clientScript } from './html-client.js';
import { chartFigure, chartJsSource, measuredCell, metaItem, section } from './html.js';
import { PALETTE, STATUS_TONE, facts, html, jsonScript, page, table, type SafeHtml } from './html-markup.js';

/**
 * The comparison report (compare.html): the drills of one scenario, one per strategy and
 * repetition, side by side — a table with the best entry of each column highlighted, and a
 * bar chart per column. Same rules as the drill report: one self-contained file, Chart.js
 * inlined, no network, a table for every chart. Reads journals (through buildComparisons)
 * and nothing else.
 */

/** One bar: an entry's median, with its range over repetitions. Values are in the chart's axis unit. */
export interface ComparisonBar {
  label: string;
  value: number;
  min: number | null;
  max: number | null;
  /** The median as the table writes it, and the spread when repeated. */
  text: string;
  spread: string | null;
  color: string;
  winner: boolean;
}

/** One column of a comparison as a bar chart, best first. */
export interface ComparisonChart {
  id: string;
  metric: string;
  /** Axis title with the unit the values are in: `seconds`, `rows`, `MiB`, `% change`. */
  axis: string;
  xMin: number;
  xMax: number;
  bars: ComparisonBar[];
  /** Entries without a figure for this column (they have no bar). */
  unmeasured: string[];
}

/** What the comparison page's script draws. */
export interface ComparisonChartModel {
  theme: ChartTheme;
  charts: ComparisonChart[];
}

const BYTE_SCALES = [
  [1, 'bytes'],
  [1024, 'KiB'],
  [1024 ** 2, 'MiB'],
  [1024 ** 3, 'GiB'],
] as const;

/** The divisor and axis title that put a column's values in a readable range. */
function axisScale(unit: MetricUnit, largest: number): { divisor: number; axis: string } {
  switch (unit) {
    case 'ms':
      return { divisor: 1000, axis: 'seconds' };
    case 'rows':
      return { divisor: 1, axis: 'rows' };
    case 'percent':
      return { divisor: 1, axis: '% change' };
    case 'bytes': {
      const [divisor, axis] = [...BYTE_SCALES].reverse().find(([size]) => Math.abs(largest) >= size) ?? BYTE_SCALES[0];
      return { divisor, axis };
    }
  }
}

const round = (value: number): number => Number(value.toPrecision(6));

function columnChart(comparison: Comparison, position: number, metric: MetricDefinition): ComparisonChart {
  const key = metric.key as keyof ComparedEntry['stats'];
  const winners = comparison.winners[key];
  const measured = comparison.entries.filter((entry) => entry.stats[key].median !== null);
  const direction = metric.better === 'lower' ? 1 : -1;
  // Best first: each chart reads as a ranking.
  const ranked = [...measured].sort((a, b) => direction * (a.stats[key].median! - b.stats[key].median!));
  const { divisor, axis } = axisScale(metric.unit, Math.max(0, ...measured.map((entry) => Math.abs(entry.stats[key].max!))));
  const scaled = (value: number | null) => (value === null ? null : round(value / divisor));
  const bars = ranked.map((entry): ComparisonBar => {
    const stats = entry.stats[key];
    return {
      label: entry.label,
      value: scaled(stats.median)!,
      min: comparison.repetitions > 1 ? scaled(stats.min) : null,
      max: comparison.repetitions > 1 ? scaled(stats.max) : null,
      text: formatMetric(metric.unit, stats.median),
      spread: comparison.repetitions > 1 ? spreadText(metric.unit, stats) : null,
      color: winners.includes(entry.label) ? PALETTE.pass : PALETTE.blue,
      winner: winners.includes(entry.label),
    };
  });
  const ends = bars.flatMap((bar) => [bar.value, bar.min ?? bar.value, bar.max ?? bar.value]);
  return {
    id: `chart-${position}-${metric.key}`,
    metric: metric.label,
    axis,
    xMin: Math.min(0, ...ends),
    xMax: Math.max(0, ...ends),
    bars,
    unmeasured: comparison.entries.filter((entry) => entry.stats[key].median === null).map((entry) => entry.label),
  };
}

/** How many runs measured a figure, when not all did: `2 of 3 measured`. */
function measuredRuns(stats: MetricStats): string | undefined {
  return stats.complete ? undefined : `${stats.values.filter((value) => value !== null).length} of ${stats.values.length} measured`;
}

/** `min–max`, and how many runs measured it when not all did. */
function spreadText(unit: MetricUnit, stats: MetricStats): string {
  const measured = measuredRuns(stats);
  return measured ? `${formatSpread(unit, stats)} (${measured})` : formatSpread(unit, stats);
}

/** The data behind every chart of a comparison page; `position` keeps chart ids apart when a page holds several comparisons. */
export function comparisonChartModel(comparisons: readonly Comparison[]): ComparisonChartModel {
  return {
    theme: CHART_THEME,
    charts: comparisons.flatMap((comparison, position) => COMPARISON_METRICS.map((metric) => columnChart(comparison, position, metric))),
  };
}

/** The comparison page's charts: one horizontal bar chart per column, with min–max whiskers over repetitions. */
const COMPARE_CHARTS = String.raw`  // Min–max of repeated runs, as a whisker across each bar.
  function rangePlugin(bars) {
    return {
      id: 'firedrillRanges',
      afterDatasetsDraw: function (chart) {
        var x = chart.scales.x, ctx = chart.ctx;
        ctx.save();
        ctx.strokeStyle = model.theme.text;
        ctx.lineWidth = 1.5;
        chart.getDatasetMeta(0).data.forEach(function (bar, index) {
          var b = bars[index];
          if (b.min === null || b.max === null || b.min === b.max) return;
          var from = x.getPixelForValue(b.min), to = x.getPixelForValue(b.max), cap = Math.min(6, bar.height / 2 - 1);
          ctx.beginPath();
          ctx.moveTo(from, bar.y);
          ctx.lineTo(to, bar.y);
          ctx.moveTo(from, bar.y - cap);
          ctx.lineTo(from, bar.y + cap);
          ctx.moveTo(to, bar.y - cap);
          ctx.lineTo(to, bar.y + cap);
          ctx.stroke();
        });
        ctx.restore();
      },
    };
  }

  function comparisonBars(m) {
    var bars = m.bars;
    return horizontalBars({
      label: m.metric,
      labels: bars.map(function (b) { return b.label; }),
      data: bars.map(function (b) { return b.value; }),
      colors: bars.map(function (b) { return b.color; }),
      // A best figure of zero (no data lost) still shows as a sliver of its colour.
      dataset: { minBarLength: 2, barPercentage: 0.72, categoryPercentage: 0.9 },
      tooltip: function (i) {
        var b = bars[i];
        return b.text + (b.spread ? ' (runs: ' + b.spread + ')' : '') + (b.winner ? ', best' : '');
      },
      x: { suggestedMin: m.xMin, suggestedMax: m.xMax + (m.xMax - m.xMin) * 0.3, title: { display: true, text: m.axis } },
      plugins: [
        rangePlugin(bars),
        barLabelPlugin(bars.map(function (b) { return b.text; }), bars.map(function (b) { return b.max; })),
      ],
    });
  }

  (model.charts || []).forEach(function (chart) { draw(chart.id, chart, comparisonBars); });
`;

/** The comparison page's script. */
export const COMPARE_CLIENT_SCRIPT = clientScript(COMPARE_CHARTS);

/**
 * Renders compare.html for the comparisons of a run (usually one). `journals` are those the
 * comparisons were built from; `links[i]` is the address of journals[i]'s drill report.
 */
export function renderComparisonHtml(journals: readonly Journal[], comparisons: readonly Comparison[], links: readonly string[]): string {
  const model = comparisonChartModel(comparisons);
  const compared = comparisons.flatMap((comparison) => comparison.entries.flatMap((entry) => entry.drills.map((index) => journals[index]!)));
  const single = comparisons.length === 1 ? comparisons[0] : undefined;
  const title = single ? single.scenario : `${formatCount(comparisons.length)} comparisons`;
  const runIds = [...new Set(comparisons.map((comparison) => comparison.runId))];
  const body = html`
<header>
  <div class="eyebrow">firedrill · strategy comparison</div>
  <h1>${title}</h1>
  ${single?.description ? html`<p class="description">${single.description}</p>` : ''}
  <dl class="meta">
    ${single ? [metaItem('engine', single.engine), metaItem('fault', single.faultKind), single.dataset ? metaItem('dataset', single.dataset) : ''] : ''}
    ${metaItem('verdicts', runHeadline(compared))}
    ${metaItem(runIds.length === 1 ? 'run' : 'runs', runIds.join(', '))}
    ${comparisons.length > 0 ? metaItem('started', formatWallTime(comparisons.map((comparison) => comparison.startedAt).sort()[0]!)) : ''}
  </dl>
</header>
<main>
${comparisons.length === 0 ? html`<section class="card"><p class="note">These journals hold no comparison: run <code>firedrill compare</code> to make one.</p></section>` : ''}
${comparisons.map((comparison, position) => comparisonSections(journals, comparison, position, model, links, comparisons.length > 1 ? heading(comparison, runIds.length > 1) : undefined))}
${metricsSection()}
</main>
<footer>firedrill · ${formatCount(compared.length)} drill${compared.length === 1 ? '' : 's'} compared · each strategy's own report is linked from its row</footer>
${jsonScript('firedrill-data', model)}`;
  return page({ title: `Comparison · ${title} · firedrill`, body, scripts: [chartJsSource(), COMPARE_CLIENT_SCRIPT], wide: true });
}

/** What a comparison's sections are titled by on a page of several: its scenario, and its run when they come from several runs. */
function heading(comparison: Comparison, withRun: boolean): string {
  return withRun ? `${comparison.scenario} (run ${comparison.runId})` : comparison.scenario;
}

function comparisonSections(
  journals: readonly Journal[],
  comparison: Comparison,
  position: number,
  model: ComparisonChartModel,
  links: readonly string[],
  /** Prefix of the section titles when the page holds several comparisons. */
  prefix: string | undefined,
): SafeHtml {
  const id = (name: string) => `${name}-${position}`;
  const repeated = comparison.repetitions > 1;
  const overlapping = COMPARISON_METRICS.filter((metric) => comparison.overlapping[metric.key]).map((metric) => metric.label);
  const summary = html`<p class="headline">${comparisonHeadline(comparison)}</p>
<p class="muted">${
    repeated
      ? `Each strategy ran ${comparison.repetitions} times on the same drill: every figure is the median of its runs, with the range (min – max) below it.`
      : 'Each strategy ran once on the same drill (dataset, seed, workload, fault at the same moment). One run on a shared machine is noisy: compare with --repeat N for medians and ranges.'
  } The best entry of each column is highlighted; a strategy that failed to measure a figure in any run cannot be best in it.${
    overlapping.length > 0 ? ` In ${overlapping.join(', ')}, the best range overlaps another strategy's: that order may be noise.` : ''
  }</p>`;
  const columns = [
    { header: 'Strategy', cell: (entry: ComparedEntry) => strategyCell(journals, entry, links) },
    ...COMPARISON_METRICS.map((metric) => ({
      header: metric.label,
      numeric: true,
      cell: (entry: ComparedEntry) => figureCell(comparison, entry, metric),
    })),
  ];
  const charts = model.charts.filter((chart) => chart.id.startsWith(`chart-${position}-`));
  return html`${section(
    id('summary'),
    prefix ? `${prefix}: side by side` : 'Side by side',
    html`${summary}<div class="comparison">${table(comparison.entries, columns)}</div>`,
  )}
${section(id('charts'), prefix ? `${prefix}: column by column` : 'Column by column', html`<div class="chart-grid">${charts.map((chart, index) => chartCell(chart, COMPARISON_METRICS[index]!, repeated))}</div>`)}`;
}

/** The strategy's name and, per run, its verdict linked to that drill's report. */
function strategyCell(journals: readonly Journal[], entry: ComparedEntry, links: readonly string[]): SafeHtml {
  const runs = entry.drills.map((index, run) => {
    const journal = journals[index]!;
    const text = entry.drills.length > 1 ? `#${run + 1} ${VERDICT_LABEL[journal.status]}` : VERDICT_LABEL[journal.status];
    const link = links[index];
    const className = `pill pill-${STATUS_TONE[journal.status]}`;
    return link ? html`<a class="${className}" href="${link}" title="Report of ${journal.drillId}">${text}</a>` : html`<span class="${className}">${text}</span>`;
  });
  const first = links[entry.drills[0]!];
  const name = first ? html`<a href="${first}">${entry.label}</a>` : entry.label;
  return html`<strong>${name}</strong>${entry.label === entry.strategy ? '' : html`<div class="muted">${entry.strategy}</div>`}<div class="runs">${runs}</div>`;
}

function figureCell(comparison: Comparison, entry: ComparedEntry, metric: MetricDefinition): SafeHtml {
  const key = metric.key as keyof ComparedEntry['stats'];
  const stats = entry.stats[key];
  const winner = comparison.winners[key].includes(entry.label);
  const value = measuredCell(formatMetric(metric.unit, stats.median));
  const measured = measuredRuns(stats);
  const spread =
    comparison.repetitions > 1 && stats.median !== null
      ? html`<span class="spread">${formatMetric(metric.unit, stats.min) === formatMetric(metric.unit, stats.max) ? 'every run' : formatSpread(metric.unit, stats)}</span>${measured ? html`<span class="spread">${measured}</span>` : ''}`
      : '';
  if (!winner) return html`${value}${spread}`;
  const overlap = comparison.overlapping[key];
  const title = overlap ? `best median, but its range overlaps another strategy's: more runs would tell` : `best ${metric.label}`;
  return html`<span class="win" title="${title}">${value}<span class="best">best</span>${spread}${overlap ? html`<span class="spread">ranges overlap</span>` : ''}</span>`;
}

function chartCell(chart: ComparisonChart, metric: MetricDefinition, repeated: boolean): SafeHtml {
  const rows = [...chart.bars.map((bar) => ({ label: bar.label, text: bar.text, spread: bar.spread, winner: bar.winner })), ...chart.unmeasured.map((label) => ({ label, text: NOT_MEASURED, spread: null, winner: false }))];
  const data = table(rows, [
    { header: 'Strategy', cell: (row) => (row.winner ? html`<strong>${row.label}</strong> (best)` : row.label) },
    { header: repeated ? 'Median' : metric.label, cell: (row) => measuredCell(row.text), numeric: true },
    ...(repeated ? [{ header: 'Range', cell: (row: (typeof rows)[number]) => row.spread ?? '', numeric: true }] : []),
  ]);
  const better = metric.better === 'lower' ? 'lower is better' : 'higher is better';
  const caption = html`${metric.description}; ${better}.${repeated ? ' Whiskers: min – max over the runs.' : ''}${chart.unmeasured.length > 0 ? html` Not measured: ${chart.unmeasured.join(', ')}.` : ''}`;
  return html`<div class="chart-cell"><h3>${metric.label}</h3>${chartFigure(chart.id, `${metric.label} by strategy, best first`, Math.max(110, chart.bars.length * 38 + 58), caption, data, rows.length)}</div>`;
}

function metricsSection(): SafeHtml {
  return section(
    'figures-explained',
    'What the columns measure',
    facts(COMPARISON_METRICS.map((metric) => [metric.label, `${metric.description} (${metric.better} is better)`] as const)),
  );
}
