import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import getPort from 'get-port';
import type { ConnectionInfo, Engine } from '../../engines/engine.js';
import type { Installation, ServerPaths } from '../../engines/server.js';
import { errorMessage } from '../../util/errors.js';
import { killGroup, waitForExit, type RunResult } from '../../util/exec.js';
import { makeOwnedDir, serviceUser, type ServiceUser } from '../../util/os-user.js';
import { processStartTime } from '../../util/registry.js';
import type { BackgroundProcess, InstanceBase, InstanceSpec, Provider, ProviderContext, ReadinessRecord, StartedInstance, StoppedInstance, ToolOptions } from '../provider.js';
import { canQuery, logTail, waitUntil, writableProbe } from '../readiness.js';
import { exists, seededDir, writeEntry } from '../cache.js';
import { initializeFromTemplate } from './cluster-template.js';

export const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const PORT_TAKEN = /could not bind|Address already in use/i;
/** A connection to loopback cannot be unreachable unless a firewall rule sends it elsewhere. */
const REDIRECTED = /EHOSTUNREACH/;
/** Below the kernel's ephemeral range, above the well-known services. */
const LOWEST_PORT = 10_000;

/**
 * A free port on 127.0.0.1 below the kernel's ephemeral range. A container runtime publishing
 * on "any free port" takes one from that range and forwards it with a firewall rule, not a
 * socket; a forward left behind by a container that went away uncleanly sends 127.0.0.1:P to
 * an address that no longer exists, and a local server on P would never be reached.
 */
async function serverPort(): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '');
  const low = Number(range.trim().split(/\s+/)[0]);
  if (!(low > LOWEST_PORT + 1000)) return getPort({ host: '127.0.0.1' });
  // Random candidates, not a sequence: two runs side by side would otherwise race for the same one.
  const candidates = Array.from({ length: 64 }, () => LOWEST_PORT + Math.floor(Math.random() * (low - LOWEST_PORT)));
  return getPort({ host: '127.0.0.1', port: candidates });
}

/**
 * What a local instance is, whether its server runs or not: a directory of its own under the
 * drill's temp dir (data, scratch, log), the engine's programs on this machine, the service
 * account when firedrill runs as root. Servers listen on 127.0.0.1 only, each on a free port.
 */
class LocalCore {
  readonly root: string;
  readonly paths: ServerPaths;
  readonly logFile: string;
  readonly user: ServiceUser | undefined;
  /** The port of the last start, tried first on the next one: a restarted server keeps its address. */
  port: number | undefined;
  /** Stops the server, when one of this instance runs (whatever handle the caller holds). */
  stopServer: () => Promise<void> = async () => undefined;

  constructor(
    readonly spec: InstanceSpec,
    readonly context: ProviderContext,
    readonly installation: Installation,
  ) {
    this.root = join(context.workDir, spec.name);
    this.paths = { data: join(this.root, 'data'), scratch: join(this.root, 'run') };
    this.logFile = join(this.root, 'server.log');
    this.user = serviceUser(spec.engine.server.serviceUser);
  }

  get engine(): Engine {
    return this.spec.engine;
  }

  program(name: string): string {
    return this.installation.program(name) ?? name;
  }

  async run(program: string, args: readonly string[], options: ToolOptions = {}): Promise<RunResult> {
    return this.context.exec.run(this.program(program), args, {
      ...(options.asRoot ? {} : { user: this.user }),
      env: { TMPDIR: join(this.paths.scratch, 'tmp'), ...options.env },
      ...(options.stdin ? { stdin: options.stdin } : options.stdinFile ? { stdin: { file: options.stdinFile } } : {}),
      ...(options.stdout ? { stdout: options.stdout } : {}),
      ...(options.allowFailure ? { allowFailure: true } : {}),
      ...(options.quiet ? { quiet: true } : {}),
    });
  }

  async writeFile(path: string, content: string | Buffer): Promise<void> {
    await writeFile(path, content);
    if (this.user) await chown(path, this.user.uid, this.user.gid);
  }

  async claim(path: string): Promise<void> {
    await makeOwnedDir(path, this.user);
  }

  async spawn(program: string, args: readonly string[], options: { logFile: string; env?: Record<string, string> }): Promise<BackgroundProcess> {
    const child = await this.context.exec.spawnBackground(this.program(program), args, {
      user: this.user,
      logFile: options.logFile,
      env: { TMPDIR: join(this.paths.scratch, 'tmp'), ...options.env },
    });
    const pid = child.pid!;
    const description = `${program} pid ${pid} (beside ${this.spec.name})`;
    const running = () => child.exitCode === null && child.signalCode === null;
    const stop = this.context.resources.add(
      'process',
      description,
      async () => {
        await killGroup(pid, 'SIGTERM');
        await waitForExit(child);
      },
      { handle: { type: 'process', pid, startTime: processStartTime(pid) }, remove: [`kill -TERM -- -${pid}`], detach: () => child.unref() },
    );
    return { description, isRunning: async () => running(), stop };
  }

