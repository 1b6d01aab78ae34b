import type { ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import getPort from 'get-port';
import type { ConnectionInfo, Engine } from '../../engines/engine.js';
import { findPostgresBinaries, type PostgresBinaries } from '../../engines/postgres-binaries.js';
import { waitForExit } from '../../util/exec.js';
import { makeOwnedDir, serviceUser, type ServiceUser } from '../../util/os-user.js';
import type { DatabaseInstance, InstanceSpec, ProviderContext, ReadinessRecord, StartedDatabaseInstance } from '../provider.js';
import { canQuery, waitUntil } from '../readiness.js';

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;

/** The last lines of a server log, for error messages. */
export async function logTail(path: string, lines = 8): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * A throwaway PostgreSQL cluster from the binaries on this machine: its own directory, a free
 * port on 127.0.0.1, its socket in its own directory, data checksums on.
 */
export class LocalPostgresInstance implements DatabaseInstance {
  readonly engine: Engine;
  readonly name: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly user: ServiceUser | undefined;

  private constructor(
    spec: InstanceSpec,
    private readonly context: ProviderContext,
    private readonly binaries: PostgresBinaries,
    root: string,
  ) {
    this.engine = spec.engine;
    this.name = spec.name;
    this.dataDir = join(root, 'data');
    this.logFile = join(root, 'server.log');
    this.user = serviceUser('postgres');
    this.settings = spec.settings ?? {};
  }

  private readonly settings: Record<string, string>;

  static async create(spec: InstanceSpec, context: ProviderContext): Promise<LocalPostgresInstance> {
    const binaries = await findPostgresBinaries(spec.version);
    const root = join(context.workDir, spec.name);
    const user = serviceUser('postgres');
    await makeOwnedDir(root, user);
    context.resources.add('directory', root, () => rm(root, { recursive: true, force: true }));
    return new LocalPostgresInstance(spec, context, binaries, root);
  }

  get bindir(): string {
    return this.binaries.bindir;
  }

  async initialize(): Promise<void> {
    await this.context.exec.run(
      join(this.binaries.bindir, 'initdb'),
      ['-D', this.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '--data-checksums', '--encoding=UTF8', '--locale=C'],
      { user: this.user },
    );
  }

  async start(options: { settings?: Record<string, string> } = {}): Promise<StartedDatabaseInstance> {
    // A port that was free when chosen can be taken before the server binds it: retry.
    for (let attempt = 1; ; attempt++) {
      const port = await getPort({ host: '127.0.0.1' });
      try {
        return await this.startOn(port, options.settings ?? {});
      } catch (error) {
        const tail = await logTail(this.logFile);
        if (attempt < 3 && /could not bind|Address already in use/i.test(tail)) continue;
        throw error;
      }
    }
  }

  private async startOn(port: number, extra: Record<string, string>): Promise<StartedLocalPostgres> {
    const settings: Record<string, string> = {
      port: String(port),
      listen_addresses: '127.0.0.1',
      unix_socket_directories: this.dataDir,
      max_connections: '100',
      max_wal_senders: '10',
      wal_level: 'replica',
      logging_collector: 'off',
      log_line_prefix: '%m [%p] ',
      ...this.settings,
      ...extra,
    };
    const args = ['-D', this.dataDir, ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`])];
    const child = await this.context.exec.spawnBackground(join(this.binaries.bindir, 'postgres'), args, {
      user: this.user,
      logFile: this.logFile,
    });
    const connection: ConnectionInfo = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
    const started = new StartedLocalPostgres(this, child, connection, this.context);
    started.release = this.context.resources.add('process', `postgres pid ${child.pid} port ${port} (${this.dataDir})`, () => started.stop());
    try {
      started.readiness = await waitUntil(() => canQuery(this.engine, connection).then(() => true), {
        timeoutMs: START_TIMEOUT_MS,
        what: `PostgreSQL "${this.name}" on port ${port}`,
        failFast: () => (child.exitCode !== null || child.signalCode !== null ? `the server exited (see ${this.logFile})` : undefined),
        signal: this.context.signal,
      });
    } catch (error) {
      await started.release();
      const tail = await logTail(this.logFile);
      throw new Error(`${(error as Error).message}\n${tail}`);
    }
    return started;
  }
}

class StartedLocalPostgres implements StartedDatabaseInstance {
  readiness: ReadinessRecord = { waitedMs: 0, pollIntervalMs: 0 };
  release: () => Promise<void> = async () => undefined;

  constructor(
    private readonly instance: LocalPostgresInstance,
    private readonly child: ChildProcess,
    readonly connection: ConnectionInfo,
    private readonly context: ProviderContext,
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
      {
        timeoutMs,
        what: `PostgreSQL "${this.name}" leaving recovery`,
        failFast: () => (this.child.exitCode !== null || this.child.signalCode !== null ? `the server exited (see ${this.logFile})` : undefined),
        signal: this.context.signal,
      },
    );
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    // SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit.
    this.child.kill('SIGINT');
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
    // Backends notice the postmaster is gone within a moment and exit on their own.
  }

  async destroy(): Promise<void> {
    await this.release();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
