import type { ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import getPort from 'get-port';
import type { ConnectionInfo, Engine } from '../../engines/engine.js';
import { waitForExit } from '../../util/exec.js';
import type { ServiceUser } from '../../util/os-user.js';
import type { ProviderContext, ReadinessRecord, StartedDatabaseInstance } from '../provider.js';
import { canQuery, waitUntil } from '../readiness.js';

export const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const PORT_TAKEN = /could not bind|Address already in use/i;

/** The last lines of a server log, for error messages. */
export async function logTail(path: string, lines = 8): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** What a local server's files are and who runs it: the part of an instance a started server needs. */
export interface LocalServerFiles {
  readonly name: string;
  readonly engine: Engine;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user: ServiceUser | undefined;
}

/** How to launch one server process on a chosen port. */
export interface ServerCommand {
  file: string;
  args: string[];
  connection: ConnectionInfo;
  /** The signal that makes the server shut down cleanly (PostgreSQL: SIGINT, MariaDB: SIGTERM). */
  stopSignal: NodeJS.Signals;
}

/**
 * Starts a server on a free loopback port. A port that was free when chosen can be taken
 * before the server binds it (and a server that failed to start can hold it for a moment): retry.
 */
export async function startOnFreePort<T>(logFile: string, start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await getPort({ host: '127.0.0.1' });
    try {
      return await start(port);
    } catch (error) {
      if (attempt < 3 && PORT_TAKEN.test(await logTail(logFile))) continue;
      throw error;
    }
  }
}

/**
 * Spawns a server in the background as the instance's user, registers the process for cleanup
 * and waits until it answers a query. On failure the process is gone and the error carries the
 * log's last lines.
 */
export async function launchServer(instance: LocalServerFiles, context: ProviderContext, command: ServerCommand): Promise<StartedLocalServer> {
  const child = await context.exec.spawnBackground(command.file, command.args, { user: instance.user, logFile: instance.logFile });
  const started = new StartedLocalServer(instance, child, command.connection, context, command.stopSignal);
  const port = command.connection.port;
  started.release = context.resources.add('process', `${basename(command.file)} pid ${child.pid} port ${port} (${instance.dataDir})`, () => started.stop());
  try {
    started.readiness = await waitUntil(() => canQuery(instance.engine, command.connection).then(() => true), {
      timeoutMs: START_TIMEOUT_MS,
      what: `${instance.engine.displayName} "${instance.name}" on port ${port}`,
      failFast: () => started.exitNotice(),
      signal: context.signal,
    });
  } catch (error) {
    await started.release();
    throw new Error(`${(error as Error).message}\n${await logTail(instance.logFile)}`);
  }
  return started;
}

/** A server process started from local binaries: readiness, clean stop, kill -9, destroy. */
export class StartedLocalServer implements StartedDatabaseInstance {
  readiness: ReadinessRecord = { waitedMs: 0, pollIntervalMs: 0 };
  /** Unregisters the process from the drill's resources and stops it. */
  release: () => Promise<void> = async () => undefined;

  constructor(
    private readonly instance: LocalServerFiles,
    private readonly child: ChildProcess,
    readonly connection: ConnectionInfo,
    private readonly context: ProviderContext,
    private readonly stopSignal: NodeJS.Signals,
  ) {}

  get name() {
    return this.instance.name;
  }
  get engine() {
    return this.instance.engine;
  }
  get dataDir() {
    return this.instance.dataDir;
  }
  get logFile() {
    return this.instance.logFile;
  }
  get user() {
    return this.instance.user;
  }
  get pid() {
    return this.child.pid;
  }

  /** Why waiting for this server is pointless, if it is: it has exited. */
  exitNotice(): string | undefined {
    return this.running ? undefined : `the server exited (see ${this.logFile})`;
  }

  async waitWritable(timeoutMs = START_TIMEOUT_MS): Promise<ReadinessRecord> {
    const engine = this.engine;
    return waitUntil(
      async () => {
        const session = await engine.connect(this.connection);
        try {
          return await engine.isWritable(session);
        } finally {
          await session.close();
        }
      },
      { timeoutMs, what: `${engine.displayName} "${this.name}" leaving recovery`, failFast: () => this.exitNotice(), signal: this.context.signal },
    );
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill(this.stopSignal);
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      waitForExit(this.child).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, false))),
    ]);
    clearTimeout(timer);
    if (!exited) await this.kill();
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await waitForExit(this.child);
  }

  async destroy(): Promise<void> {
    await this.release();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
