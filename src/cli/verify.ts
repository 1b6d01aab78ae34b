import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { makeRunTempDir } from '../util/os-user.js';
import { resolveArchives, resolveSource } from '../verify/source.js';
import { join, resolve } from 'node:path';
import type { PhaseListener } from '../runner/timeline.js';
import { newRunId } from '../runner/run.js';
import type { Override } from '../scenario/loader.js';
import { ExitCode } from '../util/errors.js';
import { RunRegistry } from '../util/registry.js';
import { renderVerificationHtml, renderVerificationJunit, renderVerificationMarkdown } from '../verify/report.js';
import { loadVerification } from '../verify/spec.js';
import { sourceName, verifyBackup, type VerificationRecord } from '../verify/verify.js';
import type { BackupKind } from '../verify/detect.js';
import type { DeliveryOutcome } from '../verify/deliver.js';
import { pushMetrics, writeTextfile } from '../verify/metrics.js';
import { notify, type NotifyTarget } from '../verify/notify.js';
import { DrillSetupError } from '../util/errors.js';

/** The reports folder's record of every verification, one JSON line each: "last verified" per source, and the drift baseline. */
export const VERIFICATIONS_FILE = 'verifications.jsonl';

export interface VerificationEntry {
  at: string;
  runId: string;
  name: string;
  kind: string;
  status: VerificationRecord['status'];
  restoreMs: number | null;
  dataAgeMs: number | null;
  findings: string[];
  tables: Array<{ name: string; rows: number }>;
  report: string;
}

export async function readVerifications(outDir: string): Promise<VerificationEntry[]> {
  const text = await readFile(join(outDir, VERIFICATIONS_FILE), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as VerificationEntry];
      } catch {
        // A line cut short by a crash is no verification.
        return [];
      }
    });
}

export interface VerifyCommandOptions {
  /** The verification file. */
  verification?: string;
  /** Of the backups under the path or prefix, the newest. */
  newest?: boolean;
  s3Endpoint?: string;
  s3PathStyle?: boolean;
  s3CaFile?: string;
  kind?: BackupKind;
  /** A base backup's WAL archive, a mariadb-backup's binlogs, a pgBackRest repository's stanza. */
  wal?: string;
  binlogs?: string;
  stanza?: string;
  /** Where a point-in-time restore stops (one of them). */
  targetTime?: string;
  targetXid?: string;
  targetLsn?: string;
  database?: string;
  provider?: string;
  image?: string;
  name?: string;
  set?: Override[];
  out: string;
  onPhase?: PhaseListener;
  /** A generic webhook's URL, read from this environment variable (a URL can hold a secret). */
  notifyWebhookEnv?: string;
  /** A Slack incoming webhook's URL, read from this environment variable. */
  notifySlackEnv?: string;
  notifyOn?: 'failure' | 'always';
  /** A .prom file for the node-exporter textfile collector. */
  metricsFile?: string;
  pushgateway?: string;
}

/** The URL an option names by its environment variable; an unset one is refused before anything is restored. */
function urlFromEnv(variable: string, flag: string): string {
  const url = process.env[variable];
  if (!url) throw new DrillSetupError(`${flag} ${variable}: the environment variable is not set`, `export ${variable}=<the URL>, or leave out ${flag}`);
  return url;
}

/** Notifications and metrics of one verification; each target's outcome, never a change of its verdict. */
export async function deliver(summary: VerificationRecord, options: VerifyCommandOptions, targets: readonly NotifyTarget[]): Promise<DeliveryOutcome[]> {
  const outcomes: DeliveryOutcome[] = [];
  if (targets.length > 0) outcomes.push(...(await notify([summary], { targets, on: options.notifyOn ?? 'failure' })));
  if (options.metricsFile) outcomes.push(await writeTextfile([summary], options.metricsFile));
  if (options.pushgateway) outcomes.push(await pushMetrics([summary], { url: options.pushgateway }));
  return outcomes;
}

/**
 * `firedrill verify BACKUP...`: restores the backup, checks it, writes the record, the HTML
 * report, JUnit and a Markdown summary beside each other under `<out>/<run>/verify-<name>/`,
 * and appends to the reports folder's verifications.jsonl. The exit code is the
 * verification's: 0 verified, 1 a finding, 2 could not run.
 */
