import { forecastSentences } from '../measure/forecast.js';
import { buildSweeps } from './sweep.js';
import { buildComparisons, COMPARISON_METRICS } from '../compare/comparison.js';
import type { Journal } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';
import type { PhaseListener, PhaseProgress } from '../runner/timeline.js';
import { VERDICT_LABEL, comparisonHeadline, formatBytes, formatMetric, locateShortfall, lostToDetection, strategyLabel } from './format.js';


/**
 * How far a long phase has come, in words: `412 MiB of ~1.20 GiB (34 %), 12.0 MiB/s, ~1 min 05 s
 * left`, or for a wait `1 min 00 s of 10 min 00 s, 9 min 00 s left`. The ETA is the bytes left
 * at the rate measured so far: an estimate, said as one (`~`).
 */
export function progressText(progress: PhaseProgress): string {
  const { elapsedMs, expectedMs, doneBytes, totalBytes, bytesPerSecond } = progress;
  if (doneBytes !== undefined) {
    const left = totalBytes && bytesPerSecond && bytesPerSecond > 0 && doneBytes < totalBytes ? ((totalBytes - doneBytes) / bytesPerSecond) * 1000 : undefined;
    return [
      `${formatBytes(doneBytes)}${totalBytes ? ` of ~${formatBytes(totalBytes)} (${Math.min(100, Math.round((doneBytes / totalBytes) * 100))} %)` : ''}`,
      ...(bytesPerSecond !== undefined && bytesPerSecond > 0 ? [`${formatBytes(bytesPerSecond)}/s`] : []),
      ...(left !== undefined ? [`~${formatDuration(left)} left`] : []),
    ].join(', ');
  }
  if (expectedMs !== undefined) return `${formatDuration(elapsedMs)} of ${formatDuration(expectedMs)}, ${formatDuration(Math.max(0, expectedMs - elapsedMs))} left`;
  return formatDuration(elapsedMs);
}

/** Off a terminal (a CI log), a long phase prints how far it has come this often: enough to see it move, not a flood. */
const LOG_PROGRESS_EVERY_MS = 30_000;

