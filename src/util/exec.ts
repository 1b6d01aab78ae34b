import { spawn, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
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
}

export interface RunOptions {
  user?: ServiceUser;
  env?: Record<string, string>;
  cwd?: string;
  /** Write stdout to this file instead of capturing it. */
  stdoutFile?: string;
  /** Feed this file to stdin. */
  stdinFile?: string;
  /** Return a failed exit code instead of throwing. */
  allowFailure?: boolean;
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const TAIL_BYTES = 64 * 1024;

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

export class CommandFailedError extends Error {
  constructor(
    readonly record: CommandRecord,
    readonly stderr: string,
  ) {
    const detail = stderr.trim().split('\n').slice(-5).join('\n');
    super(`command failed (exit ${record.exitCode ?? record.signal}): ${record.command}${detail ? `\n${detail}` : ''}`);
    this.name = 'CommandFailedError';
  }
}

/**
 * Runs every external command of a drill and records it: arguments (secrets redacted),
 * duration, exit code, and the phase it belonged to. The records are the drill's runbook.
 */
export class CommandRunner {
  readonly records: CommandRecord[] = [];
  phase = 'setup';
  private readonly secrets = new Set<string>();

  constructor(
    private readonly options: { now: () => number; log?: Logger; signal?: AbortSignal },
  ) {}

  /** Registers a value that must never appear in a record or a log line. */
  addSecret(value: string | undefined): void {
    if (value) this.secrets.add(value);
  }

  redact(text: string): string {
    let result = text;
    for (const secret of this.secrets) result = result.replaceAll(secret, '[redacted]');
    return result;
  }

  display(file: string, args: readonly string[], options: RunOptions = {}): string {
    const line = [file, ...args].map(shellQuote).join(' ');
    const redirects = `${options.stdinFile ? ` < ${shellQuote(options.stdinFile)}` : ''}${options.stdoutFile ? ` > ${shellQuote(options.stdoutFile)}` : ''}`;
    const prefix = options.user ? `runuser -u ${options.user.name} -- ` : '';
    return this.redact(`${prefix}${line}${redirects}`);
  }

  /** Runs a command to completion. Throws CommandFailedError on a non-zero exit unless allowFailure. */
  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const started = this.options.now();
    const record: CommandRecord = {
      phase: this.phase,
      command: this.display(file, args, options),
      ...(options.user ? { user: options.user.name } : {}),
      startedAtMs: started,
      durationMs: 0,
      exitCode: null,
    };
    const stdoutHandle = options.stdoutFile ? await open(options.stdoutFile, 'w') : undefined;
    const stdinHandle = options.stdinFile ? await open(options.stdinFile, 'r') : undefined;
    try {
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        stdio: [stdinHandle ? stdinHandle.fd : 'ignore', stdoutHandle ? stdoutHandle.fd : 'pipe', 'pipe'],
        ...(options.user ? { uid: options.user.uid, gid: options.user.gid } : {}),
        signal: this.options.signal,
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-TAIL_BYTES);
      });
      const { code, signal } = await waitForExit(child);
      record.exitCode = code;
      if (signal) record.signal = signal;
      record.durationMs = this.options.now() - started;
      this.records.push(record);
      this.options.log?.info({ phase: record.phase, command: record.command, exitCode: code, durationMs: record.durationMs }, 'command');
      if (code !== 0 && !options.allowFailure) throw new CommandFailedError(record, this.redact(stderr));
      return { exitCode: code, stdout, stderr: this.redact(stderr), durationMs: record.durationMs };
    } catch (error) {
      if (!this.records.includes(record)) {
        record.durationMs = this.options.now() - started;
        this.records.push(record);
      }
      throw error;
    } finally {
      await stdoutHandle?.close();
      await stdinHandle?.close();
    }
  }

  /** Starts a long-running process (a server) with its output appended to a log file. */
  async spawnBackground(file: string, args: readonly string[], options: RunOptions & { logFile: string }): Promise<ChildProcess> {
    const started = this.options.now();
    const log = await open(options.logFile, 'a');
    try {
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
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
