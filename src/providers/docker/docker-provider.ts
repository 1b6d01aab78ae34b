import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type Dockerode from 'dockerode';
import type { StartedTestContainer } from 'testcontainers';
import type { ConnectionInfo, Engine } from '../../engines/engine.js';
import type { NetworkAccess, ServerPaths } from '../../engines/server.js';
import { errorMessage } from '../../util/errors.js';
import { processStartTime, sameProcessAlive } from '../../util/registry.js';
import { CommandFailedError, shellQuote, type CommandRecord, type RunResult } from '../../util/exec.js';
import type { BackgroundProcess, InstanceBase, InstanceSpec, Provider, ProviderContext, ReadinessRecord, StartedInstance, StoppedInstance, ToolOptions } from '../provider.js';
import { canQuery, logTail, waitFor, writableProbe, READINESS_POLL_MS, type WaitStrategy } from '../readiness.js';
import { cacheDir, exists, seededDir, writeEntry } from '../cache.js';
import { dockerode, execStream, findRuntime } from './runtime.js';

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const TAIL_BYTES = 64 * 1024;
/** Labels every container and network of a run carries, so cleanup finds them whatever happened to firedrill. */
export const RUN_LABEL = 'firedrill.run';
const INSTANCE_LABEL = 'firedrill.instance';
/**
 * The firedrill process a container or network belongs to (host, pid, start time). Another run
 * registry — another TMPDIR, another user, another CI job on the same machine — does not know
 * the run: cleanup removes only what a process that is gone left, never a running drill's.
 */
const OWNER_LABEL = 'firedrill.owner';

export function ownerLabels(context: Pick<ProviderContext, 'runId'>): Record<string, string> {
  return { [RUN_LABEL]: context.runId, [OWNER_LABEL]: `${hostname()}:${process.pid}:${processStartTime(process.pid) ?? ''}` };
}

/** Whether the labels name a firedrill process still running, or one on another machine (which this one cannot judge). */
function ownerRunning(labels: Record<string, string> | undefined): boolean {
  const owner = labels?.[OWNER_LABEL];
  if (!owner) return false;
  const [host, pid, startTime] = owner.split(':');
  return host !== hostname() || sameProcessAlive(Number(pid), startTime || undefined);
}

/** Output collected as text, the last 64 KiB of it (a tool's progress can be long). */
function collector(): Writable & { text(): string } {
  let text = '';
  const writable = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text = (text + chunk.toString('utf8')).slice(-TAIL_BYTES);
      callback();
    },
  }) as Writable & { text(): string };
  writable.text = () => text;
  return writable;
}

/** The drill's own network: instances reach each other by name on it (a standby its primary). */
const networks = new WeakMap<ProviderContext, Promise<string>>();

async function drillNetwork(docker: Dockerode, context: ProviderContext): Promise<string> {
  if (!networks.has(context)) {
    networks.set(
      context,
      (async () => {
        const name = `firedrill-${context.runId}-${randomBytes(3).toString('hex')}`;
        const network = await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: ownerLabels(context) });
        context.resources.add('network', `network ${name}`, () => network.remove(), { handle: { type: 'network', provider: 'docker', id: network.id }, remove: [`docker network rm ${name}`] });
        return name;
      })(),
    );
  }
  return networks.get(context)!;
}

/**
 * One container per instance, and the server a process inside it: the container's first
 * process only sleeps (with an init that reaps what dies), so the server can be killed,
 * stopped and started again, and the engine's tools run beside it with `docker exec`, at the
 * image's version. Ports are published on 127.0.0.1 only.
 */
class DockerCore {
  readonly paths: ServerPaths;
  readonly logFile: string;
  /** PATH inside the container: the engine's program directories first. */
  path = '';
  version = '';
  major = '';
  /** Stops the server, when one runs. */
  stopServer: () => Promise<void> = async () => undefined;

  constructor(
    readonly spec: InstanceSpec,
    readonly context: ProviderContext,
    readonly docker: Dockerode,
    readonly container: StartedTestContainer,
    readonly containerName: string,
  ) {
    const root = `/firedrill/${spec.name}`;
    this.paths = { data: `${root}/data`, scratch: `${root}/run` };
    this.logFile = `${root}/server.log`;
  }

