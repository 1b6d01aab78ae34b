import { describePolicy } from '../retention/policy.js';
import type { PlanOutcome, RetentionPlan } from '../retention/plan.js';
import { formatBytes, formatCount } from './format.js';
import { CHART_THEME } from './html-charts.js';
import { clientScript } from './html-client.js';
import { chartFigure, chartJsSource, metaItem, section } from './html.js';
import { PALETTE, html, jsonScript, page, table } from './html-markup.js';

/** `1095 days`, `7.0 days`, `12 hours`: how far back a restore can go. */
export function formatAge(days: number): string {
  if (days < 1) return `${Math.round(days * 24)} hours`;
  return Number.isInteger(days) || days >= 10 ? `${formatCount(Math.round(days))} days` : `${days.toFixed(1)} days`;
}

/** `1 day`, `6 hours`, `2 weeks`: a backup interval. */
export function formatEvery(ms: number): string {
  const [size, unit] = ms % 604_800_000 === 0 ? [ms / 604_800_000, 'week'] : ms % 86_400_000 === 0 ? [ms / 86_400_000, 'day'] : ms % 3_600_000 === 0 ? [ms / 3_600_000, 'hour'] : [ms / 60_000, 'minute'];
  return `${size} ${unit}${size === 1 ? '' : 's'}`;
}

/** The plan's three rows: the policy, keeping everything, and keeping as many but only the newest. */
export function planRows(plan: RetentionPlan): Array<{ what: string } & PlanOutcome> {
  return [
    { what: `this policy (${describePolicy(plan.policy)})`, ...plan.policyOutcome },
    { what: 'keep every backup', ...plan.keepAll },
    { what: `keep the newest ${plan.policyOutcome.kept}`, ...plan.sameCountNewest },
  ];
}

const RETENTION_CHARTS = String.raw`  function retention(m) {
    return {
      type: 'line',
      data: {
        datasets: [
          { label: 'backups kept', data: m.kept, yAxisID: 'kept', borderColor: m.colors[0], backgroundColor: m.colors[0], pointRadius: 0, borderWidth: 2, stepped: true },
          { label: 'storage (GB)', data: m.storage, yAxisID: 'storage', borderColor: m.colors[1], backgroundColor: m.colors[1], pointRadius: 0, borderWidth: 1.5, borderDash: [5, 3] },
        ],
      },
      options: {
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        plugins: { legend: { position: 'top', align: 'end', labels: { boxWidth: 14, boxHeight: 3 } } },
        scales: {
          x: { type: 'linear', min: 0, max: m.days, title: { display: true, text: 'day of the schedule' } },
          kept: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'backups kept' } },
          storage: { type: 'linear', position: 'right', beginAtZero: true, grid: { display: false }, title: { display: true, text: 'GB' } },
        },
      },
    };
  }
  draw('chart-retention', model.retention, retention);
`;

/** `firedrill retention plan --html`: the plan as a self-contained page, chart and tables. */
export function renderRetentionHtml(plan: RetentionPlan, sizeSource: string): string {
  const model = {
    theme: CHART_THEME,
    retention: {
      colors: [PALETTE.blue, PALETTE.muted],
      days: plan.periodDays,
      kept: plan.series.map((point) => [point.day, point.kept]),
      storage: plan.series.map((point) => [point.day, Number((point.storageBytes / 1e9).toFixed(3))]),
    },
  };
  const rows = planRows(plan);
  const comparison = table(rows, [
    { header: 'Policy', cell: (row) => row.what },
    { header: 'Backups kept', cell: (row) => formatCount(row.kept), numeric: true },
    { header: 'Storage', cell: (row) => formatBytes(row.storageBytes), numeric: true },
    { header: 'Oldest restorable point', cell: (row) => `${formatAge(row.oldestDays)} back`, numeric: true },
  ]);
  const kept = table(plan.keptAtEnd, [
    { header: 'Backup taken', cell: (row) => row.at.replace('T', ' ').replace(/:00\.000Z$/, ' UTC') },
    { header: 'Kept by', cell: (row) => row.rules.join(', ') },
  ]);
  const data = table(plan.series, [
    { header: 'Day', cell: (row) => formatCount(row.day), numeric: true },
    { header: 'Backups kept', cell: (row) => formatCount(row.kept), numeric: true },
    { header: 'Storage', cell: (row) => formatBytes(row.storageBytes), numeric: true },
    { header: 'Oldest restorable', cell: (row) => formatAge(row.oldestDays), numeric: true },
  ]);
  const body = html`
<header>
  <div class="eyebrow">firedrill · retention plan</div>
  <h1>${describePolicy(plan.policy)}</h1>
  <dl class="meta">
    ${metaItem('schedule', `a backup every ${formatEvery(plan.everyMs)}`)}
    ${metaItem('simulated', `${formatCount(plan.periodDays)} days, ${formatCount(plan.policyOutcome.backups)} backups`)}
    ${metaItem('backup size', `${formatBytes(plan.backupBytes)} (${sizeSource})`)}
    ${plan.logBytesPerDay ? metaItem('WAL / binlog', `${formatBytes(plan.logBytesPerDay)} a day, kept from the oldest kept backup`) : ''}
  </dl>
</header>
<main>
${section('plan', 'What the policy keeps', html`${comparison}<p class="note">At the end of the simulated period. "Keep the newest" keeps as many backups as the policy, but only the latest: the difference is how far back a restore can go for the same storage.</p>`)}
${section('growth', 'Over the period', chartFigure('chart-retention', 'Backups kept and storage over the simulated period', 280, 'Pruned after every backup, as a backup tool\'s expire does.', data, plan.series.length))}
${section('kept', 'Backups kept at the end', kept)}
</main>
<footer>firedrill · retention plan · the calendar starts ${plan.start.slice(0, 10)} so that weeks and months fall the same way every time</footer>
${jsonScript('firedrill-data', model)}`;
  return page({ title: `Retention plan · ${describePolicy(plan.policy)} · firedrill`, body, scripts: [chartJsSource(), clientScript(RETENTION_CHARTS)] });
}