export async function verifyCommand(paths: readonly string[], options: VerifyCommandOptions): Promise<{ record: VerificationRecord; dir: string; exitCode: number; lastVerified?: string; delivered: DeliveryOutcome[] }> {
  // Each flag sets a field of the verification file, and a problem with its value names the flag.
  const given: Array<[string[], string, string | undefined]> = [
    [['kind'], '--kind', options.kind],
    [['provider'], '--provider', options.provider],
    [['image'], '--image', options.image],
    [['name'], '--name', options.name],
    [['wal'], '--wal', options.wal],
    [['binlogs'], '--binlogs', options.binlogs],
    [['stanza'], '--stanza', options.stanza],
    [['database'], '--database', options.database],
    [['target', 'time'], '--target-time', options.targetTime],
    [['target', 'xid'], '--target-xid', options.targetXid],
    [['target', 'lsn'], '--target-lsn', options.targetLsn],
  ];
  const flags: Override[] = [...given.flatMap(([path, flag, value]) => (value === undefined ? [] : [{ path, value, text: `${flag} ${value}` }])), ...(options.set ?? [])];
  const spec = await loadVerification(options.verification, flags);
  const targets: NotifyTarget[] = [
    ...(options.notifyWebhookEnv ? [{ type: 'webhook' as const, url: urlFromEnv(options.notifyWebhookEnv, '--notify-webhook-env') }] : []),
    ...(options.notifySlackEnv ? [{ type: 'slack' as const, url: urlFromEnv(options.notifySlackEnv, '--notify-slack-env') }] : []),
  ];
  const outDir = resolve(options.out);
  const history = await readVerifications(outDir);
  const runId = newRunId();
  const registry = new RunRegistry(runId);
  const name = sourceName(paths, spec);
  const lastGood = [...history].reverse().find((entry) => entry.status === 'passed' && entry.name === name);
  let record: VerificationRecord;
  // A backup fetched from a bucket lands here, and goes with the verification.
  const fetched = await makeRunTempDir('firedrill-fetch-');
  const handle = registry.add('directory', fetched, { type: 'path', path: fetched });
  try {
    const s3 = { ...(options.s3Endpoint ? { endpoint: options.s3Endpoint } : {}), ...(options.s3PathStyle ? { pathStyle: true } : {}), ...(options.s3CaFile ? { caFile: options.s3CaFile } : {}) };
    const { fetched: backup, ...resolved } = await resolveSource(paths, fetched, { ...(options.newest ? { newest: true } : {}), s3 });
    const archives = await resolveArchives(spec, fetched, s3);
    // The name is the one given (a prefix, a directory), not the newest file's: the same source night after night.
    record = await verifyBackup({
      ...resolved,
      spec: { ...archives.spec, name },
      fetched: [...(backup ? [backup] : []), ...archives.fetched],
      runId,
      registry,
      ...(lastGood ? { previous: lastGood.tables } : {}),
      ...(options.onPhase ? { onPhase: options.onPhase } : {}),
    });
  } finally {
    await rm(fetched, { recursive: true, force: true });
    registry.release(handle);
    registry.close(0);
  }
  const dir = join(outDir, runId, `verify-${record.name}`);
  await mkdir(dir, { recursive: true });
  record.report = join(dir, 'report.html');
  await writeFile(join(dir, 'verification.json'), `${JSON.stringify(record, null, 2)}\n`);
  await writeFile(record.report, renderVerificationHtml(record));
  await writeFile(join(dir, 'junit.xml'), renderVerificationJunit(record));
  await writeFile(join(dir, 'verification.md'), renderVerificationMarkdown(record));
  const entry: VerificationEntry = {
    at: record.finishedAt,
    runId,
    name: record.name,
    kind: record.kind,
    status: record.status,
    restoreMs: record.restoreMs,
    dataAgeMs: record.dataAgeMs ?? null,
    findings: record.findings.filter((finding) => !finding.ignored).map((finding) => finding.code),
    tables: record.inventory.tables,
    report: record.report,
  };
  await appendFile(join(outDir, VERIFICATIONS_FILE), `${JSON.stringify(entry)}\n`);
  const delivered = await deliver(record, options, targets);
  const exitCode = record.status === 'passed' ? ExitCode.passed : record.status === 'failed' ? ExitCode.breached : ExitCode.couldNotRun;
  return { record, dir, exitCode, delivered, ...(record.status === 'passed' ? { lastVerified: record.finishedAt } : lastGood ? { lastVerified: lastGood.at } : {}) };
}