  get engine(): Engine {
    return this.spec.engine;
  }

  get user(): string {
    return this.engine.server.serviceUser;
  }

  /** `docker exec -u postgres firedrill-… pg_basebackup …`, as the runbook shows it. */
  display(program: string, args: readonly string[], options: ToolOptions): string {
    const input = options.stdin ? ('file' in options.stdin ? ` < ${shellQuote(options.stdin.file)}` : ` < ${options.stdin.describe}`) : options.stdinFile ? ` < ${shellQuote(options.stdinFile)}` : '';
    const output = options.stdout ? ('file' in options.stdout ? ` > ${shellQuote(options.stdout.file)}` : ` > ${options.stdout.describe}`) : '';
    return `docker exec${options.stdin || options.stdinFile ? ' -i' : ''}${options.asRoot ? '' : ` -u ${this.user}`} ${this.containerName} ${[program, ...args].map(shellQuote).join(' ')}${input}${output}`;
  }

  /** Runs a program in the container, streamed, recorded in the runbook; throws on a non-zero exit unless allowed. */
  async run(program: string, args: readonly string[], options: ToolOptions = {}): Promise<RunResult> {
    const { exec } = this.context;
    exec.signal?.throwIfAborted();
    const stdout = options.stdout && 'stream' in options.stdout ? options.stdout.stream : collector();
    const stderr = collector();
    const stdin: Readable | undefined = options.stdin ? ('file' in options.stdin ? createReadStream(options.stdin.file) : options.stdin.stream) : undefined;
    // A file beside the server is fed by the shell inside the container.
    const command = options.stdinFile ? ['sh', '-c', 'exec "$@" < "$0"', options.stdinFile, program, ...args] : [program, ...args];
    const started = exec.now();
    const result = await exec.track(
      this.display(program, args, options),
      async () => {
        const code = await execStream(this.docker, this.container.getId(), command, {
          ...(stdin ? { stdin } : {}),
          stdout,
          stderr,
          ...(options.asRoot ? {} : { user: this.user }),
          env: { PATH: this.path, TMPDIR: `${this.paths.scratch}/tmp`, ...options.env },
          ...(exec.signal ? { signal: exec.signal } : {}),
        });
        return { exitCode: code };
      },
      options.asRoot ? {} : { user: this.user },
      options.quiet,
    );
    if (options.stdout && 'stream' in options.stdout) options.stdout.stream.end();
    const out = 'text' in stdout ? (stdout as ReturnType<typeof collector>).text() : '';
    const run: RunResult = { exitCode: result.exitCode, stdout: out, stderr: exec.redact(stderr.text()), durationMs: exec.now() - started };
    if (result.exitCode !== 0 && !options.allowFailure) {
      const record: CommandRecord = { phase: exec.phase, command: this.display(program, args, options), startedAtMs: started, durationMs: run.durationMs, exitCode: result.exitCode };
      throw new CommandFailedError(record, run.stderr, out);
    }
    return run;
  }

  async readFile(path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    const stderr = collector();
    const code = await execStream(this.docker, this.container.getId(), ['cat', path], { stdout: sink, stderr });
    if (code !== 0) throw new Error(`cannot read ${path} in ${this.containerName}: ${stderr.text().trim()}`);
    return Buffer.concat(chunks);
  }

  async writeFile(path: string, content: string | Buffer): Promise<void> {
    const stderr = collector();
    const code = await execStream(this.docker, this.container.getId(), ['sh', '-c', 'cat > "$0"', path], { stdin: Readable.from([Buffer.from(content)]), stderr, user: this.user });
    if (code !== 0) throw new Error(`cannot write ${path} in ${this.containerName}: ${stderr.text().trim()}`);
  }

