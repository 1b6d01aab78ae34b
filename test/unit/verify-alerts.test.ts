import { describe, expect, it } from 'vitest';
import { metricsText } from '../../src/verify/metrics.js';
import { describeTarget, notify, slackPayload, summaryLine, verdictOf } from '../../src/verify/notify.js';
import { verificationSummary } from '../support/verify.js';

const summary = verificationSummary;

describe('describeTarget', () => {
  it('keeps the scheme, host, port and a well-known first segment; hides credentials, the rest of the path and the query', () => {
    expect(describeTarget('https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX')).toBe('https://hooks.slack.com/services/…');
    expect(describeTarget('https://user:pass@push.example.com:9091')).toBe('https://push.example.com:9091');
    expect(describeTarget('https://user:pass@push.example.com:9091/')).toBe('https://push.example.com:9091');
    expect(describeTarget('https://chat.example.com/hooks/abcd1234')).toBe('https://chat.example.com/hooks/…');
    // A path that may itself be the secret (a ping URL's UUID) is hidden whole.
    expect(describeTarget('https://hc-ping.example.com/0b5e5c1a-7f3d-4a6b-9a53-1f6b1b7d7e11')).toBe('https://hc-ping.example.com/…');
    expect(describeTarget('https://ops.example.com/?token=abc')).toBe('https://ops.example.com/…');
    expect(describeTarget('not a url with secret')).toBe('(not a valid URL)');
  });
});

describe('verdict and the one-line text', () => {
  const bad = summary({ source: '/b/billing.sql', status: 'failed', findings: [{ code: 'check-failed', message: 'm' }, { code: 'stale-backup', message: 'm', ignored: 'frozen' }] });
  const broken = summary({ source: '/b/crm.sql', status: 'error', findings: [] });

  it('ranks could-not-run above failed, as the exit code does, and never passes an empty run', () => {
    expect(verdictOf([summary()])).toBe('passed');
    expect(verdictOf([summary(), bad])).toBe('failed');
    expect(verdictOf([bad, broken])).toBe('error');
    expect(verdictOf([])).toBe('error');
  });

  it('names each source that did not pass with its findings not ignored', () => {
    expect(summaryLine([summary()])).toBe('firedrill verify PASSED: 1 backup restored and passed its checks');
    expect(summaryLine([summary(), summary()])).toBe('firedrill verify PASSED: 2 backups restored and passed their checks');
    expect(summaryLine([summary(), bad, broken])).toBe('firedrill verify ERROR: 1 failed, 1 could not be verified, 1 passed — /b/billing.sql: check-failed; /b/crm.sql: could not run');
    expect(summaryLine([])).toBe('firedrill verify ERROR: no backup was verified; check the sources the job names');
    const many = Array.from({ length: 7 }, (_, index) => summary({ source: `/b/${index}.sql`, status: 'failed' }));
    expect(summaryLine(many)).toBe('firedrill verify FAILED: 7 failed — /b/0.sql: failed; /b/1.sql: failed; /b/2.sql: failed; /b/3.sql: failed; /b/4.sql: failed; 2 more');
  });

  it('notifies a run that verified nothing even on failure only: a misconfigured job must not stay quiet', async () => {
    // An invalid URL fails before any request: the point is that it was not skipped.
    const [outcome] = await notify([], { targets: [{ type: 'webhook', url: 'ftp://example.invalid/hook' }] });
    expect(outcome).toMatchObject({ status: 'failed', attempts: 0, reason: 'ftp://example.invalid/…: the webhook URL must start with https:// or http://, not ftp://' });
  });
});

describe('Slack payload', () => {
  it('escapes mrkdwn, shows a report path as code, ages in hours and days, and stays within 50 blocks', () => {
    const odd = summary({ source: 's3://b/<a>&_b_', report: 'reports/verify/report.html', dataAgeMs: 3 * 86_400_000 + 5 * 3_600_000, findings: [{ code: 'x', message: 'a <b> & c' }] });
    const [, , , block] = slackPayload([odd]).blocks;
    expect(block).toMatchObject({ type: 'section' });
    const section = block as Extract<typeof block, { type: 'section' }>;
    expect(section.text.text).toBe(':white_check_mark: `s3://b/&lt;a&gt;&amp;_b_` passed\n• `x` a &lt;b&gt; &amp; c\nreport: `reports/verify/report.html`');
    expect(section.fields![2]!.text).toBe('*Data age*\n3 d 05 h');

    const many = [summary({ source: '/b/bad.sql', status: 'failed' }), ...Array.from({ length: 60 }, (_, index) => summary({ source: `/b/${index}.sql` }))];
    const { blocks } = slackPayload(many);
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(blocks[3])).toContain('/b/bad.sql');
    expect(blocks.at(-1)).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '…and 16 more backups (16 passed): Slack shows 45 a message; the webhook and the metrics have them all' } });
  });
});

describe('metrics text', () => {
  it('is exactly the exposition format, with one series per source and kind (the later verification stands)', () => {
    const first = summary({ status: 'failed', findings: [{ code: 'c', message: 'm' }] });
    const again = summary({ finishedAt: '2026-01-10T03:00:00.000Z', dataAgeMs: 60_000 });
    expect(metricsText([first, again])).toBe(
      [
        '# HELP firedrill_verify_success 1 when the backup restored and every check held, 0 when a finding failed it or the verification could not run.',
        '# TYPE firedrill_verify_success gauge',
        'firedrill_verify_success{source="s3://backups/orders/",kind="pg-custom-dump"} 1',
        '# HELP firedrill_verify_restore_seconds Seconds from fetching the backup to a restored server that answers; absent when it never got there.',
        '# TYPE firedrill_verify_restore_seconds gauge',
        'firedrill_verify_restore_seconds{source="s3://backups/orders/",kind="pg-custom-dump"} 1.5',
        "# HELP firedrill_verify_data_age_seconds Age of the restored data at the end of the verification, seconds: the freshness query's newest value, or the backup's time; absent when neither is known.",
        '# TYPE firedrill_verify_data_age_seconds gauge',
        'firedrill_verify_data_age_seconds{source="s3://backups/orders/",kind="pg-custom-dump"} 60',
        '# HELP firedrill_verify_findings Findings of the verification that are not ignored.',
        '# TYPE firedrill_verify_findings gauge',
        'firedrill_verify_findings{source="s3://backups/orders/",kind="pg-custom-dump"} 0',
        '# HELP firedrill_verify_last_run_timestamp_seconds When the verification finished, Unix time in seconds.',
        '# TYPE firedrill_verify_last_run_timestamp_seconds gauge',
        'firedrill_verify_last_run_timestamp_seconds{source="s3://backups/orders/",kind="pg-custom-dump"} 1768014000',
        '',
      ].join('\n'),
    );
  });
});
