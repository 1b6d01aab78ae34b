import { sleep } from '../util/clock.js';
import { formatDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import { firedrillVersion } from '../util/version.js';

/**
 * Sending what a verification found off the machine: one HTTP request, a timeout per attempt,
 * one retry, and an outcome rather than an exception — a notification that could not be sent
 * is reported beside the verdict and never changes it.
 *
 * The URLs carry secrets (a Slack webhook's path is its credential, a Pushgateway's URL may hold
 * a user and password), so a target is only ever named through describeTarget(), and every
 * text that comes back from the network is scrubbed of the URL's secret parts before it is put
 * in an outcome.
 */

export type Sink = 'webhook' | 'slack' | 'pushgateway' | 'textfile';

/** What became of one target. `sent` is delivered (for the textfile: written in place). */
export type DeliveryOutcome =
  | { sink: Sink; target: string; status: 'sent'; attempts: number; httpStatus?: number }
  | { sink: Sink; target: string; status: 'skipped'; reason: string }
  | { sink: Sink; target: string; status: 'failed'; reason: string; attempts: number; httpStatus?: number };

export interface DeliveryOptions {
  /** Per attempt, ms; default 10 s. A target costs at most twice this plus the backoff. */
  timeoutMs?: number;
  /** Wait before the one retry, ms; default 1 s. */
  retryDelayMs?: number;
  /** Where a header's secret is read from; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A secret header whose value comes from the environment, so that configuration holds only the variable's name. */
export interface HeaderFromEnv {
  /** The environment variable that holds the secret. */
  env: string;
  /** The header; default `Authorization`, sent as `Bearer <value>`. Any other header gets the value as it is. */
  header?: string;
}

export interface HttpDelivery {
  sink: Sink;
  url: string;
  /** How the target is named in the outcome; default describeTarget(url). Must not hold a secret. */
  target?: string;
  method: 'POST' | 'PUT';
  contentType: string;
  body: string;
  auth?: HeaderFromEnv;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;
const ANSWER_CHARS = 200;

/**
 * First path segments that name a kind of endpoint rather than a secret (Slack's `/services/`,
 * Mattermost's and Rocket.Chat's `/hooks/`, Discord's `/api/`): kept, so that a person can tell
 * what was called. Any other path may itself be the secret (a ping URL's UUID) and is hidden.
 */
const PUBLIC_FIRST_SEGMENTS = new Set(['services', 'hooks', 'api', 'metrics']);

/**
 * A URL as it may be printed: scheme, host and port, the first path segment when it is a
 * well-known word, `…` for the rest. The user and password, the rest of the path, the query
 * and the fragment never appear. `https://hooks.slack.com/services/T0/B0/XXXX` →
 * `https://hooks.slack.com/services/…`.
 */
export function describeTarget(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a valid URL)';
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  const first = segments[0] !== undefined && PUBLIC_FIRST_SEGMENTS.has(segments[0].toLowerCase()) ? `/${segments[0]}` : '';
  const hidden = segments.length > (first ? 1 : 0) || parsed.search !== '' || parsed.hash !== '';
  return `${parsed.protocol}//${parsed.host}${first}${hidden ? '/…' : ''}`;
}

/** Removes from a text (an error, a server's answer) every secret part of the URL, in case it was echoed. */
function scrub(text: string, url: URL, raw: string): string {
  const secrets = [raw, url.href, url.username, url.password, safeDecode(url.username), safeDecode(url.password), url.pathname.length > 1 ? url.pathname : '', url.search]
    .filter((secret) => secret.length > 0)
    .sort((a, b) => b.length - a.length);
  let scrubbed = text;
  for (const secret of secrets) scrubbed = scrubbed.split(secret).join('…');
  return scrubbed;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A header name as HTTP allows it (RFC 9110 token), checked here so that a bad one is named rather than thrown by fetch. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

type Prepared = { url: string; headers: Headers } | { problem: string };

/** The request's URL without its user and password (fetch refuses those, and its error would print them) and its headers. */
function prepare(request: HttpDelivery, parsed: URL, env: Readonly<Record<string, string | undefined>>): Prepared {
  const headers = new Headers({ 'Content-Type': request.contentType, 'User-Agent': `firedrill/${firedrillVersion()}` });
  const url = new URL(parsed.href);
  if (url.username || url.password) {
    headers.set('Authorization', `Basic ${Buffer.from(`${safeDecode(url.username)}:${safeDecode(url.password)}`).toString('base64')}`);
    url.username = '';
    url.password = '';
  }
  if (request.auth) {
    const name = request.auth.header ?? 'Authorization';
    if (!HEADER_NAME.test(name)) return { problem: `"${name}" is not an HTTP header name; give one like Authorization or X-Api-Key` };
    // Trimmed: a token read from a file into a variable usually ends in a newline.
    const value = env[request.auth.env]?.trim();
    if (!value) return { problem: `the environment variable ${request.auth.env} is not set or empty; set it to the token, or drop the header from the options` };
    try {
      headers.set(name, request.auth.header === undefined ? `Bearer ${value}` : value);
    } catch {
      // Headers' own message may quote the value: it is not repeated.
      return { problem: `the value of ${request.auth.env} cannot be sent in a header (it holds a line break or a control character); check the variable` };
    }
  }
  return { url: url.href, headers };
}

/** What to do about an HTTP answer that is not a success. */
function adviceFor(status: number, auth: HeaderFromEnv | undefined): string {
  if (status === 401 || status === 403) return auth ? `check the token in ${auth.env}` : 'the service refused the credentials; check the URL (a revoked Slack webhook answers 403, 404 or 410)';
  if (status === 404 || status === 410) return 'check the URL: the webhook may have been deleted, or the path is wrong';
  if (status >= 500) return 'the service is failing; the next run tries again';
  return 'the service refused the request: its answer says why';
}

/** The first characters of a server's answer, on one line. */
function answerOf(text: string, url: URL, raw: string): string {
  const line = scrub(text, url, raw).replace(/\s+/g, ' ').trim();
  if (!line) return '';
  return `: ${line.length > ANSWER_CHARS ? `${line.slice(0, ANSWER_CHARS)}…` : line}`;
}

/** Why a request threw: a timeout, or the network's own reason (undici puts it in `cause`). */
function thrownReason(error: unknown, timeoutMs: number, url: URL, raw: string): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `no answer within ${formatDuration(timeoutMs)}`;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  return `could not be reached (${scrub(cause ? cause.message : errorMessage(error), url, raw)})`;
}

/**
 * Sends one request: success on 2xx; one retry, after a short wait, on a 5xx answer, a network
 * error or a timeout (the nightly alert matters more than a rare duplicate); none on 4xx or a
 * redirect, which the same request would meet again. Never throws.
 */
export async function deliver(request: HttpDelivery, options: DeliveryOptions = {}): Promise<DeliveryOutcome> {
  const target = request.target ?? describeTarget(request.url);
  const { sink } = request;
  const failed = (reason: string, attempts: number, httpStatus?: number): DeliveryOutcome => ({ sink, target, status: 'failed', reason: `${target}: ${reason}`, attempts, ...(httpStatus === undefined ? {} : { httpStatus }) });

  let parsed: URL;
  try {
    parsed = new URL(request.url);
  } catch {
    return failed(`the ${sink} URL is not a URL; give the whole address, starting with https://`, 0);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return failed(`the ${sink} URL must start with https:// or http://, not ${parsed.protocol}//`, 0);
  const prepared = prepare(request, parsed, options.env ?? process.env);
  if ('problem' in prepared) return failed(prepared.problem, 0);

  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxAttempts = 2;
  let last = { reason: '', httpStatus: undefined as number | undefined };
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    const tried = attempt > 1 ? ', tried twice' : '';
    try {
      const response = await fetch(prepared.url, {
        method: request.method,
        headers: prepared.headers,
        body: request.body,
        // A redirect would turn the POST into a GET that answers 200: a notification lost and reported as sent.
        redirect: 'manual',
        // One signal for the answer's body too: a server that sends headers and then stalls is timed out as well.
        signal: AbortSignal.timeout(timeoutMs),
      });
      const answer = await response.text().catch(() => '');
      if (response.ok) return { sink, target, status: 'sent', attempts: attempt, httpStatus: response.status };
      const said = `answered ${response.status}${answerOf(answer, parsed, request.url)}`;
      if (response.status >= 300 && response.status < 400) {
        const location = response.headers.get('location');
        return failed(`${said}, a redirect${location ? ` to ${describeTarget(resolve(location, prepared.url))}` : ''}; give the URL it redirects to`, attempt, response.status);
      }
      if (response.status < 500) return failed(`${said}; ${adviceFor(response.status, request.auth)}`, attempt, response.status);
      last = { reason: `${said}${tried}; ${adviceFor(response.status, request.auth)}`, httpStatus: response.status };
    } catch (error) {
      last = { reason: `${thrownReason(error, timeoutMs, parsed, request.url)}${tried}; check the URL and that this machine can reach it (Node's fetch does not use HTTP_PROXY or HTTPS_PROXY)`, httpStatus: undefined };
    }
  }
  return failed(last.reason, maxAttempts, last.httpStatus);
}

/** A Location header as an absolute URL, for describeTarget. */
function resolve(location: string, base: string): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location;
  }
}