  /** A shell command as root, quietly (housekeeping the runbook does not need). */
  async root(script: string, ...args: string[]): Promise<string> {
    const stdout = collector();
    const stderr = collector();
    const code = await execStream(this.docker, this.container.getId(), ['sh', '-c', script, 'sh', ...args], { stdout, stderr, env: { PATH: this.path || '/usr/sbin:/usr/bin:/sbin:/bin' } });
    if (code !== 0) throw new Error(`${script.split(' ')[0]} in ${this.containerName} failed: ${stderr.text().trim()}`);
    return stdout.text();
  }

  /** Applies what the engine needs for clients on other hosts, as the server's account, in one exec. */
  async allowNetwork(access: NetworkAccess): Promise<void> {
    const args: string[] = [];
    let script = '';
    if (access.lines) {
      args.push(access.lines.file, ...access.lines.lines);
      script += 'f=$1; shift; for line in "$@"; do grep -qxF "$line" "$f" || printf \'%s\\n\' "$line" >> "$f" || exit 1; done';
    }
    for (const file of access.files ?? []) await this.writeFile(file.path, file.content);
    if (script) {
      const stderr = collector();
      const code = await execStream(this.docker, this.container.getId(), ['sh', '-c', script, 'sh', ...args], { stderr, user: this.user });
      if (code !== 0) throw new Error(`cannot let clients on other hosts connect to ${this.containerName}: ${stderr.text().trim()}`);
    }
  }

  async claim(path: string): Promise<void> {
    await this.root('mkdir -p "$1" && chown "$2": "$1" && chmod 700 "$1"', path, this.user);
  }

  /**
   * Starts a program in the background in its own process group (setsid), its pid in a file,
   * its output appended to `logFile`: what a server or a streamer needs to be killed as a whole.
   */
  async launch(program: string, args: readonly string[], logFile: string, pidFile: string, env: Record<string, string> = {}): Promise<number> {
    const exec = await this.docker.getContainer(this.container.getId()).exec({
      Cmd: ['setsid', 'sh', '-c', 'pidfile=$1; log=$2; shift 2; echo $$ > "$pidfile"; exec "$@" >> "$log" 2>&1', 'sh', pidFile, logFile, program, ...args],
      AttachStdout: false,
      AttachStderr: false,
      User: this.user,
      Env: Object.entries({ PATH: this.path, TMPDIR: `${this.paths.scratch}/tmp`, ...env }).map(([key, value]) => `${key}=${value}`),
    });
    // Detached, the engine answers at once (Podman keeps the answer open): the process runs on
    // without this connection, which must not keep firedrill's event loop alive.
    const answer = (await exec.start({ Detach: true })) as unknown as { destroy?: () => void } | undefined;
    answer?.destroy?.();
    // One exec that waits inside the container: every exec costs the engine a process for minutes.
    const text = await this.root('for i in $(seq 1 500); do [ -s "$1" ] && cat "$1" && exit 0; sleep 0.02; done; exit 1', pidFile).catch(() => '');
    if (!/^\d+\s*$/.test(text)) throw new Error(`${program} did not start in ${this.containerName}`);
    return Number(text);
  }

  private lastAlive = new Map<number, { at: number; alive: Promise<boolean> }>();

  /**
   * Shell functions over the members of a process group, read from /proc: dash's kill cannot
   * signal a group, and images need not have procps.
   */
  private static readonly GROUP = `
    members() { for f in /proc/[0-9]*/stat; do p=\${f#/proc/}; p=\${p%/stat}; set -- $(sed 's/^.*) //' "$f" 2>/dev/null) ; [ "\${3:-}" = "$g" ] && [ "$1" != Z ] && echo "$p"; done; true; }
    signal() { for p in $(members); do kill -"$1" "$p" 2>/dev/null; done; true; }
    alive() { [ -n "$(members)" ]; }`;

  /**
   * Is the process still there? Asked at most twice a second per process: a readiness wait
   * polls every 25 ms, and an exec per poll would flood the engine.
   */
  alive(pid: number): Promise<boolean> {
    const last = this.lastAlive.get(pid);
    if (last && performance.now() - last.at < 500) return last.alive;
    const alive = this.root(`g=$1; ${DockerCore.GROUP}\n alive && echo yes || echo no`, String(pid)).then((text) => text.trim() === 'yes');
    this.lastAlive.set(pid, { at: performance.now(), alive });
    return alive;
  }

