import type { ConnectionInfo, Engine } from '../engines/engine.js';
import type { DrillStatus, GamedayCommand, GamedayMark, GamedayRecord } from '../journal/types.js';
import type { Briefing, HandOver } from '../runner/drill.js';
import { errorMessage, InterruptedError } from '../util/errors.js';
import { scrubSecrets } from '../util/secrets.js';
import { markedAt, scoreRunbook, type TestedRunbook } from './score.js';

/** The marks the page offers as buttons, in the order an incident goes; any other text is a mark too. */
export const STANDARD_MARKS = ['detected', 'decided to restore', 'restore started'] as const;

/** Where the game day is: what the page and the shell helpers are told. */
export type GamedayStage = 'preparing' | 'ready' | 'incident' | 'verifying' | 'ended';

/** How the game day ended, for the page: the verdict and where the report is. */
export interface GamedayResult {
  status: DrillStatus;
  headline: string;
  report?: string;
}

export interface GamedaySessionOptions {
  engine: Engine;
  /** The fault's moment as the scenario gives it (ms after the workload starts). */
  faultAtMs: number;
  /** Hidden: the fault strikes unannounced at a random moment up to this long after `faultAtMs`. */
  hiddenWindowMs?: number;
  /** From the fault: how long the team has to declare a database restored. */
  timeLimitMs: number;
  /** The runbook of the newest passing drill of the scenario, and whether it is shown only on request. */
  runbook?: TestedRunbook;
  withheld: boolean;
  signal?: AbortSignal;
  /** An announced fault struck (a hidden one is told to nobody). */
  onIncident?: (description: string) => void;
  /** Draws the hidden fault's moment; a test gives its own. */
  random?: () => number;
}

/** An error the team can act on, answered to the page or the shell as it is. */
export class GamedayRefusal extends Error {}

/**
 * One game day as firedrill and the team share it: the drill's hand-over (what the runner
 * calls), and what the page and the shell helpers read and do (marks, commands, the runbook,
 * the declaration). Times are the drill's clock, so they line up with the journal.
 */
