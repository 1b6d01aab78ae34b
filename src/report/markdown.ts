import { buildComparisons, COMPARISON_METRICS, type Comparison } from '../compare/comparison.js';
import type { Journal } from '../journal/types.js';
import { CHECK_PREFIX } from '../measure/verdict.js';
import { VERDICT_LABEL, checkOutcome, failuresFirst, formatMetric, formatSpread, objectiveOutcome, runHeadline, strategyLabel, summarizeDrill, verdictHeadline } from './format.js';

/**
 * The Markdown summary of a run (GitHub's GITHUB_STEP_SUMMARY, a PR comment, a chat
 * message): one table row per drill, then what each drill was judged on.
 */

/**
 * Backslash-escapes the Markdown punctuation that can format inline text or end a table
 * cell (GitHub also renders raw HTML, so `<` and `&` matter) and folds newlines, so journal
 * text can neither format nor break a table row. Text never starts a line here, so
 * line-start syntax (`#`, `-`, `1.`) needs no escape.
 */
export function md(text: string): string {
  return text.replace(/[\\`*_[\]<>|~&]/g, '\\$&').replace(/\s*\r?\n\s*/g, ' ');
}

function drillDetail(journal: Journal): string[] {
  const summary = summarizeDrill(journal);
  const lines = [`### ${summary.verdict} ${md(summary.title)}`, '', md(verdictHeadline(journal)), ''];
  // Each check is an objective of its own (`check: ...`): listed once, with its value.
  for (const objective of journal.objectives) {
    const check = objective.name.startsWith(CHECK_PREFIX) ? journal.checks.find((candidate) => `${CHECK_PREFIX}${candidate.name}` === objective.name) : undefined;
    lines.push(`- **${objective.passed ? 'PASS' : 'FAIL'}** ${md(objective.name)}: ${md(check ? checkOutcome(check) : objectiveOutcome(objective))}`);
  }
  for (const error of journal.errors) {
    lines.push(`- **ERROR** in ${md(error.phase)}: ${md(error.message)}${error.hint ? ` What to do: ${md(error.hint)}` : ''}`);
  }
  if (journal.objectives.length + journal.errors.length === 0) lines.push('- nothing was judged');
  lines.push('');
  return lines;
}

/** A comparison as a table: one row per strategy, the median of each column (and its range when repeated), the best in bold. */
function comparisonTable(comparison: Comparison): string[] {
  const repeated = comparison.repetitions > 1;
  const rows = comparison.entries.map((entry) => {
    const cells = COMPARISON_METRICS.map((metric) => {
      const stats = entry.stats[metric.key];
      const value = formatMetric(metric.unit, stats.median);
      const best = comparison.winners[metric.key].includes(entry.label);
      const shown = best ? `**${value}**${comparison.overlapping[metric.key] ? '~' : ''}` : value;
      return repeated && stats.median !== null ? `${shown} (${formatSpread(metric.unit, stats)})` : shown;
    });
    return `| ${[md(entry.label), ...cells].join(' | ')} |`;
  });
  return [
    `### Comparison: ${md(comparison.scenario)}${repeated ? ` (medians of ${comparison.repetitions} runs, range in brackets)` : ''}`,
    '',
    `| Strategy | ${COMPARISON_METRICS.map((metric) => metric.label).join(' | ')} |`,
    `|:--|${COMPARISON_METRICS.map(() => '--:').join('|')}|`,
    ...rows,
    '',
    `The best of each column is in bold${repeated ? '; ~ marks a best whose range overlaps another strategy\'s (the order may be noise)' : ''}.`,
    '',
  ];
}

/** Renders a run's drills as Markdown: a summary table, comparisons if the run made any, then each drill's objectives and checks. */
export function renderMarkdown(journals: readonly Journal[]): string {
  const ordered = failuresFirst(journals, (journal) => journal.status);
  const lines = [`## firedrill: ${md(runHeadline(journals))}`, ''];
  if (ordered.length > 0) {
    lines.push(
      '| Scenario | Strategy | Verdict | RTO (service) | RTO (verified) | Data loss | Lost writes |',
      '|:--|:--|:--|--:|--:|--:|--:|',
      ...ordered.map((journal) => {
        const s = summarizeDrill(journal);
        const cells = [md(journal.scenario.name), md(strategyLabel(journal)), `**${VERDICT_LABEL[journal.status]}**`, s.rtoService, s.rtoVerified, s.dataLoss, s.lostWrites];
        return `| ${cells.join(' | ')} |`;
      }),
      '',
    );
  }
  for (const comparison of buildComparisons(journals)) lines.push(...comparisonTable(comparison));
  for (const journal of ordered) lines.push(...drillDetail(journal));
  return `${lines.join('\n').trimEnd()}\n`;
}