  /** Signals the whole process group of a background program and waits, inside the container, for it to be gone (SIGKILL after the grace). */
  async signalGroup(pid: number, signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const tries = Math.max(1, Math.ceil(graceMs / 25));
    await this.root(
      `g=$1; ${DockerCore.GROUP}
       signal ${signal.replace('SIG', '')}
       for i in $(seq 1 ${tries}); do alive || exit 0; sleep 0.025; done
       signal KILL
       for i in $(seq 1 200); do alive || exit 0; sleep 0.025; done`,
      String(pid),
    );
    this.lastAlive.delete(pid);
  }

  serverLog(): Promise<string> {
    return this.root('cat "$1" 2>/dev/null || true', this.logFile);
  }
}

abstract class DockerInstance implements InstanceBase {
  readonly provider = 'docker';

  constructor(protected readonly core: DockerCore) {}

  get name() {
    return this.core.spec.name;
  }
  get engine() {
    return this.core.engine;
  }
  get paths() {
    return this.core.paths;
  }
  get version() {
    return this.core.version;
  }
  get major() {
    return this.core.major;
  }
  get location() {
    return `container ${this.core.containerName}`;
  }
  run(program: string, args: readonly string[], options?: ToolOptions): Promise<RunResult> {
    return this.core.run(program, args, options);
  }
  readFile(path: string): Promise<Buffer> {
    return this.core.readFile(path);
  }
  writeFile(path: string, content: string | Buffer): Promise<void> {
    return this.core.writeFile(path, content);
  }
  claim(path: string): Promise<void> {
    return this.core.claim(path);
  }
  async spawn(program: string, args: readonly string[], options: { logFile: string; env?: Record<string, string> }): Promise<BackgroundProcess> {
    const core = this.core;
    const pidFile = `${core.paths.scratch}/${program}-${randomBytes(3).toString('hex')}.pid`;
    const display = `${core.display(program, args, {})} &`;
    const pid = await core.context.exec.track(display, async () => ({ exitCode: null, pid: await core.launch(program, args, options.logFile, pidFile, options.env) }), { background: true });
    const description = `${program} pid ${pid.pid} in ${core.containerName}`;
    const stop = core.context.resources.add('process', description, () => core.signalGroup(pid.pid, 'SIGTERM', 5000));
    return { description, isRunning: () => core.alive(pid.pid), stop };
  }
  serverLog(): Promise<string> {
    return this.core.serverLog();
  }
  abstract destroy(): Promise<void>;
}

/** The id of the image the instance's container runs: what its cached data directories are made by. */
async function imageIdOf(core: DockerCore): Promise<string> {
  return (await core.docker.getContainer(core.container.getId()).inspect()).Image;
}

/** A seeded data directory, per image: the same key on another image is another entry. */
async function seededEntry(core: DockerCore, key: string): Promise<string> {
  return join(seededDir(), `docker-${createHash('sha256').update(`${await imageIdOf(core)} ${key}`).digest('hex').slice(0, 32)}.tar`);
}

class DockerStopped extends DockerInstance implements StoppedInstance {
  readonly state = 'stopped' as const;

  constructor(
    core: DockerCore,
    private readonly release: () => Promise<void>,
  ) {
    super(core);
  }

  /**
   * Creates an empty cluster, from a copy made once per image: initdb and mariadb-install-db
   * take most of a second in a container, streaming a tar of the result in a tenth of that.
   * The first instance of an image initializes (in its own runbook) and keeps a tar of the
   * result in the template cache, keyed by the image's id and the init command.
   */
  async initialize(): Promise<void> {
    const core = this.core;
    const command = this.engine.server.initialize(this.paths);
    const placeholder = this.engine.server.initialize({ data: '<data>', scratch: '<scratch>' });
    const key = createHash('sha256').update([await imageIdOf(core), placeholder.program, ...placeholder.args].join(' ')).digest('hex').slice(0, 16);
    const template = join(cacheDir(), `docker-${key}.tar`);
    if (await this.untar(template)) return;
    await core.run(command.program, command.args);
    await this.tar(template);
  }

