import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import { deliver, describeTarget, type DeliveryOptions, type DeliveryOutcome, type HeaderFromEnv, type Sink } from './deliver.js';
import type { VerificationSummary } from './summary.js';

export { describeTarget, type DeliveryOptions, type DeliveryOutcome, type HeaderFromEnv } from './deliver.js';

/**
 * Notifications of a `firedrill verify`: a generic JSON webhook and Slack's incoming webhooks
 * (and the servers that take the same payload). By default only a verification that did not
 * pass notifies: a nightly job is quiet when all is well, so that its message means something.
 */

/** Raised when a change to WebhookPayload would break a reader. */
export const WEBHOOK_FORMAT_VERSION = 1;

/** What the generic webhook receives (docs/verify-alerts.md). */
export interface WebhookPayload {
  formatVersion: typeof WEBHOOK_FORMAT_VERSION;
  event: 'verify';
  /** `error` when any verification could not run, else `failed` when any failed, else `passed` — as the exit code ranks them. */
  verdict: Verdict;
  /** One line for a chat message or a pager's title. */
  text: string;
  summaries: VerificationSummary[];
}

export type Verdict = VerificationSummary['status'];

export type NotifyTarget =
  /** POSTs WebhookPayload. `auth` adds a secret header read from the environment. */
  | { type: 'webhook'; url: string; auth?: HeaderFromEnv }
  /** POSTs `{ text, blocks }` (Block Kit) to a Slack incoming webhook, or to a server that takes its payload. */
  | { type: 'slack'; url: string };

export interface NotifyOptions extends DeliveryOptions {
  targets: readonly NotifyTarget[];
  /** `failure` (default): only when a verification failed or could not run. `always`: every run, as a heartbeat. */
  on?: 'failure' | 'always';
}

/** Ranked as `firedrill run` ranks its exit codes: could not run > failed > passed. Nothing verified is an error, never a pass. */
export function verdictOf(summaries: readonly VerificationSummary[]): Verdict {
  if (summaries.length === 0 || summaries.some((summary) => summary.status === 'error')) return 'error';
  return summaries.some((summary) => summary.status === 'failed') ? 'failed' : 'passed';
}

const VERDICT_WORD: Record<Verdict, string> = { passed: 'PASSED', failed: 'FAILED', error: 'ERROR' };
/** Sources named in the one-line text, the rest counted: a pager's title has little room. */
const LINE_SOURCES = 5;

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function activeFindings(summary: VerificationSummary): VerificationSummary['findings'] {
  return summary.findings.filter((finding) => finding.ignored === undefined);
}

/**
 * One line: the verdict, the counts, and each source that did not pass with the codes of its
 * findings. `firedrill verify FAILED: 1 failed, 2 passed — s3://backups/orders/: restore-tool-failed`.
 */
export function summaryLine(summaries: readonly VerificationSummary[]): string {
  const verdict = verdictOf(summaries);
  if (summaries.length === 0) return `firedrill verify ${VERDICT_WORD.error}: no backup was verified; check the sources the job names`;
  if (verdict === 'passed') return `firedrill verify ${VERDICT_WORD.passed}: ${plural(summaries.length, 'backup', 'backups')} restored and passed ${summaries.length === 1 ? 'its' : 'their'} checks`;
  const count = (status: Verdict) => summaries.filter((summary) => summary.status === status).length;
  const counts = [
    count('failed') > 0 ? `${count('failed')} failed` : '',
    count('error') > 0 ? `${count('error')} could not be verified` : '',
    count('passed') > 0 ? `${count('passed')} passed` : '',
  ].filter(Boolean);
  const bad = summaries.filter((summary) => summary.status !== 'passed');
  const named = bad.slice(0, LINE_SOURCES).map((summary) => {
    const codes = activeFindings(summary).map((finding) => finding.code);
    return `${summary.source}: ${codes.length > 0 ? codes.join(', ') : summary.status === 'error' ? 'could not run' : 'failed'}`;
  });
  if (bad.length > LINE_SOURCES) named.push(`${bad.length - LINE_SOURCES} more`);
  return `firedrill verify ${VERDICT_WORD[verdict]}: ${counts.join(', ')} — ${named.join('; ')}`;
}

export function webhookPayload(summaries: readonly VerificationSummary[]): WebhookPayload {
  return { formatVersion: WEBHOOK_FORMAT_VERSION, event: 'verify', verdict: verdictOf(summaries), text: summaryLine(summaries), summaries: [...summaries] };
}

/** The few Block Kit shapes used here. */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: true } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string }; fields?: Array<{ type: 'mrkdwn'; text: string }> }
  | { type: 'divider' };

export interface SlackPayload {
  /** The one-line text, escaped as mrkdwn. */
  text: string;
  blocks: SlackBlock[];
}

