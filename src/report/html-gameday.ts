import { humanTimeline } from '../gameday/score.js';
import type { GamedayRunbookStep, Journal } from '../journal/types.js';
import { formatDuration } from '../util/duration.js';
import { formatMs } from './format.js';
import { section } from './html.js';
import { html, pill, table, type SafeHtml, type Tone } from './html-markup.js';

const OUTCOME: Record<GamedayRunbookStep['outcome'], [string, Tone]> = {
  ran: ['ran', 'pass'],
  failed: ['failed in the rehearsal', 'fail'],
  'not-run': ['not run', 'neutral'],
};

const ENDED: Record<NonNullable<Journal['gameday']>['ended'], string> = {
  declared: 'the team declared a database restored',
  'time-limit': 'the time ran out before the team declared a database restored: not recovered',
  interrupted: 'the game day was stopped before the team declared a database restored',
};

const since = (ms: number | null) => (ms === null ? '—' : `+${formatDuration(ms)}`);

/**
 * A game day's own section: how the team's recovery went, moment by moment from the fault,
 * beside the figures the drill measured; the commands they ran through firedrill; and the
 * runbook they had, each step as the rehearsal left it (a stale runbook shows as failed steps).
 */
export function gamedaySection(journal: Journal): SafeHtml {
  const gameday = journal.gameday;
  if (!gameday) return html``;
  const faultAt = journal.fault?.atMs;
  const moments = humanTimeline(journal);
  const m = journal.measurements;
  const fault = gameday.announced
    ? 'The fault was announced when it struck.'
    : `The fault was hidden: it struck unannounced${gameday.window ? `, at a moment drawn between ${formatDuration(gameday.window.fromMs)} and ${formatDuration(gameday.window.toMs)} after the workload started` : ''}; noticing it was part of the exercise.`;
  const runbook = gameday.runbook;
  const failed = runbook?.steps.filter((step) => step.outcome === 'failed').length ?? 0;
  return section(
    'gameday',
    'Game day',
    html`<p>${fault} It ended as ${ENDED[gameday.ended]}${gameday.restored ? html` (<span class="mono">${gameday.restored.name}</span>, at fault ${since(faultAt === undefined ? null : gameday.restored.declaredAtMs - faultAt)})` : ''}. Time limit: ${formatDuration(gameday.timeLimitMs)} from the fault.</p>
<div class="grid-2">
  <div>
    <h3>The team's timeline, from the fault</h3>
    ${table(moments, [
      { header: 'Moment', cell: (moment) => moment.label },
      { header: 'From the fault', cell: (moment) => (moment.sinceFaultMs === null ? html`<span class="muted">never</span>` : since(moment.sinceFaultMs)), numeric: true },
    ])}
  </div>
  <div>
    <h3>What firedrill measured</h3>
    ${table(
      [
        ['RTO (service)', formatMs(m.rtoServiceMs)],
        ['RTO (verified)', formatMs(m.rtoVerifiedMs)],
        ['Data loss', formatMs(m.dataLossMs)],
        ['Lost writes', m.lostWrites === null ? '—' : String(m.lostWrites)],
        ['Damage undone', m.damageUndone === null ? '—' : m.damageUndone ? 'yes' : 'no'],
      ] as Array<[string, string]>,
      [
        { header: 'Figure', cell: (row) => row[0] },
        { header: 'Measured', cell: (row) => row[1], numeric: true },
      ],
    )}
    <p class="muted">Against the scenario's objectives in the verdict above.</p>
  </div>
</div>
<h3>Marks</h3>
${
  gameday.marks.length
    ? table(gameday.marks, [
        { header: 'From the fault', cell: (mark) => (faultAt === undefined || mark.atMs < faultAt ? `before (${formatDuration(mark.atMs)})` : since(mark.atMs - faultAt)), numeric: true },
        { header: 'Mark', cell: (mark) => mark.label },
        { header: 'From', cell: (mark) => mark.from },
      ])
    : html`<p class="note">The team marked nothing.</p>`
}
<h3>Commands the team ran through firedrill</h3>
${
  gameday.commands.length
    ? table(gameday.commands, [
        { header: 'From the fault', cell: (command) => (faultAt === undefined ? formatDuration(command.startedAtMs) : since(command.startedAtMs - faultAt)), numeric: true },
        { header: 'Command', cell: (command) => html`<span class="mono">${command.command}</span>` },
        { header: 'Took', cell: (command) => formatDuration(command.durationMs), numeric: true },
        { header: 'Outcome', cell: (command) => (command.exitCode === 0 ? pill('exit 0', 'pass') : pill(command.exitCode === null ? (command.signal ?? 'no exit code') : `exit ${command.exitCode}`, 'fail')) },
        { header: 'Runbook step', cell: (command) => (command.step ? String(command.step) : '—'), numeric: true },
      ])
    : html`<p class="note">No command ran through <span class="mono">firedrill gameday exec</span>: what the team did is known only from its marks.</p>`
}
<h3>The runbook they had</h3>
${
  runbook
    ? html`<p>${
        runbook.drillRtoServiceMs !== null
          ? html`What it would have done: in the drill of ${runbook.drillAt} this procedure had service back <strong>${formatMs(runbook.drillRtoServiceMs)}</strong> after the fault${m.rtoServiceMs !== null ? html`; the team took ${formatMs(m.rtoServiceMs)}` : ''}.`
          : html`It comes from the drill of ${runbook.drillAt}.`
      }</p>
<p class="muted">${runbook.from}; ${runbook.withheld ? (runbook.openedAtMs !== undefined && faultAt !== undefined ? `withheld, opened at fault ${since(runbook.openedAtMs - faultAt)}` : runbook.openedAtMs !== undefined ? 'withheld, opened before the fault' : 'withheld, never opened') : 'shown from the start'}.${failed ? html` <strong>${failed} step${failed === 1 ? '' : 's'} failed in the rehearsal: the runbook is stale there.</strong>` : ''}</p>
<ol class="runbook">${runbook.steps.map(
        (step, index) => html`<li><div class="step-head"><span class="step-no">${index + 1}.</span>${pill(step.phase, 'neutral')}<span class="spacer"></span><span class="muted">${formatDuration(step.drillMs)} in the drill</span>${pill(...OUTCOME[step.outcome])}</div><div class="cmd"><pre><code>${step.command}</code></pre></div></li>`,
      )}</ol>`
    : html`<p class="note">No tested runbook: no drill of this scenario had passed in the reports folder. <span class="mono">firedrill run ${journal.scenario.file ?? ''}</span> makes one.</p>`
}`,
  );
}