  async keepInCache(key: string): Promise<void> {
    const entry = await seededEntry(this.core, key);
    if (!(await exists(entry))) await this.tar(entry);
  }

  async fillFromCache(key: string): Promise<boolean> {
    return this.untar(await seededEntry(this.core, key));
  }

  /** The data directory extracted from a tar of this machine's, if there is one. */
  private async untar(file: string): Promise<boolean> {
    if (!(await exists(file))) return false;
    await this.core.claim(this.paths.data);
    await this.core.run('tar', ['-x', '-C', this.paths.data], { stdin: { file }, quiet: true });
    return true;
  }

  /** A tar of the data directory, kept on this machine. */
  private async tar(file: string): Promise<void> {
    await writeEntry(file, this.core.context, async (partial) => {
      const out = createWriteStream(partial);
      await this.core.run('tar', ['-c', '-C', this.paths.data, '.'], { stdout: { stream: out, describe: file }, quiet: true });
      await new Promise<void>((resolve, reject) => out.on('close', resolve).on('error', reject));
    });
  }

  async start(options: { settings?: Record<string, string> } = {}): Promise<StartedInstance> {
    const core = this.core;
    const { server } = this.engine;
    const access = server.networkAccess(this.paths);
    await core.allowNetwork(access);
    const command = server.run(this.paths, { address: '0.0.0.0', port: server.defaultPort }, { ...core.spec.settings, ...access.settings, ...options.settings });
    // A pid file of this start's own: a previous server's can never be read for it.
    const pidFile = `${this.paths.scratch}/server-${randomBytes(4).toString('hex')}.pid`;
    const pid = await core.context.exec.track(`${core.display(command.program, command.args, {})} &`, async () => ({ exitCode: null, pid: await core.launch(command.program, command.args, core.logFile, pidFile) }), { background: true, user: core.user });
    const mapped = core.container.getMappedPort(server.defaultPort);
    const connection: ConnectionInfo = { host: core.container.getHost(), port: mapped, ...server.admin };
    const started = new DockerStarted(core, pid.pid, connection, this.release);
    core.stopServer = started.stopProcess = core.context.resources.add('process', `${command.program} pid ${pid.pid} in ${core.containerName} (port ${mapped})`, () => started.terminate(), {
      connect: this.engine.uri({ ...connection, database: this.engine.databaseName }),
      remove: [`docker rm -f ${core.containerName}`],
    });
    const wait: WaitStrategy = {
      what: `${this.engine.displayName} "${this.name}" in ${core.containerName} (127.0.0.1:${mapped})`,
      pollIntervalMs: READINESS_POLL_MS,
      timeoutMs: START_TIMEOUT_MS,
      probe: () => canQuery(this.engine, connection).then(() => true),
      failFast: async () => ((await core.alive(pid.pid)) ? undefined : 'the server exited'),
    };
    try {
      started.readiness = await waitFor(wait, core.context.signal);
    } catch (error) {
      await started.stopProcess();
      throw new Error(`${errorMessage(error)}\n${logTail(await core.serverLog())}`);
    }
    return started;
  }

  destroy(): Promise<void> {
    return this.release();
  }
}

class DockerStarted extends DockerInstance implements StartedInstance {
  readonly state = 'started' as const;
  readiness: ReadinessRecord = { waitedMs: 0, pollIntervalMs: 0 };
  stopProcess: () => Promise<void> = async () => undefined;

  constructor(
    core: DockerCore,
    private readonly pid: number,
    readonly connection: ConnectionInfo,
    private readonly release: () => Promise<void>,
  ) {
    super(core);
  }

  get localConnection(): ConnectionInfo {
    return { ...this.connection, host: '127.0.0.1', port: this.engine.server.defaultPort };
  }

  get peer() {
    return { host: this.core.spec.name, port: this.engine.server.defaultPort };
  }

  isRunning(): Promise<boolean> {
    return this.core.alive(this.pid);
  }

