import { spawn, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { ServiceUser } from './os-user.js';

/** One command firedrill executed, as the journal and the runbook show it. */
export interface CommandRecord {
  phase: string;
  /** The command line a human would type (shell-quoted, secrets redacted). */
  command: string;
  user?: string;
  startedAtMs: number;
  durationMs: number;
  exitCode: number | null;
  signal?: string;
  /** True for servers started in the background: durationMs is the time to spawn. */
  background?: boolean;
  /** A step firedrill did itself (a streamed fetch, a checksum comparison): `command` says what, in words a runbook can follow. */
  step?: boolean;
}

/** Where a command's stdin comes from: a file on this machine, or a stream. */
export type Input = { file: string } | { stream: Readable; describe: string };
/** Where a command's stdout goes: a file on this machine, or a stream. */
export type Output = { file: string } | { stream: Writable; describe: string };

export interface RunOptions {
  user?: ServiceUser;
  /** Variables for this command on top of the clean environment (see cleanEnv). */
  env?: Record<string, string>;
  cwd?: string;
  stdin?: Input;
  stdout?: Output;
  /** Return a failed exit code instead of throwing. */
  allowFailure?: boolean;
  /** Keep it out of the runbook (a `--version` query). */
  quiet?: boolean;
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const TAIL_BYTES = 64 * 1024;
const KILL_GRACE_MS = 5_000;

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export class CommandFailedError extends Error {
  constructor(
    readonly record: CommandRecord,
    readonly stderr: string,
    readonly stdout = '',
  ) {
    const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-8).join('\n');
    super(`command failed (exit ${record.exitCode ?? record.signal}): ${record.command}${detail ? `\n${detail}` : ''}`);
    this.name = 'CommandFailedError';
  }
}

/**
 * The environment every tool and server starts with: firedrill's own, minus what would make a
 * throwaway server's tools talk to someone else's database or log in with someone else's
 * password. An inherited PGPASSWORD, PGHOST or MYSQL_PWD reaches pg_dump and mariadb-dump and
 * breaks the throwaway's logins (measured); TMPDIR is set per tool by the caller because the
 * tool's user must be able to write in it.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PG|MYSQL_|MARIADB_)/.test(key) || key === 'TMPDIR') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Sends `signal` to a process group and waits for the group to be empty, escalating to
 * SIGKILL after a grace period. A tool's children (mariadb-install-db's bootstrap server,
 * pg_basebackup's WAL streamer) are in its group: killing only the leader leaves them
 * writing into a directory cleanup is deleting (`ENOTEMPTY`, measured).
 */
export async function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = KILL_GRACE_MS): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    return;
  }
  const deadline = performance.now() + graceMs;
  while (alive()) {
    if (performance.now() > deadline) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs every external command of a drill and records it: arguments (secrets redacted),
 * duration, exit code, and the phase it belonged to. The records are the drill's runbook.
 * Every command leads its own process group, so an abort (Ctrl-C) stops it and its children.
 */
export class CommandRunner {
  readonly records: CommandRecord[] = [];
  phase = 'setup';
  private readonly secrets = new Set<string>();

  constructor(
    private readonly options: { now: () => number; log?: Logger; signal?: AbortSignal },
  ) {}

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  now(): number {
    return this.options.now();
  }

  /** Registers a value that must never appear in a record or a log line. */
  addSecret(value: string | undefined): void {
    if (value) this.secrets.add(value);
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.replaceAll(secret, '[redacted]');
    return result;
  }

  display(file: string, args: readonly string[], options: Pick<RunOptions, 'user' | 'stdin' | 'stdout'> = {}): string {
    const line = [file, ...args].map(shellQuote).join(' ');
    const input = options.stdin ? ('file' in options.stdin ? ` < ${shellQuote(options.stdin.file)}` : ` < ${options.stdin.describe}`) : '';
    const output = options.stdout ? ('file' in options.stdout ? ` > ${shellQuote(options.stdout.file)}` : ` > ${options.stdout.describe}`) : '';
    const prefix = options.user ? `runuser -u ${options.user.name} -- ` : '';
    return this.redact(`${prefix}${line}${input}${output}`);
  }

  /**
   * Records a command run by other means (inside a container, through an API) as the runbook
   * shows it, timing `fn`. `fn` resolves with the exit code; a non-zero code is the caller's to judge.
   */
  async track<T extends { exitCode: number | null }>(command: string, fn: () => Promise<T>, extra: Partial<CommandRecord> = {}, quiet = false): Promise<T> {
    const started = this.options.now();
    const record: CommandRecord = { phase: this.phase, command: this.redact(command), startedAtMs: started, durationMs: 0, exitCode: null, ...extra };
    try {
      const result = await fn();
      record.exitCode = result.exitCode;
      return result;
    } finally {
      record.durationMs = this.options.now() - started;
      if (!quiet) this.records.push(record);
      this.options.log?.info({ phase: record.phase, command: record.command, exitCode: record.exitCode, durationMs: record.durationMs }, 'command');
    }
  }

  /** Records a step firedrill performs itself, in words a person could follow (`fetch … (sha256 verified)`). */
  async step<T>(description: string, fn: () => Promise<T>): Promise<T> {
    const started = this.options.now();
    const record: CommandRecord = { phase: this.phase, command: this.redact(description), startedAtMs: started, durationMs: 0, exitCode: null, step: true };
    try {
      const result = await fn();
      record.exitCode = 0;
      return result;
    } catch (error) {
      record.exitCode = 1;
      throw error;
    } finally {
      record.durationMs = this.options.now() - started;
      this.records.push(record);
      this.options.log?.info({ phase: record.phase, step: record.command, durationMs: record.durationMs }, 'step');
    }
  }

  /** Runs a command to completion. Throws CommandFailedError on a non-zero exit unless allowFailure. */
  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.options.signal?.throwIfAborted();
    const started = this.options.now();
    const record: CommandRecord = {
      phase: this.phase,
      command: this.display(file, args, options),
      ...(options.user ? { user: options.user.name } : {}),
      startedAtMs: started,
      durationMs: 0,
      exitCode: null,
    };
    const stdoutHandle = options.stdout && 'file' in options.stdout ? await open(options.stdout.file, 'w') : undefined;
    const stdinHandle = options.stdin && 'file' in options.stdin ? await open(options.stdin.file, 'r') : undefined;
    let child: ChildProcess | undefined;
    const onAbort = () => {
      if (child?.pid) void killGroup(child.pid, 'SIGTERM');
    };
    try {
      child = spawn(file, args, {
        cwd: options.cwd,
        env: cleanEnv(options.env),
        detached: true,
        stdio: [stdinHandle ? stdinHandle.fd : options.stdin ? 'pipe' : 'ignore', stdoutHandle ? stdoutHandle.fd : 'pipe', 'pipe'],
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      });
      this.options.signal?.addEventListener('abort', onAbort, { once: true });
      let stdout = '';
      let stderr = '';
      const streams: Promise<void>[] = [];
      if (options.stdin && 'stream' in options.stdin && child.stdin) {
        // EPIPE when the tool exits early (tar on a truncated archive) is the tool's error to report, not ours.
        child.stdin.on('error', () => undefined);
        streams.push(pipeline(options.stdin.stream, child.stdin).catch(() => undefined));
      }
      if (options.stdout && 'stream' in options.stdout && child.stdout) streams.push(pipeline(child.stdout, options.stdout.stream));
      else child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-TAIL_BYTES);
      });
      const { code, signal } = await waitForExit(child);
      await Promise.all(streams);
      // The leader is gone; anything it left in its group goes with it.
      if (child.pid) await killGroup(child.pid, 'SIGKILL', 0);
      this.options.signal?.throwIfAborted();
      record.exitCode = code;
      if (signal) record.signal = signal;
      record.durationMs = this.options.now() - started;
      if (!options.quiet) this.records.push(record);
      this.options.log?.info({ phase: record.phase, command: record.command, exitCode: code, durationMs: record.durationMs }, 'command');
      // What the tool said, for --verbose: the tail of each stream, redacted like the command line.
      if (this.options.log?.isLevelEnabled('debug')) this.options.log.debug({ command: record.command, stdout: this.redact(stdout.slice(-TAIL_BYTES)), stderr: this.redact(stderr) }, 'command output');
      if (code !== 0 && !options.allowFailure) throw new CommandFailedError(record, this.redact(stderr), this.redact(stdout.slice(-TAIL_BYTES)));
      return { exitCode: code, stdout, stderr: this.redact(stderr), durationMs: record.durationMs };
    } catch (error) {
      if (child?.pid) await killGroup(child.pid, 'SIGKILL', 0);
      if (!this.records.includes(record) && !options.quiet) {
        record.durationMs = this.options.now() - started;
        this.records.push(record);
      }
      throw error;
    } finally {
      this.options.signal?.removeEventListener('abort', onAbort);
      await stdoutHandle?.close();
      await stdinHandle?.close();
    }
  }

  /**
   * Starts a long-running process (a server, a streamer) in its own process group, with its
   * output appended to a log file. The caller registers it for cleanup.
   */
  async spawnBackground(file: string, args: readonly string[], options: Omit<RunOptions, 'stdin' | 'stdout'> & { logFile: string }): Promise<ChildProcess> {
    const started = this.options.now();
    const log = await open(options.logFile, 'a');
    try {
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: cleanEnv(options.env),
        detached: true,
        stdio: ['ignore', log.fd, log.fd],
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      this.records.push({
        phase: this.phase,
        command: `${this.display(file, args, options)} &`,
        ...(options.user ? { user: options.user.name } : {}),
        startedAtMs: started,
        durationMs: this.options.now() - started,
        exitCode: null,
        background: true,
      });
      return child;
    } finally {
      await log.close();
    }
  }
}

/** Resolves with the exit status of a child process (also when it is already gone). */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}
