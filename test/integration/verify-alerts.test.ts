import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { firedrillVersion } from '../../src/util/version.js';
import { metricsText, pushMetrics, writeTextfile } from '../../src/verify/metrics.js';
import { notify, summaryLine, type SlackPayload, type WebhookPayload } from '../../src/verify/notify.js';
import type { VerificationSummary } from '../../src/verify/summary.js';
import { verificationSummary } from '../support/verify.js';

/**
 * Notifications and metrics against real HTTP servers on loopback: what arrives, how often,
 * and what a failing or hanging server makes of the outcome.
 */

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

interface TestServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const dirs: string[] = [];

/** A server on 127.0.0.1 that records every request and answers the nth with `answer(n)`. */
async function startServer(answer: (index: number) => Answer = () => ({ status: 200, body: 'ok' })): Promise<TestServer> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = answer(received.length - 1);
      if (reply === 'hang') return;
      response.writeHead(reply.status, reply.headers ?? { 'content-type': 'text/plain' });
      response.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const handle: TestServer = {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A summary of a restore that took 42 s, of data an hour old. */
function summary(overrides: Partial<VerificationSummary> = {}): VerificationSummary {
  return verificationSummary({ finishedAt: '2026-01-10T02:01:04.500Z', restoreMs: 42_310, backupTakenAt: '2026-01-10T01:00:00.000Z', dataAgeMs: 3_904_500, ...overrides });
}

const passed = summary();
const failed = summary({
  source: '/srv/backups/billing.sql',
  kind: 'pg-plain-dump',
  status: 'failed',
  restoreMs: null,
  dataAgeMs: null,
  findings: [
    { code: 'restore-tool-failed', message: 'psql stopped at line 1204: relation "invoices" does not exist; the dump is incomplete — take a new one and check its job' },
    { code: 'stale-backup', message: 'the newest backup is 30 h old, older than the 26 h allowed', ignored: 'billing is frozen for the migration until 2026-02-01' },
  ],
  report: 'https://ci.example.com/artifacts/verify/report.html',
});

/** Options that keep a failing test short: the production defaults are 10 s and 1 s. */
const quick = { timeoutMs: 2_000, retryDelayMs: 50 };

describe('notify', () => {
  it('posts the documented JSON to a webhook exactly once when a verification failed', async () => {
    const server = await startServer();
    const outcomes = await notify([passed, failed], { ...quick, targets: [{ type: 'webhook', url: `${server.url}/hooks/firedrill` }] });

    expect(outcomes).toEqual([{ sink: 'webhook', target: `${server.url}/hooks/…`, status: 'sent', attempts: 1, httpStatus: 200 }]);
    expect(server.received).toHaveLength(1);
    const [request] = server.received;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/hooks/firedrill');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe(`firedrill/${firedrillVersion()}`);
    expect(request!.headers.authorization).toBeUndefined();
    const expected: WebhookPayload = {
      formatVersion: 1,
      event: 'verify',
      verdict: 'failed',
      text: 'firedrill verify FAILED: 1 failed, 1 passed — /srv/backups/billing.sql: restore-tool-failed',
      summaries: [passed, failed],
    };
    expect(JSON.parse(request!.body)).toEqual(expected);
  });

  it('stays quiet when every verification passed, and sends once a run with on: always', async () => {
    const server = await startServer();
    const slack = await startServer();
    const targets = [
      { type: 'webhook', url: `${server.url}/hooks/firedrill` },
      { type: 'slack', url: `${slack.url}/services/T000/B000/XXXXSECRETXXXX` },
    ] as const;

    const quiet = await notify([passed], { ...quick, targets });
    expect(quiet.map((outcome) => outcome.status)).toEqual(['skipped', 'skipped']);
    expect(quiet[1]!.target).toBe(`${slack.url}/services/…`);
    expect(server.received).toHaveLength(0);
    expect(slack.received).toHaveLength(0);

    const always = await notify([passed], { ...quick, targets, on: 'always' });
    expect(always.map((outcome) => outcome.status)).toEqual(['sent', 'sent']);
    expect(server.received).toHaveLength(1);
    expect(slack.received).toHaveLength(1);
    expect((JSON.parse(server.received[0]!.body) as WebhookPayload).verdict).toBe('passed');
  });

  it('gives Slack a header with the verdict and a section per source, and no credential anywhere', async () => {
    const slack = await startServer();
    const secretPath = '/services/T000/B000/XXXXSECRETXXXX';
    const [outcome] = await notify([passed, failed], { ...quick, targets: [{ type: 'slack', url: `${slack.url}${secretPath}` }] });

    expect(outcome).toMatchObject({ sink: 'slack', status: 'sent', target: `${slack.url}/services/…` });
    expect(JSON.stringify(outcome)).not.toContain('XXXXSECRETXXXX');
    const [request] = slack.received;
    expect(request!.path).toBe(secretPath);
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).not.toContain('XXXXSECRETXXXX');

    const payload = JSON.parse(request!.body) as SlackPayload;
    expect(payload.text).toBe(summaryLine([passed, failed]));
    expect(payload.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: ':x: firedrill verify: FAILED', emoji: true } });
    const sections = payload.blocks.filter((block) => block.type === 'section' && block.fields !== undefined);
    expect(sections).toHaveLength(2);
    // The failed source first, whatever the order given.
    const [bad, good] = sections as Array<Extract<SlackPayload['blocks'][number], { type: 'section' }>>;
    expect(bad!.text.text).toContain(':x: `/srv/backups/billing.sql` FAILED');
    expect(bad!.text.text).toContain('• `restore-tool-failed` psql stopped at line 1204: relation "invoices" does not exist');
    expect(bad!.text.text).toContain('• ~`stale-backup`~ the newest backup is 30 h old, older than the 26 h allowed _(ignored: billing is frozen for the migration until 2026-02-01)_');
    expect(bad!.text.text).toContain('<https://ci.example.com/artifacts/verify/report.html|report>');
    expect(bad!.fields!.map((field) => field.text)).toEqual(['*Kind*\n`pg-plain-dump`', '*Restore*\ndid not restore', '*Data age*\nunknown']);
    expect(good!.text.text).toBe(':white_check_mark: `s3://backups/orders/` passed');
    expect(good!.fields!.map((field) => field.text)).toEqual(['*Kind*\n`pg-custom-dump`', '*Restore*\n42.31 s', '*Data age*\n1 h 05 min']);
  });

  it('sends a bearer token from the environment, and says which variable is missing without sending', async () => {
    const server = await startServer();
    const url = `${server.url}/hooks/firedrill`;
    const env = { FIREDRILL_WEBHOOK_TOKEN: 'tok-123-secret\n', FIREDRILL_API_KEY: 'key-456-secret' };

    const outcomes = await notify([failed], {
      ...quick,
      env,
      targets: [
        { type: 'webhook', url, auth: { env: 'FIREDRILL_WEBHOOK_TOKEN' } },
        { type: 'webhook', url, auth: { env: 'FIREDRILL_API_KEY', header: 'X-Api-Key' } },
        { type: 'webhook', url, auth: { env: 'FIREDRILL_UNSET_TOKEN' } },
      ],
    });
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['sent', 'sent', 'failed']);
    expect(outcomes[2]).toMatchObject({ attempts: 0, reason: `${server.url}/hooks/…: the environment variable FIREDRILL_UNSET_TOKEN is not set or empty; set it to the token, or drop the header from the options` });
    expect(server.received).toHaveLength(2);
    const byAuth = server.received.map((request) => [request.headers.authorization, request.headers['x-api-key']]);
    expect(byAuth).toContainEqual(['Bearer tok-123-secret', undefined]);
    expect(byAuth).toContainEqual([undefined, 'key-456-secret']);
    for (const request of server.received) expect(request.body).not.toMatch(/tok-123|key-456/);
    expect(JSON.stringify(outcomes)).not.toMatch(/tok-123|key-456/);
  });

  it('sends the user and password of a URL as basic auth, and prints neither', async () => {
    const server = await startServer();
    const port = new URL(server.url).port;
    const [sent] = await notify([failed], { ...quick, targets: [{ type: 'webhook', url: `http://alice:pa55-w0rd@127.0.0.1:${port}/hooks/firedrill` }] });
    expect(sent).toMatchObject({ status: 'sent', target: `http://127.0.0.1:${port}/hooks/…` });
    expect(server.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('alice:pa55-w0rd').toString('base64')}`);

    // Nothing listens on a closed server's port: a network error, whose reason must not carry the URL's secrets either.
    await server.close();
    const [refused] = await notify([failed], { ...quick, targets: [{ type: 'webhook', url: `http://alice:pa55-w0rd@127.0.0.1:${port}/hooks/s3cr3t-path?token=abc123` }] });
    expect(refused).toMatchObject({ status: 'failed', attempts: 2, target: `http://127.0.0.1:${port}/hooks/…` });
    expect(refused!.status === 'failed' && refused.reason).toMatch(/could not be reached \(.*ECONNREFUSED.*\), tried twice; check the URL/);
    expect(JSON.stringify(refused)).not.toMatch(/alice|pa55|s3cr3t|abc123/);
  });

  it('retries a 500 once and reports sent', async () => {
    const server = await startServer((index) => (index === 0 ? { status: 500, body: 'upstream down' } : { status: 200, body: 'ok' }));
    const [outcome] = await notify([failed], { ...quick, targets: [{ type: 'webhook', url: `${server.url}/hook` }] });
    expect(outcome).toEqual({ sink: 'webhook', target: `${server.url}/…`, status: 'sent', attempts: 2, httpStatus: 200 });
    expect(server.received).toHaveLength(2);
    expect(server.received[1]!.body).toBe(server.received[0]!.body);
  });

  it('gives up after the retry on a second 5xx, and does not retry a 4xx or follow a redirect', async () => {
    const failing = await startServer(() => ({ status: 503, body: 'maintenance\nuntil 03:00' }));
    const gone = await startServer(() => ({ status: 404, body: 'no_service' }));
    const moved = await startServer(() => ({ status: 302, headers: { location: '/elsewhere/secret-token' } }));
    const outcomes = await notify([failed], {
      ...quick,
      targets: [
        { type: 'webhook', url: `${failing.url}/hook` },
        { type: 'slack', url: `${gone.url}/services/T/B/SECRET` },
        { type: 'webhook', url: `${moved.url}/hook` },
      ],
    });
    expect(outcomes).toEqual([
      { sink: 'webhook', target: `${failing.url}/…`, status: 'failed', attempts: 2, httpStatus: 503, reason: `${failing.url}/…: answered 503: maintenance until 03:00, tried twice; the service is failing; the next run tries again` },
      { sink: 'slack', target: `${gone.url}/services/…`, status: 'failed', attempts: 1, httpStatus: 404, reason: `${gone.url}/services/…: answered 404: no_service; check the URL: the webhook may have been deleted, or the path is wrong` },
      { sink: 'webhook', target: `${moved.url}/…`, status: 'failed', attempts: 1, httpStatus: 302, reason: `${moved.url}/…: answered 302, a redirect to ${moved.url}/…; give the URL it redirects to` },
    ]);
    expect([failing.received.length, gone.received.length, moved.received.length]).toEqual([2, 1, 1]);
  });

  it('times out a server that never answers, twice, and reports it failed without throwing', async () => {
    const server = await startServer(() => 'hang');
    const started = performance.now();
    const [outcome] = await notify([failed], { timeoutMs: 300, retryDelayMs: 50, targets: [{ type: 'webhook', url: `${server.url}/hook` }] });
    const elapsed = performance.now() - started;
    expect(outcome).toEqual({ sink: 'webhook', target: `${server.url}/…`, status: 'failed', attempts: 2, reason: `${server.url}/…: no answer within 300 ms, tried twice; check the URL and that this machine can reach it (Node's fetch does not use HTTP_PROXY or HTTPS_PROXY)` });
    expect(server.received).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(elapsed).toBeLessThan(3_000);
  });
});

