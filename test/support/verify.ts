import type { VerificationSummary } from '../../src/verify/summary.js';

/** A verification's summary for the alert tests: one that passed, restored in 1.5 s, with what the test changes. */
export function verificationSummary(overrides: Partial<VerificationSummary> = {}): VerificationSummary {
  return {
    source: 's3://backups/orders/',
    kind: 'pg-custom-dump',
    status: 'passed',
    startedAt: '2026-01-10T02:00:00.000Z',
    finishedAt: '2026-01-10T02:01:00.000Z',
    restoreMs: 1_500,
    findings: [],
    ...overrides,
  };
}
