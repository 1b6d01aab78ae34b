import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../util/errors.js';
import { renderGamedayPage } from './page.js';
import { GamedayRefusal, type GamedaySession } from './session.js';

/** Seconds of the workload's figures the page draws. */
const LIVE_SECONDS = 120;
/** The write rate on the page is the mean of this many whole seconds. */
const RATE_SECONDS = 5;
const MAX_BODY = 64 * 1024;

/**
 * What the page and the shell helpers see. A hidden fault stays hidden — its moment, its
 * description, the countdown that would give it away — until the game day ends. Passwords
 * of the throwaway instances are here (the team needs them), never in the journal.
 */
export function gamedayState(session: GamedaySession, scenario: string) {
  const briefing = session.briefing;
  const now = briefing?.now() ?? 0;
  const reveal = session.announced || session.stage === 'ended';
  const series = briefing ? briefing.series() : [];
  // The current second is still filling: the chart and the rates are of the whole seconds before it.
  const live = series.slice(-LIVE_SECONDS - 1, -1).map((point) => ({ t: point.t, acked: point.acked, errors: point.failed + point.indeterminate }));
  const whole = live.slice(-RATE_SECONDS);
  const mean = (values: number[]) => (values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length);
  const runbook = session.runbook;
  const showRunbook = runbook !== undefined && (!session.withheld || session.runbookOpenedAtMs !== undefined);
  return {
    scenario,
    // Before the end, a hidden fault's game day is only ever "running": no stage gives it away.
    stage: !reveal && (session.stage === 'ready' || session.stage === 'incident') ? 'running' : session.stage,
    announced: session.announced,
    nowMs: now,
    startedAtWallMs: briefing?.startedAtWallMs ?? null,
    fault: reveal && session.fault ? session.fault : null,
    timeLimitMs: session.timeLimitMs,
    endsAtMs: reveal && session.fault ? session.fault.atMs + session.timeLimitMs : null,
    workload: { live, writesPerSecond: mean(whole.map((point) => point.acked)), errorsPerSecond: mean(whole.map((point) => point.errors)) },
    instances: briefing?.instances.map(({ name, role, connection, uri, location, version }) => ({ name, role, host: connection.host, port: connection.port, user: connection.user, password: connection.password ?? null, uri, location, version })) ?? [],
    storage: briefing?.storage ?? [],
    scratch: briefing?.scratch ?? null,
    marks: session.marks,
    commands: session.commands,
    runbook: runbook ? { withheld: session.withheld, stepCount: runbook.steps.length, openedAtMs: session.runbookOpenedAtMs ?? null, from: runbook.from, drillAt: runbook.drillAt, ...(showRunbook ? { steps: runbook.steps, parameters: runbook.parameters } : {}) } : null,
    declared: session.declared ?? null,
    result: session.result ?? null,
  };
}

/**
 * The game day's page and API on 127.0.0.1 only, behind a random token in the URL (or an
 * `Authorization: Bearer` header): another user of the machine cannot mark steps or declare
 * a restore. Every answer is JSON but the page itself.
 */
export class GamedayServer {
  readonly token = randomBytes(18).toString('base64url');
  private server: Server | undefined;
  private port = 0;

  constructor(
    private readonly session: GamedaySession,
    private readonly scenario: string,
  ) {}

  /** Listens on 127.0.0.1 (`port` 0: any free one); the page's address, token included. */
  async listen(port = 0): Promise<string> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => send(response, 500, { error: errorMessage(error) }));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} is in use: give another with --port, or leave it out for any free one`) : error));
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/?token=${this.token}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private authorized(request: IncomingMessage, url: URL): boolean {
    const given = url.searchParams.get('token') ?? /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const expected = Buffer.from(this.token);
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (!this.authorized(request, url)) return send(response, 403, { error: 'this game day needs its token: open the address firedrill printed, with ?token=…' });
    const route = `${request.method} ${url.pathname}`;
    const { session } = this;
    try {
      switch (route) {
        case 'GET /':
          response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
          response.end(renderGamedayPage(this.scenario));
          return;
        case 'GET /api/state':
          return send(response, 200, gamedayState(session, this.scenario));
        case 'POST /api/mark': {
          const body = await readJson(request);
          return send(response, 200, session.mark(String(body.label ?? ''), body.from === 'shell' ? 'shell' : 'page'));
        }
        case 'POST /api/runbook':
          return send(response, 200, session.openRunbook());
        case 'POST /api/command': {
          const body = await readJson(request);
          return send(
            response,
            200,
            session.command({
              command: String(body.command ?? ''),
              startedAtWallMs: Number(body.startedAtWallMs),
              durationMs: Number(body.durationMs),
              exitCode: typeof body.exitCode === 'number' ? body.exitCode : null,
              ...(typeof body.signal === 'string' ? { signal: body.signal } : {}),
              ...(body.step !== undefined && body.step !== null ? { step: Number(body.step) } : {}),
            }),
          );
        }
        case 'POST /api/done': {
          const body = await readJson(request);
          await session.declare(String(body.restored ?? ''));
          // Answered with the verdict: `gameday done` and the page wait for it.
          return send(response, 200, await session.finished());
        }
        default:
          return send(response, 404, { error: `no ${route} here` });
      }
    } catch (error) {
      if (error instanceof GamedayRefusal) return send(response, 409, { error: error.message });
      throw error;
    }
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new GamedayRefusal('the request is too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new GamedayRefusal('the body must be a JSON object');
}