/** One line per phase; on a terminal, a spinner while the phase runs, with its progress; in a CI log, a progress line every 30 s of a long phase. */
export function consolePhaseListener(stream: NodeJS.WriteStream = process.stderr): PhaseListener {
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let timer: NodeJS.Timeout | undefined;
  let latest = '';
  let expected: number | undefined;
  let logged = 0;
  const stack: string[] = [];
  return (event) => {
    if (event.type === 'progress') {
      const progress = event.progress!;
      // A wait's progress is known at every instant: the spinner redraws it, not only at readings.
      latest = progress.doneBytes === undefined && progress.expectedMs !== undefined ? '' : `  — ${progressText(progress)}`;
      expected = progress.doneBytes === undefined ? progress.expectedMs : undefined;
      if (!stream.isTTY && event.progress!.elapsedMs - logged >= LOG_PROGRESS_EVERY_MS) {
        logged = event.progress!.elapsedMs;
        stream.write(`    … ${event.phase} ${formatDuration(progress.elapsedMs)}  — ${progressText(progress)}\n`);
      }
      return;
    }
    if (timer) clearInterval(timer);
    timer = undefined;
    latest = '';
    expected = undefined;
    logged = 0;
    if (stream.isTTY) stream.write('\r\x1b[2K');
    if (event.type === 'start') {
      stack.push(event.phase);
      if (stream.isTTY) {
        let frame = 0;
        const started = Date.now();
        const draw = () => {
          const elapsedMs = Date.now() - started;
          const shown = expected === undefined ? latest : `  — ${progressText({ elapsedMs, expectedMs: expected })}`;
          stream.write(`\r\x1b[2K  ${frames[frame++ % frames.length]} ${stack.join(' › ')}  ${formatDuration(elapsedMs)}${shown}`);
        };
        draw();
        timer = setInterval(draw, 100);
        timer.unref();
      }
      return;
    }
    stack.pop();
    const mark = event.type === 'end' ? '✓' : '✗';
    const detail = event.detail ? `  ${event.detail}` : '';
    stream.write(`  ${mark} ${event.phase.padEnd(10)} ${formatDuration(event.durationMs!).padStart(10)}${detail}\n`);
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

/** The summary printed after a run: one row per drill, then each drill's objectives. */
export function renderConsoleSummary(journals: readonly Journal[]): string {
  const rows = [['scenario', 'strategy', 'verdict', 'RTO service', 'RTO verified', 'data loss', 'lost writes', 'lost to detection', 'damage undone']];
  for (const journal of journals) {
    const m = journal.measurements;
    rows.push([
      journal.scenario.name,
      strategyLabel(journal),
      VERDICT_LABEL[journal.status],
      formatDuration(m.rtoServiceMs),
      formatDuration(m.rtoVerifiedMs),
      formatDuration(m.dataLossMs),
      m.lostWrites === null ? '—' : String(m.lostWrites),
      m.lostToDetection === null ? '—' : lostToDetection(journal),
      m.damageUndone === null ? '—' : m.damageUndone ? 'yes' : 'no',
    ]);
  }
  const details = journals.map((journal) => {
    const lines = journal.objectives.map((objective) => `    ${objective.passed ? '✓' : '✗'} ${objective.name}: ${objective.measured} (target ${objective.target})${objective.reason ? ` — ${objective.reason}` : ''}`);
    for (const error of journal.errors) lines.push(`    ✗ ${error.phase}: ${error.message}${error.hint ? `\n      hint: ${error.hint}` : ''}`);
    if (journal.recovery?.reached === false) lines.push(`    ! recovery did not reach its target: ${journal.recovery.detail}`);
    if (journal.workload.shortfall) lines.push(`    ! ${journal.workload.shortfall}`);
    const locate = locateShortfall(journal);
    if (locate) lines.push(`    ! ${locate}`);
    return `  ${journal.scenario.name} / ${strategyLabel(journal)}: ${VERDICT_LABEL[journal.status]}\n${lines.join('\n')}`;
  });
  return `${table(rows)}\n\n${details.join('\n')}\n`;
}

/** The comparisons of a run as terminal tables (medians when repeated, `*` on the best of each column); empty when there are none. */
export function renderConsoleComparison(journals: readonly Journal[]): string {
  return buildComparisons(journals)
    .map((comparison) => {
      const rows = [['strategy', ...COMPARISON_METRICS.map((metric) => metric.label)]];
      for (const entry of comparison.entries) {
        rows.push([
          entry.label,
          ...COMPARISON_METRICS.map((metric) => {
            const value = formatMetric(metric.unit, entry.stats[metric.key].median);
            if (!comparison.winners[metric.key].includes(entry.label)) return value;
            return comparison.overlapping[metric.key] ? `${value} *~` : `${value} *`;
          }),
        ]);
      }
      const figures = comparison.repetitions > 1 ? `medians of ${comparison.repetitions} runs; * best in its column, *~ best but its range overlaps another's` : 'one run each; * best in its column';
      return `comparison: ${comparison.scenario} (${figures})\n${table(rows)}\n${comparisonHeadline(comparison)}\n`;
    })
    .join('\n');
}

/** What --keep left running, how to reach it, and the exact commands that remove it. */
export function renderKept(kept: NonNullable<Journal['kept']>): string {
  const lines = ['kept (--keep); firedrill has exited, these are still there:'];
  for (const resource of kept) {
    lines.push(`  ${resource.kind}: ${resource.where}${resource.connect ? `\n    connect: ${resource.connect}` : ''}`);
  }
  const removal = [...kept].reverse().flatMap((resource) => resource.remove ?? []);
  if (removal.length > 0) lines.push('  remove them with `firedrill cleanup`, or by hand:', ...removal.map((command) => `    ${command}`));
  return lines.join('\n');
}

/** Each sweep's forecast, in the sentences sweep.html gives, for the end of a run; empty without a sweep. */
export function renderConsoleSweeps(journals: readonly Journal[]): string {
  return buildSweeps(journals)
    .map((sweep) => {
      const lines = [`sweep ${sweep.scenario} (${sweep.strategy}): ${sweep.fitted.length} of ${sweep.drills.length} sizes measured`];
      if (sweep.forecast) {
        // The forecast and its verdicts here; the notes on the fit, phase by phase, in sweep.html.
        const sentences = forecastSentences(sweep.forecast);
        const notes = sweep.forecast.notes.length;
        lines.push(...sentences.slice(0, sentences.length - notes).map((sentence) => `  ${sentence}`));
        if (notes > 0) lines.push(`  ${notes} note${notes === 1 ? '' : 's'} on the fit and how far it reaches: sweep.html`);
      }
      lines.push(...sweep.notes.map((note) => `  ${note}`));
      return lines.join('\n');
    })
    .join('\n');
}
