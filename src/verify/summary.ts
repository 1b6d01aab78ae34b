/**
 * What one `firedrill verify` of a team's own backup found, in the few figures that leave the
 * machine: notifications, metrics, a scheduler's log. Credentials never appear in it; `source`
 * is the source as a person would name it (`s3://bucket/prefix/`, a path), without them.
 */
export interface VerificationSummary {
  /** The backup verified, as given (credentials stripped). */
  source: string;
  /** What it was found to be: `pg-custom-dump`, `pg-plain-dump`, `mysqldump`, … */
  kind: string;
  /** passed: restored and every check held; failed: a finding not ignored; error: the verification could not run (never reported as passing). */
  status: 'passed' | 'failed' | 'error';
  startedAt: string;
  finishedAt: string;
  /** Fetch to a restored server that answers, ms; null when it never got there. */
  restoreMs: number | null;
  /** When the backup was taken, when the backup says so (a dump's header), ISO. */
  backupTakenAt?: string;
  /** How old the data is at the end of the verification: the freshness query's newest value, or the backup's time. */
  dataAgeMs?: number | null;
  /** Every problem, named; an ignored one keeps its written reason and does not fail the verification. */
  findings: VerificationFinding[];
  /** The HTML report, where one was written. */
  report?: string;
}

export interface VerificationFinding {
  /** Stable name, for alert routing and `ignore:` (`restore-tool-failed`, `stale-backup`, …). */
  code: string;
  /** What is wrong and what to do, in a sentence a person can act on. */
  message: string;
  /** Why it is accepted, when the verification file ignores it: written, and shown in the report. */
  ignored?: string;
}
