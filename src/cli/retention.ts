import { readFile, writeFile } from 'node:fs/promises';
import type { Journal } from '../journal/types.js';
import { retentionPolicy } from '../retention/policy.js';
import { planRetention } from '../retention/plan.js';
import { formatBytes, formatCount } from '../report/format.js';
import { formatAge, formatEvery, planRows, renderRetentionHtml } from '../report/html-retention.js';
import { ExitCode } from '../util/errors.js';

export interface RetentionPlanOptions {
  every: number;
  period: number;
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  size?: number;
  fromJournal?: string;
  logPerDay?: number;
  html?: string;
}

/** `firedrill retention plan`: what a policy keeps over a simulated schedule, and what it costs. */
export async function retentionPlanCommand(options: RetentionPlanOptions, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  const policy = retentionPolicy.safeParse({ last: options.keepLast, daily: options.keepDaily, weekly: options.keepWeekly, monthly: options.keepMonthly, yearly: options.keepYearly });
  if (!policy.success) {
    err('retention plan: give a policy, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-yearly 3 (or --keep-last N)');
    return ExitCode.couldNotRun;
  }
  let backupBytes = options.size;
  let sizeSource = 'given';
  if (options.fromJournal) {
    const journal = JSON.parse(await readFile(options.fromJournal, 'utf8')) as Journal;
    if (!journal.backup?.sizeBytes) {
      err(`retention plan: ${options.fromJournal} records no backup size; run a drill with a backup strategy, or give --size`);
      return ExitCode.couldNotRun;
    }
    backupBytes = journal.backup.sizeBytes;
    sizeSource = `measured by drill ${journal.scenario.name} (${journal.strategy})`;
  }
  if (!backupBytes) {
    err('retention plan: how big is a backup? give --size 5GB, or --from-journal reports/<run>/<drill>/journal.json to use the size a drill measured');
    return ExitCode.couldNotRun;
  }
  const plan = planRetention({ everyMs: options.every, periodDays: options.period, policy: policy.data, backupBytes, ...(options.logPerDay ? { logBytesPerDay: options.logPerDay } : {}) });
  out(`a backup every ${formatEvery(plan.everyMs)} for ${formatCount(plan.periodDays)} days (${formatCount(plan.policyOutcome.backups)} backups of ${formatBytes(backupBytes)}, ${sizeSource})${plan.logBytesPerDay ? `, ${formatBytes(plan.logBytesPerDay)} of WAL/binlog a day` : ''}:`);
  const rows = planRows(plan);
  const width = Math.max(...rows.map((row) => row.what.length));
  out(`  ${'policy'.padEnd(width)}  ${'kept'.padStart(6)}  ${'storage'.padStart(10)}  oldest restorable point`);
  for (const row of rows) out(`  ${row.what.padEnd(width)}  ${formatCount(row.kept).padStart(6)}  ${formatBytes(row.storageBytes).padStart(10)}  ${formatAge(row.oldestDays)} back`);
  const byRule = Object.entries(plan.policyOutcome.byRule).map(([rule, count]) => `${count} ${rule}`);
  out(`kept by rule: ${byRule.join(', ')} (a backup kept by several rules counts once in "kept")`);
  if (options.html) {
    await writeFile(options.html, renderRetentionHtml(plan, sizeSource));
    out(`report: ${options.html}`);
  }
  return ExitCode.passed;
}