  serverLog(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }
}

/** The parts every local instance shares, started or stopped. */
/** A seeded data directory, per engine binaries: the same key with other binaries is another entry. */
function seededEntry(core: LocalCore, key: string): string {
  const program = core.program(core.engine.server.initialize(core.paths).program);
  return join(seededDir(), `local-${createHash('sha256').update(`${program} ${core.installation.version} ${key}`).digest('hex').slice(0, 32)}`);
}

abstract class LocalInstance implements InstanceBase {
  readonly provider = 'local';

  constructor(protected readonly core: LocalCore) {}

  get name() {
    return this.core.spec.name;
  }
  get engine() {
    return this.core.spec.engine;
  }
  get paths() {
    return this.core.paths;
  }
  get version() {
    return this.core.installation.version;
  }
  get major() {
    return this.core.installation.major;
  }
  get location() {
    return this.core.root;
  }

  run(program: string, args: readonly string[], options?: ToolOptions): Promise<RunResult> {
    return this.core.run(program, args, options);
  }
  readFile(path: string): Promise<Buffer> {
    return readFile(path);
  }
  writeFile(path: string, content: string | Buffer): Promise<void> {
    return this.core.writeFile(path, content);
  }
  claim(path: string): Promise<void> {
    return this.core.claim(path);
  }
  spawn(program: string, args: readonly string[], options: { logFile: string; env?: Record<string, string> }): Promise<BackgroundProcess> {
    return this.core.spawn(program, args, options);
  }
  serverLog(): Promise<string> {
    return this.core.serverLog();
  }

  abstract destroy(): Promise<void>;
}

class LocalStopped extends LocalInstance implements StoppedInstance {
  readonly state = 'stopped' as const;

  constructor(
    core: LocalCore,
    private readonly release: () => Promise<void>,
  ) {
    super(core);
  }

  async initialize(): Promise<void> {
    const { server } = this.engine;
    const init = server.initialize(this.paths);
    const placeholder = server.initialize({ data: '<data>', scratch: '<scratch>' });
    await initializeFromTemplate({
      key: [this.engine.name, this.core.program(init.program), this.major, ...placeholder.args].join(' '),
      dataDir: this.paths.data,
      scratchDir: this.core.root,
      exec: this.core.context.exec,
      initialize: async (dir) => {
        const command = server.initialize({ data: dir, scratch: this.paths.scratch });
        await this.core.run(command.program, command.args);
      },
    });
  }

  async keepInCache(key: string): Promise<void> {
    const entry = seededEntry(this.core, key);
    if (await exists(entry)) return;
    // Copied straight into the cache's filesystem, so the rename into place is atomic.
    await writeEntry(entry, this.core.context, (partial) => this.core.context.exec.run('cp', ['-a', this.paths.data, partial], { quiet: true }).then(() => undefined));
  }

  async fillFromCache(key: string): Promise<boolean> {
    const entry = seededEntry(this.core, key);
    if (!(await exists(entry))) return false;
    await this.core.context.exec.run('cp', ['-a', entry, this.paths.data], { quiet: true });
    return true;
  }

  async start(options: { settings?: Record<string, string> } = {}): Promise<StartedInstance> {
    for (let attempt = 1; ; attempt++) {
      const port = attempt === 1 && this.core.port ? this.core.port : await serverPort();
      try {
        return await this.startOn(port, options.settings ?? {});
      } catch (error) {
        if (attempt < 3 && (REDIRECTED.test(errorMessage(error)) || PORT_TAKEN.test(await logTail(await this.core.serverLog())))) continue;
        throw error;
      }
    }
  }