  waitWritable(timeoutMs = START_TIMEOUT_MS): Promise<ReadinessRecord> {
    return waitFor(
      {
        what: `${this.engine.displayName} "${this.name}" leaving recovery`,
        pollIntervalMs: READINESS_POLL_MS,
        timeoutMs,
        probe: writableProbe(this.engine, this.connection),
        failFast: async () => ((await this.core.alive(this.pid)) ? undefined : `the server exited (see ${this.core.logFile} in ${this.core.containerName})`),
      },
      this.core.context.signal,
    );
  }

  /** Clean stop with the engine's signal; the whole group is killed if it does not stop in time. */
  terminate(): Promise<void> {
    return this.core.signalGroup(this.pid, this.engine.server.stopSignal, STOP_TIMEOUT_MS);
  }

  async stop(): Promise<StoppedInstance> {
    await this.stopProcess();
    return new DockerStopped(this.core, this.release);
  }

  async kill(): Promise<StoppedInstance> {
    // Every process of the server at once, as a crash takes them.
    await this.core.signalGroup(this.pid, 'SIGKILL', STOP_TIMEOUT_MS);
    await this.stopProcess();
    return new DockerStopped(this.core, this.release);
  }

  async destroy(): Promise<void> {
    await this.stopProcess();
    await this.release();
  }
}

/**
 * Prepares a new container in one exec (each one costs the engine a process and tens of
 * milliseconds): finds the engine's program directories for PATH, reads the server's version,
 * and makes the instance's directories, owned by the server's account.
 */
async function prepareContainer(core: DockerCore, writable: readonly string[]): Promise<void> {
  const server = core.engine.server.run(core.paths, { address: '0.0.0.0', port: 0 }, {}).program;
  const dirs = [`/firedrill/${core.spec.name}`, core.paths.scratch, `${core.paths.scratch}/tmp`, ...writable];
  const text = await core.root(
    `user=$1; server=$2; shift 2
     for d in ${core.engine.server.programDirs.join(' ')}; do [ -d "$d" ] && echo "dir $d"; done
     for d in "$@"; do mkdir -p "$d" && chown "$user": "$d" && chmod 700 "$d" || exit 1; done
     PATH=$(for d in ${core.engine.server.programDirs.join(' ')}; do [ -d "$d" ] && printf '%s:' "$d"; done)$PATH
     echo "version $("$server" --version)"`,
    core.user,
    server,
    ...dirs,
  );
  // The newest version's directory first, as a package manager would order them.
  const found = [...text.matchAll(/^dir (.+)$/gm)].map((match) => match[1]!).sort((a, b) => b.localeCompare(a, undefined, { numeric: true }));
  core.path = [...found, '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');
  const version = /^version .*?(\d+\.\d+(?:\.\d+)?)/m.exec(text)?.[1];
  if (!version) throw new Error(`cannot tell the ${core.engine.displayName} version of the image from "${text.trim()}"`);
  core.version = version;
  core.major = core.engine.server.majorOf(version);
}