/** Parses the exposition text strictly enough to catch a malformed line: HELP, TYPE, then `name{labels} value` samples. */
function parseExposition(text: string): { help: Map<string, string>; type: Map<string, string>; samples: Array<{ name: string; labels: Record<string, string>; value: number }> } {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      (comment[1] === 'HELP' ? help : type).set(comment[2]!, comment[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$/.exec(line);
    expect(sample, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name, labelText, value] = sample!;
    expect(type.get(name!), `${name} has a sample before its TYPE`).toBe('gauge');
    const labels: Record<string, string> = {};
    const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)/y;
    while (label.lastIndex < labelText!.length) {
      const match = label.exec(labelText!);
      expect(match, `bad labels in ${JSON.stringify(line)}`).not.toBeNull();
      labels[match![1]!] = match![2]!.replace(/\\(["\\n])/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
    }
    expect(Number.isNaN(Number(value))).toBe(false);
    samples.push({ name: name!, labels, value: Number(value) });
  }
  return { help, type, samples };
}

const METRIC_NAMES = ['firedrill_verify_success', 'firedrill_verify_restore_seconds', 'firedrill_verify_data_age_seconds', 'firedrill_verify_findings', 'firedrill_verify_last_run_timestamp_seconds'];

describe('metrics', () => {
  // A quote, a backslash and a line break in a label value: each must be escaped.
  const odd = summary({ source: 's3://b/"x"\\n', kind: 'mysql\ndump', status: 'error', restoreMs: null, findings: [{ code: 'verify-crashed', message: 'the restore server did not start' }] });

  it('pushes a parseable text with PUT to the job and instance path of the Pushgateway', async () => {
    const gateway = await startServer();
    const outcome = await pushMetrics([passed, failed, odd], { ...quick, url: `${gateway.url}/`, instance: 'nightly-eu' });

    expect(outcome).toEqual({ sink: 'pushgateway', target: `${gateway.url} (job firedrill_verify, instance nightly-eu)`, status: 'sent', attempts: 1, httpStatus: 200 });
    expect(gateway.received).toHaveLength(1);
    const [request] = gateway.received;
    expect(request!.method).toBe('PUT');
    expect(request!.path).toBe('/metrics/job/firedrill_verify/instance/nightly-eu');
    expect(request!.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(request!.body).toBe(metricsText([passed, failed, odd]));
    expect(request!.body).toContain('firedrill_verify_success{source="s3://b/\\"x\\"\\\\n",kind="mysql\\ndump"} 0\n');

    const { help, type, samples } = parseExposition(request!.body);
    expect([...type.keys()]).toEqual(METRIC_NAMES);
    expect([...type.values()].every((value) => value === 'gauge')).toBe(true);
    expect([...help.keys()]).toEqual(METRIC_NAMES);
    const of = (name: string, source: string) => samples.find((sample) => sample.name === name && sample.labels.source === source)?.value;
    expect(of('firedrill_verify_success', passed.source)).toBe(1);
    expect(of('firedrill_verify_success', failed.source)).toBe(0);
    expect(of('firedrill_verify_success', odd.source)).toBe(0);
    expect(samples.find((sample) => sample.labels.source === odd.source)!.labels.kind).toBe('mysql\ndump');
    expect(of('firedrill_verify_restore_seconds', passed.source)).toBe(42.31);
    // No restore, no data age: no sample, rather than a 0 that would read as instant and fresh.
    expect(of('firedrill_verify_restore_seconds', failed.source)).toBeUndefined();
    expect(of('firedrill_verify_data_age_seconds', failed.source)).toBeUndefined();
    expect(of('firedrill_verify_data_age_seconds', passed.source)).toBe(3904.5);
    expect(of('firedrill_verify_findings', failed.source)).toBe(1);
    expect(of('firedrill_verify_findings', odd.source)).toBe(1);
    expect(of('firedrill_verify_last_run_timestamp_seconds', passed.source)).toBe(Date.parse('2026-01-10T02:01:04.500Z') / 1000);
  });

  it('encodes a job with a slash in base64, as the Pushgateway asks, and reports a refused push', async () => {
    const gateway = await startServer(() => ({ status: 400, body: 'pushed metrics are invalid or inconsistent with existing metrics' }));
    const outcome = await pushMetrics([passed], { ...quick, url: gateway.url, job: 'verify/orders' });
    expect(gateway.received[0]!.path).toBe(`/metrics/job@base64/${Buffer.from('verify/orders').toString('base64url')}`);
    expect(outcome).toMatchObject({ status: 'failed', attempts: 1, httpStatus: 400, reason: `${gateway.url} (job verify/orders): answered 400: pushed metrics are invalid or inconsistent with existing metrics; the service refused the request: its answer says why` });
  });

  it('writes the textfile atomically: the pushed text, and no temporary file left beside it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'firedrill-textfile-'));
    dirs.push(dir);
    const gateway = await startServer();
    const path = join(dir, 'firedrill_verify.prom');

    await pushMetrics([passed, failed, odd], { ...quick, url: gateway.url });
    expect(await writeTextfile([passed, failed, odd], path)).toEqual({ sink: 'textfile', target: path, status: 'sent', attempts: 1 });
    expect(await readFile(path, 'utf8')).toBe(gateway.received[0]!.body);
    // A second run replaces the file whole.
    expect(await writeTextfile([passed], path)).toMatchObject({ status: 'sent' });
    expect(await readFile(path, 'utf8')).toBe(metricsText([passed]));
    expect(await readdir(dir)).toEqual(['firedrill_verify.prom']);
  });

  it('refuses a textfile the collector would not read, and says what a missing directory needs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'firedrill-textfile-'));
    dirs.push(dir);
    expect(await writeTextfile([passed], join(dir, 'verify.txt'))).toMatchObject({ status: 'failed', reason: expect.stringContaining('reads only files ending in .prom') });
    const missing = join(dir, 'absent', 'firedrill_verify.prom');
    expect(await writeTextfile([passed], missing)).toMatchObject({ status: 'failed', reason: `${missing}: the directory ${join(dir, 'absent')} does not exist; create it, or give the directory node-exporter reads (its --collector.textfile.directory)` });
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves the metrics already there when nothing was verified, so that the staleness alert fires', async () => {
    const gateway = await startServer();
    const dir = await mkdtemp(join(tmpdir(), 'firedrill-textfile-'));
    dirs.push(dir);
    expect(await pushMetrics([], { ...quick, url: gateway.url })).toMatchObject({ status: 'skipped' });
    expect(await writeTextfile([], join(dir, 'firedrill_verify.prom'))).toMatchObject({ status: 'skipped' });
    expect(gateway.received).toHaveLength(0);
    expect(await readdir(dir)).toEqual([]);
  });
});