const STATUS_EMOJI: Record<Verdict, string> = { passed: ':white_check_mark:', failed: ':x:', error: ':warning:' };
const STATUS_WORDS: Record<Verdict, string> = { passed: 'passed', failed: 'FAILED', error: 'could not be verified' };
// Slack's limits: 50 blocks a message, 3000 characters a section's text, 2000 a field's.
const SLACK_SOURCE_BLOCKS = 45;
const SLACK_TEXT_CHARS = 3000;
const SLACK_FIELD_CHARS = 2000;

/** Slack's mrkdwn takes `&`, `<` and `>` as markup: https://api.slack.com/reference/surfaces/formatting#escaping */
function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** In a code span, so that a `*` or `_` in a path is not read as bold or italics; Slack has no escape for a backtick inside one. */
function code(text: string): string {
  return `\`${mrkdwn(text).replace(/`/g, "'")}\``;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function reportLine(report: string): string {
  // Slack links only http(s): a path on the machine that ran the job is shown for a person to open there.
  if (/^https?:\/\//i.test(report)) return `<${report.replace(/[|<>]/g, encodeURIComponent)}|report>`;
  return `report: ${code(report)}`;
}

function sourceBlock(summary: VerificationSummary): SlackBlock {
  const lines = [`${STATUS_EMOJI[summary.status]} ${code(summary.source)} ${STATUS_WORDS[summary.status]}`];
  for (const finding of summary.findings) {
    lines.push(
      finding.ignored === undefined
        ? `• ${code(finding.code)} ${mrkdwn(finding.message)}`
        : `• ~${code(finding.code)}~ ${mrkdwn(finding.message)} _(ignored: ${mrkdwn(finding.ignored)})_`,
    );
  }
  if (summary.report) lines.push(reportLine(summary.report));
  const fields = [
    `*Kind*\n${code(summary.kind)}`,
    `*Restore*\n${summary.restoreMs === null ? 'did not restore' : formatDuration(summary.restoreMs)}`,
    `*Data age*\n${summary.dataAgeMs === undefined || summary.dataAgeMs === null ? 'unknown' : formatDuration(summary.dataAgeMs)}`,
  ];
  return { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), SLACK_TEXT_CHARS) }, fields: fields.map((text) => ({ type: 'mrkdwn', text: clip(text, SLACK_FIELD_CHARS) })) };
}

/** Block Kit: the verdict as the header, the counts, then a section per source, those that did not pass first. */
export function slackPayload(summaries: readonly VerificationSummary[]): SlackPayload {
  const verdict = verdictOf(summaries);
  // The top-level text is mrkdwn too: it is what a notification and a client without Block Kit show.
  const text = mrkdwn(summaryLine(summaries));
  const rank: Record<Verdict, number> = { failed: 0, error: 1, passed: 2 };
  const ordered = [...summaries].sort((a, b) => rank[a.status] - rank[b.status]);
  const shown = ordered.slice(0, SLACK_SOURCE_BLOCKS);
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `${STATUS_EMOJI[verdict]} firedrill verify: ${VERDICT_WORD[verdict]}`, emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(text, SLACK_TEXT_CHARS) } },
    { type: 'divider' },
    ...shown.map(sourceBlock),
  ];
  const hidden = ordered.slice(SLACK_SOURCE_BLOCKS);
  if (hidden.length > 0) {
    const passed = hidden.filter((summary) => summary.status === 'passed').length;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `…and ${plural(hidden.length, 'more backup', 'more backups')} (${passed} passed): Slack shows ${SLACK_SOURCE_BLOCKS} a message; the webhook and the metrics have them all` } });
  }
  return { text, blocks };
}

/**
 * Sends the summaries to every target, in parallel, and says what became of each, in the
 * targets' order. Never throws: a failed notification is for the caller to report, and does
 * not change the verification's verdict. Secrets — a header's value, a URL's credentials or
 * Slack's secret path — appear in no outcome.
 */
export async function notify(summaries: readonly VerificationSummary[], options: NotifyOptions): Promise<DeliveryOutcome[]> {
  const on = options.on ?? 'failure';
  const verdict = verdictOf(summaries);
  return Promise.all(
    options.targets.map(async (target): Promise<DeliveryOutcome> => {
      const sink: Sink = target.type;
      const described = describeTarget(target.url);
      if (on === 'failure' && verdict === 'passed') return { sink, target: described, status: 'skipped', reason: `${plural(summaries.length, 'verification', 'verifications')} passed; notifications are sent on failure only (on: always sends every run)` };
      try {
        const body = JSON.stringify(target.type === 'slack' ? slackPayload(summaries) : webhookPayload(summaries));
        return await deliver({ sink, url: target.url, method: 'POST', contentType: 'application/json', body, ...(target.type === 'webhook' && target.auth ? { auth: target.auth } : {}) }, options);
      } catch (error) {
        // Only the payload can throw here (deliver does not); its message names no target's secret.
        return { sink, target: described, status: 'failed', reason: `${described}: the message could not be built: ${errorMessage(error)}`, attempts: 0 };
      }
    }),
  );
}