export const dockerProvider: Provider = {
  name: 'docker',
  runsImages: true,

  async available() {
    const runtime = await findRuntime();
    if ('error' in runtime) {
      return { ok: false, reason: runtime.error, hint: 'start Docker (or Podman\'s API: podman system service), or set DOCKER_HOST to its socket' };
    }
    return { ok: true };
  },

  async create(spec, context) {
    const docker = await dockerode();
    const { GenericContainer, Wait } = await import('testcontainers');
    const image = spec.image ?? spec.engine.image(spec.version);
    const network = await drillNetwork(docker, context);
    const containerName = `firedrill-${context.runId}-${spec.name}-${randomBytes(2).toString('hex')}`;
    class LoopbackContainer extends GenericContainer {
      protected override async beforeContainerCreated(): Promise<void> {
        // testcontainers publishes on every address; drills publish on loopback only.
        const bindings = this.hostConfig.PortBindings as Record<string, Array<{ HostIp?: string; HostPort?: string }>> | undefined;
        for (const key of Object.keys(bindings ?? {})) bindings![key] = bindings![key]!.map((binding) => ({ ...binding, HostIp: '127.0.0.1' }));
        // An init as the first process reaps what dies: a killed server must not stay a zombie holding its pid file.
        this.hostConfig.Init = true;
      }
    }
    let container: StartedTestContainer;
    try {
      container = await new LoopbackContainer(image)
        .withName(containerName)
        .withEntrypoint(['/bin/sh', '-c', 'echo firedrill-ready; exec sleep infinity'])
        .withLabels({ ...ownerLabels(context), [INSTANCE_LABEL]: spec.name })
        .withExposedPorts(spec.engine.server.defaultPort)
        .withNetworkMode(network)
        .withNetworkAliases(spec.name)
        .withBindMounts([...(spec.shared ?? []).map((dir) => ({ source: dir, target: dir, mode: 'rw' as const })), ...(spec.readOnly ?? []).map((dir) => ({ source: dir, target: dir, mode: 'ro' as const }))])
        .withWaitStrategy(Wait.forLogMessage('firedrill-ready'))
        .withStartupTimeout(60_000)
        .start();
    } catch (error) {
      // A container the engine created but could not start is not left behind (if the engine
      // cannot remove it either, `firedrill cleanup` finds it by its labels).
      await docker.getContainer(containerName).remove({ force: true, v: true }).catch(() => undefined);
      const engineFailed = (error as { statusCode?: number }).statusCode === 500;
      const hint = engineFailed
        ? 'the container engine failed to start it: see its log (a Podman API service whose working directory was removed fails every start like this: start it again from another directory)'
        : 'if the image cannot be pulled here, set target.image to one this machine has (docker images)';
      throw new Error(`cannot start a container of ${image}: ${errorMessage(error)}; ${hint}`);
    }
    const release = context.resources.add(
      'container',
      `container ${containerName} (${image})`,
      async () => {
        await core.stopServer();
        const log = await core.serverLog().catch(() => '');
        if (log) context.saveLog(spec.name, log);
        await container.stop({ remove: true, timeout: 0 });
      },
      { handle: { type: 'container', provider: 'docker', id: container.getId() }, remove: [`docker rm -f ${containerName}`] },
    );
    const core = new DockerCore(spec, context, docker, container, containerName);
    try {
      await prepareContainer(core, spec.writable ?? []);
      if (spec.version && core.major !== spec.version && !`${core.version}.`.startsWith(`${spec.version}.`)) {
        throw new Error(`image ${image} runs ${spec.engine.displayName} ${core.version}, and the scenario pins ${spec.version}: set target.image to an image of ${spec.version}`);
      }
    } catch (error) {
      await release();
      throw error;
    }
    return new DockerStopped(core, release);
  },

  async removeLeftover(handle) {
    const docker = await dockerode();
    if (handle.type === 'container') await docker.getContainer(handle.id).remove({ force: true, v: true }).catch(ignoreMissing);
    if (handle.type === 'network') await docker.getNetwork(handle.id).remove().catch(ignoreMissing);
  },

  async findLeftovers(aliveRuns) {
    const runtime = await findRuntime();
    if ('error' in runtime) return [];
    const docker = await dockerode();
    const filters = { label: [RUN_LABEL] };
    const containers = await docker.listContainers({ all: true, filters });
    const found = containers
      .filter((container) => !aliveRuns.has(container.Labels[RUN_LABEL] ?? '') && !ownerRunning(container.Labels))
      .map((container) => ({
        runId: container.Labels[RUN_LABEL] ?? '?',
        kind: 'container',
        where: `container ${container.Names[0]?.replace(/^\//, '') ?? container.Id} (${container.Image})`,
        remove: () => docker.getContainer(container.Id).remove({ force: true, v: true }).catch(ignoreMissing),
      }));
    const networkList = await docker.listNetworks({ filters });
    for (const network of networkList.filter((candidate) => !aliveRuns.has(candidate.Labels?.[RUN_LABEL] ?? '') && !ownerRunning(candidate.Labels))) {
      found.push({ runId: network.Labels?.[RUN_LABEL] ?? '?', kind: 'network', where: `network ${network.Name}`, remove: () => docker.getNetwork(network.Id).remove().catch(ignoreMissing) });
    }
    return found;
  },
};

function ignoreMissing(error: { statusCode?: number }): void {
  if (error.statusCode !== 404) throw error;
}