  private async startOn(port: number, extra: Record<string, string>): Promise<StartedInstance> {
    const { exec, resources, signal } = this.core.context;
    const command = this.engine.server.run(this.paths, { address: '127.0.0.1', port }, { ...this.core.spec.settings, ...extra });
    const child = await exec.spawnBackground(this.core.program(command.program), command.args, { user: this.core.user, logFile: this.core.logFile, env: { TMPDIR: join(this.paths.scratch, 'tmp') } });
    const pid = child.pid!;
    const admin = this.engine.server.admin;
    const connection: ConnectionInfo = { host: '127.0.0.1', port, ...admin };
    const started = new LocalStarted(this.core, child, connection, this.release);
    started.stopProcess = this.core.stopServer = resources.add('process', `${command.program} pid ${pid} port ${port} (${this.paths.data})`, () => started.terminate(), {
      handle: { type: 'process', pid, startTime: processStartTime(pid) },
      connect: this.engine.uri({ ...connection, database: this.engine.databaseName }),
      remove: [`kill -${this.engine.server.stopSignal.replace('SIG', '')} -- -${pid}`],
      detach: () => child.unref(),
    });
    let redirected = false;
    const probe = (): Promise<boolean> =>
      canQuery(this.engine, connection).then(
        () => true,
        (error: unknown) => {
          redirected = REDIRECTED.test(errorMessage(error));
          throw error;
        },
      );
    try {
      started.readiness = await waitUntil(probe, {
        timeoutMs: START_TIMEOUT_MS,
        what: `${this.engine.displayName} "${this.name}" on port ${port}`,
        failFast: () =>
          started.exitNotice() ??
          (redirected ? `127.0.0.1:${port} is unreachable (EHOSTUNREACH): a firewall rule redirects the port, often a forward a container runtime left behind (look for it with: nft list ruleset | grep ${port})` : undefined),
        signal,
      });
    } catch (error) {
      await started.stopProcess();
      throw new Error(`${errorMessage(error)}\n${await logTail(await this.core.serverLog())}`);
    }
    this.core.port = port;
    return started;
  }

  destroy(): Promise<void> {
    return this.release();
  }
}

class LocalStarted extends LocalInstance implements StartedInstance {
  readonly state = 'started' as const;
  readiness: ReadinessRecord = { waitedMs: 0, pollIntervalMs: 0 };
  /** Unregisters the server process from the drill's resources and stops it. */
  stopProcess: () => Promise<void> = async () => undefined;

  constructor(
    core: LocalCore,
    private readonly child: ChildProcess,
    readonly connection: ConnectionInfo,
    private readonly release: () => Promise<void>,
  ) {
    super(core);
  }

  get localConnection() {
    return this.connection;
  }
  get peer() {
    return { host: this.connection.host, port: this.connection.port };
  }

  private get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Why waiting for this server is pointless, if it is: it has exited. */
  exitNotice(): string | undefined {
    return this.running ? undefined : `the server exited (see ${this.core.logFile})`;
  }

  async isRunning(): Promise<boolean> {
    return this.running;
  }

  waitWritable(timeoutMs = START_TIMEOUT_MS): Promise<ReadinessRecord> {
    return waitUntil(writableProbe(this.engine, this.connection), {
      timeoutMs,
      what: `${this.engine.displayName} "${this.name}" leaving recovery`,
      failFast: () => this.exitNotice(),
      signal: this.core.context.signal,
    });
  }

  /** Clean stop with the engine's signal, SIGKILL of the whole group if it does not stop in time. */
  async terminate(): Promise<void> {
    if (this.running) {
      this.child.kill(this.engine.server.stopSignal);
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        waitForExit(this.child).then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, false))),
      ]);
      clearTimeout(timer);
      if (!exited) this.child.kill('SIGKILL');
    }
    // Backends and helpers of the server are in its process group; none may outlive it.
    await killGroup(this.child.pid!, 'SIGKILL', 0);
    await waitForExit(this.child);
  }

  async stop(): Promise<StoppedInstance> {
    await this.stopProcess();
    return new LocalStopped(this.core, this.release);
  }

  async kill(): Promise<StoppedInstance> {
    // Every process of the server at once, as a crash takes them: a SIGKILL of the postmaster
    // alone lets its WAL writer flush on its way out.
    await killGroup(this.child.pid!, 'SIGKILL', 0);
    await waitForExit(this.child);
    await this.stopProcess();
    return new LocalStopped(this.core, this.release);
  }

  async destroy(): Promise<void> {
    await this.stopProcess();
    await this.release();
  }
}

/** The embedded default: database servers from the binaries installed on this machine. */
export const localProvider: Provider = {
  name: 'local',
  runsImages: false,

  async available(engine, version) {
    try {
      await engine.installation(version);
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: errorMessage(error), hint: engine.installHint };
    }
  },

  async create(spec, context) {
    const installation = await spec.engine.installation(spec.version);
    const core = new LocalCore(spec, context, installation);
    await makeOwnedDir(core.root, core.user);
    await makeOwnedDir(core.paths.scratch, core.user);
    await makeOwnedDir(join(core.paths.scratch, 'tmp'), core.user);
    for (const dir of spec.writable ?? []) await core.claim(dir);
    const release = context.resources.add(
      'directory',
      core.root,
      async () => {
        await core.stopServer();
        const log = await core.serverLog();
        if (log) context.saveLog(spec.name, log);
        await rm(core.root, { recursive: true, force: true });
      },
      { handle: { type: 'path', path: core.root }, remove: [`rm -rf ${core.root}`] },
    );
    return new LocalStopped(core, release);
  },
};
