import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorMessage } from '../util/errors.js';
import { deliver, describeTarget, type DeliveryOptions, type DeliveryOutcome, type HeaderFromEnv } from './deliver.js';
import type { VerificationSummary } from './summary.js';

/**
 * The verification as Prometheus metrics, in the text exposition format 0.0.4, for the two
 * ways a batch job's figures reach Prometheus: a file for node-exporter's textfile collector,
 * and a push to a Pushgateway. Both get the same text. Samples carry no timestamp: neither
 * the collector nor the Pushgateway accepts one; `last_run_timestamp_seconds` says when.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const DEFAULT_PUSH_JOB = 'firedrill_verify';

interface Metric {
  name: string;
  help: string;
  /** The sample's value, or undefined for no sample (an absent series, rather than a made-up 0). */
  value: (summary: VerificationSummary) => number | undefined;
}

const METRICS: readonly Metric[] = [
  {
    name: 'firedrill_verify_success',
    help: '1 when the backup restored and every check held, 0 when a finding failed it or the verification could not run.',
    value: (summary) => (summary.status === 'passed' ? 1 : 0),
  },
  {
    name: 'firedrill_verify_restore_seconds',
    help: 'Seconds from fetching the backup to a restored server that answers; absent when it never got there.',
    value: (summary) => (summary.restoreMs === null ? undefined : summary.restoreMs / 1000),
  },
  {
    name: 'firedrill_verify_data_age_seconds',
    help: "Age of the restored data at the end of the verification, seconds: the freshness query's newest value, or the backup's time; absent when neither is known.",
    value: (summary) => (summary.dataAgeMs === undefined || summary.dataAgeMs === null ? undefined : summary.dataAgeMs / 1000),
  },
  {
    name: 'firedrill_verify_findings',
    help: 'Findings of the verification that are not ignored.',
    value: (summary) => summary.findings.filter((finding) => finding.ignored === undefined).length,
  },
  {
    name: 'firedrill_verify_last_run_timestamp_seconds',
    help: 'When the verification finished, Unix time in seconds.',
    value: (summary) => Date.parse(summary.finishedAt) / 1000,
  },
];

/** A label value as the format wants it: backslash, double quote and line feed escaped. */
function labelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** The exposition text: HELP and TYPE, then one gauge sample per source, each metric's samples together. */
export function metricsText(summaries: readonly VerificationSummary[]): string {
  // One series per source and kind: the same backup verified twice in a run would be a
  // duplicate series, which the Pushgateway refuses; the later verification is the one that stands.
  const bySeries = new Map<string, VerificationSummary>();
  for (const summary of summaries) bySeries.set(`${summary.source}\u0000${summary.kind}`, summary);
  const lines: string[] = [];
  for (const metric of METRICS) {
    lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} gauge`);
    for (const summary of bySeries.values()) {
      const value = metric.value(summary);
      if (value === undefined || !Number.isFinite(value)) continue;
      lines.push(`${metric.name}{source="${labelValue(summary.source)}",kind="${labelValue(summary.kind)}"} ${value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const NOTHING_VERIFIED = 'no backup was verified: the metrics already there are left as they are, so that the alert on the last run\'s age fires';

/**
 * Writes the metrics for node-exporter's textfile collector: into a temporary file in the same
 * directory (named so the collector skips it), flushed, then renamed over the target, so the
 * collector never reads half a file.
 */
export async function writeTextfile(summaries: readonly VerificationSummary[], path: string): Promise<DeliveryOutcome> {
  const sink = 'textfile';
  if (!path.endsWith('.prom')) return { sink, target: path, status: 'failed', reason: `${path}: node-exporter's textfile collector reads only files ending in .prom; name it like firedrill_verify.prom`, attempts: 0 };
  if (summaries.length === 0) return { sink, target: path, status: 'skipped', reason: NOTHING_VERIFIED };
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(metricsText(summaries));
      // Flushed before the rename: after a crash, the file is the old one or the new one, never empty.
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    return { sink, target: path, status: 'sent', attempts: 1 };
  } catch (error) {
    await rm(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT'
        ? `the directory ${dirname(path)} does not exist; create it, or give the directory node-exporter reads (its --collector.textfile.directory)`
        : code === 'EACCES' || code === 'EPERM'
          ? `cannot write in ${dirname(path)}; run the job as a user that may, or give the directory write access for it`
          : `could not be written: ${errorMessage(error)}`;
    return { sink, target: path, status: 'failed', reason: `${path}: ${what}`, attempts: 1 };
  }
}

export interface PushOptions extends DeliveryOptions {
  /** The Pushgateway, as `http://pushgateway:9091` (a path prefix is kept). */
  url: string;
  /** The `job` grouping label; default `firedrill_verify`. */
  job?: string;
  /** An `instance` grouping label, so that two jobs pushing to one Pushgateway do not replace each other's metrics. */
  instance?: string;
  /** A secret header read from the environment, for a Pushgateway behind an authenticating proxy. */
  auth?: HeaderFromEnv;
}

/**
 * A grouping label in the Pushgateway's path. A value with a `/` (or an empty one) cannot be a
 * path segment as it is: the Pushgateway takes it base64url-encoded after `name@base64`.
 */
function groupingSegment(name: string, value: string): string {
  if (value === '' || value.includes('/')) return `${name}@base64/${Buffer.from(value).toString('base64url') || '='}`;
  return `${name}/${encodeURIComponent(value)}`;
}

/**
 * PUTs the metrics to `<url>/metrics/job/<job>[/instance/<instance>]`. A PUT replaces every
 * metric of the group: a source no longer verified disappears rather than staying at its old
 * value. Never throws.
 */
export async function pushMetrics(summaries: readonly VerificationSummary[], options: PushOptions): Promise<DeliveryOutcome> {
  const job = options.job ?? DEFAULT_PUSH_JOB;
  const group = `job ${job}${options.instance === undefined ? '' : `, instance ${options.instance}`}`;
  const target = `${describeTarget(options.url)} (${group})`;
  if (summaries.length === 0) return { sink: 'pushgateway', target, status: 'skipped', reason: NOTHING_VERIFIED };
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return { sink: 'pushgateway', target, status: 'failed', reason: `${target}: the Pushgateway URL is not a URL; give it like http://pushgateway:9091`, attempts: 0 };
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/metrics/${groupingSegment('job', job)}${options.instance === undefined ? '' : `/${groupingSegment('instance', options.instance)}`}`;
  return deliver({ sink: 'pushgateway', url: url.href, target, method: 'PUT', contentType: METRICS_CONTENT_TYPE, body: metricsText(summaries), ...(options.auth ? { auth: options.auth } : {}) }, options);
}