export class GamedaySession implements HandOver {
  readonly faultAtMs: number;
  readonly timeLimitMs: number;
  stage: GamedayStage = 'preparing';
  briefing: Briefing | undefined;
  fault: { description: string; atMs: number } | undefined;
  readonly marks: GamedayMark[] = [];
  readonly commands: GamedayCommand[] = [];
  runbookOpenedAtMs: number | undefined;
  declared: { name: string; declaredAtMs: number } | undefined;
  ended: GamedayRecord['ended'] = 'interrupted';
  result: GamedayResult | undefined;
  private resolveRestored: ((value: { name: string; connection: ConnectionInfo } | undefined) => void) | undefined;
  private readonly restoredPromise: Promise<{ name: string; connection: ConnectionInfo } | undefined>;
  private readonly finishedWaiters: Array<(result: GamedayResult) => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: GamedaySessionOptions) {
    const window = options.hiddenWindowMs;
    this.faultAtMs = window === undefined ? options.faultAtMs : options.faultAtMs + Math.floor((options.random ?? Math.random)() * window);
    this.timeLimitMs = options.timeLimitMs;
    this.restoredPromise = new Promise((resolve, reject) => {
      this.resolveRestored = resolve;
      const abort = () => reject(options.signal?.reason instanceof Error ? options.signal.reason : new InterruptedError('SIGINT'));
      if (options.signal?.aborted) abort();
      options.signal?.addEventListener('abort', abort, { once: true });
    });
    // Rejected on an interruption before the drill waits for it: not an unhandled rejection.
    this.restoredPromise.catch(() => undefined);
  }

  get announced(): boolean {
    return this.options.hiddenWindowMs === undefined;
  }

  get runbook(): TestedRunbook | undefined {
    return this.options.runbook;
  }

  get withheld(): boolean {
    return this.options.withheld;
  }

  /** Drill time now; before the briefing there is none. */
  now(): number {
    if (!this.briefing) throw new GamedayRefusal('the game day is still being set up: wait until the page shows the instances');
    return this.briefing.now();
  }

  // ------------------------------------------------------------ the hand-over (the runner's side)

  briefed(briefing: Briefing): void {
    this.briefing = briefing;
    this.stage = 'ready';
  }

  struck(description: string, atMs: number): void {
    this.fault = { description, atMs };
    this.stage = 'incident';
    if (this.announced) this.options.onIncident?.(description);
    this.timer = setTimeout(() => {
      this.ended = 'time-limit';
      this.resolveRestored?.(undefined);
    }, this.timeLimitMs);
  }

  detectedAtMs(): number | undefined {
    return this.fault ? markedAt(this.marks, 'detected', this.fault.atMs) : undefined;
  }

  restored(): Promise<{ name: string; connection: ConnectionInfo } | undefined> {
    return this.restoredPromise.finally(() => clearTimeout(this.timer));
  }

  // ------------------------------------------------------------ the team's side

  mark(label: string, from: GamedayMark['from']): GamedayMark {
    const text = label.trim();
    if (!text) throw new GamedayRefusal('a mark needs a label: what happened ("detected", "decided to restore", …)');
    if (text.length > 200) throw new GamedayRefusal('a mark is a label, not a log: 200 characters at most');
    const mark = { atMs: this.now(), label: scrubSecrets(text), from };
    this.marks.push(mark);
    return mark;
  }

  /** The runbook for the page; asking for a withheld one is recorded, once. */
  openRunbook(): TestedRunbook {
    if (!this.options.runbook) throw new GamedayRefusal('there is no tested runbook for this scenario: no drill of it has passed in this reports folder');
    if (this.options.withheld && this.runbookOpenedAtMs === undefined) {
      this.runbookOpenedAtMs = this.now();
      this.marks.push({ atMs: this.runbookOpenedAtMs, label: 'runbook opened', from: 'firedrill' });
    }
    return this.options.runbook;
  }

  /** A command the team ran through the shell helper; wall times, as the helper measured them. */
  command(input: { command: string; startedAtWallMs: number; durationMs: number; exitCode: number | null; signal?: string; step?: number }): GamedayCommand {
    const briefing = this.briefing;
    if (!briefing) throw new GamedayRefusal('the game day is still being set up');
    const steps = this.options.runbook?.steps.length ?? 0;
    if (input.step !== undefined && (!Number.isInteger(input.step) || input.step < 1 || input.step > steps)) {
      throw new GamedayRefusal(steps === 0 ? 'there is no runbook to take a step of: leave --step out' : `the runbook has steps 1 to ${steps}: --step ${input.step} is none of them`);
    }
    const command: GamedayCommand = {
      command: scrubSecrets(input.command),
      startedAtMs: input.startedAtWallMs - briefing.startedAtWallMs,
      durationMs: input.durationMs,
      exitCode: input.exitCode,
      ...(input.signal ? { signal: input.signal } : {}),
      ...(input.step !== undefined ? { step: input.step } : {}),
    };
    this.commands.push(command);
    return command;
  }

  /**
   * The team says a database is restored: an instance of the page by name, or a connection
   * URI on this machine. It must answer now — a typo is refused and the clock runs on —
   * and then the drill measures it.
   */
  async declare(target: string): Promise<void> {
    if (this.stage !== 'incident') {
      throw new GamedayRefusal(this.stage === 'ready' || this.stage === 'preparing' ? 'nothing to restore yet: the fault has not struck' : 'a database was declared restored already');
    }
    const connection = this.connectionOf(target.trim());
    const session = await this.options.engine.connect(connection).catch((error: unknown) => {
      throw new GamedayRefusal(`cannot connect to ${target}: ${scrubSecrets(errorMessage(error))}; check the port and that the database ${connection.database} exists there, then declare again`);
    });
    await session.close();
    if (this.stage !== 'incident') throw new GamedayRefusal('a database was declared restored already');
    this.declared = { name: scrubSecrets(target.trim()), declaredAtMs: this.now() };
    this.stage = 'verifying';
    this.ended = 'declared';
    this.resolveRestored?.({ name: this.declared.name, connection });
  }

  private connectionOf(target: string): ConnectionInfo {
    const briefing = this.briefing!;
    const database = this.options.engine.databaseName;
    const instance = briefing.instances.find((candidate) => candidate.name === target);
    if (instance) return { ...instance.connection, database };
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new GamedayRefusal(`"${target}" is neither an instance of this game day (${briefing.instances.map((candidate) => candidate.name).join(', ')}) nor a connection URI like ${briefing.instances[0]!.uri}`);
    }
    const scheme = new URL(briefing.instances[0]!.uri).protocol;
    if (url.protocol !== scheme) throw new GamedayRefusal(`a ${url.protocol}// URI is not this engine's: write it as ${briefing.instances[0]!.uri}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // A game day is throwaway: the workload is pointed only at a database on this machine.
    if (!['127.0.0.1', '::1', 'localhost'].includes(host)) throw new GamedayRefusal(`${host} is not this machine: a game day restores onto this machine only (127.0.0.1)`);
    return {
      host: host === 'localhost' ? '127.0.0.1' : host,
      port: Number(url.port || new URL(briefing.instances[0]!.uri).port),
      user: decodeURIComponent(url.username) || briefing.instances[0]!.connection.user,
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      database: decodeURIComponent(url.pathname.replace(/^\//, '')) || database,
    };
  }

  // ------------------------------------------------------------ the end

  /** The journal's record of what the team did. */
  record(): GamedayRecord {
    const runbook = this.options.runbook;
    const window = this.options.hiddenWindowMs;
    const scored = scoreRunbook(runbook?.steps ?? [], [...this.commands].sort((a, b) => a.startedAtMs - b.startedAtMs));
    return {
      announced: this.announced,
      ...(window !== undefined ? { window: { fromMs: this.options.faultAtMs, toMs: this.options.faultAtMs + window } } : {}),
      timeLimitMs: this.timeLimitMs,
      ended: this.ended,
      marks: [...this.marks].sort((a, b) => a.atMs - b.atMs),
      commands: scored.commands,
      ...(runbook
        ? {
            runbook: {
              from: runbook.from,
              drillAt: runbook.drillAt,
              drillRtoServiceMs: runbook.rtoServiceMs,
              withheld: this.options.withheld,
              ...(this.runbookOpenedAtMs !== undefined ? { openedAtMs: this.runbookOpenedAtMs } : {}),
              steps: scored.steps,
            },
          }
        : {}),
      ...(this.declared ? { restored: this.declared } : {}),
    };
  }

  /** The verdict is in: whoever waits on the declaration (the page, `gameday done`) hears it. */
  finish(result: GamedayResult): void {
    clearTimeout(this.timer);
    this.result = result;
    this.stage = 'ended';
    for (const waiter of this.finishedWaiters.splice(0)) waiter(result);
  }

  /** Resolves with the verdict once the game day ended. */
  finished(): Promise<GamedayResult> {
    if (this.result) return Promise.resolve(this.result);
    return new Promise((resolve) => this.finishedWaiters.push(resolve));
  }
}
