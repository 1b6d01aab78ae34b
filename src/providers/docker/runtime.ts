import { request } from 'node:http';
import type { Socket } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import type Dockerode from 'dockerode';

/**
 * The container engine the docker provider talks to: Docker, or Podman's Docker-compatible
 * API. testcontainers only looks where Docker lives, so firedrill looks in the usual places
 * itself and points DOCKER_HOST at the first that answers, before testcontainers is loaded.
 */

const PING_TIMEOUT_MS = 1500;

/** Where an engine's API socket can be, in the order tried. */
function candidates(): string[] {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  return [
    ...(process.env.DOCKER_HOST ? [process.env.DOCKER_HOST] : []),
    'unix:///var/run/docker.sock',
    'unix:///run/podman/podman.sock',
    ...(runtimeDir ? [`unix://${runtimeDir}/podman/podman.sock`, `unix://${runtimeDir}/docker.sock`] : []),
  ];
}

/** GET /_ping with a timeout: a socket that accepts and never answers must not hang a drill (it hangs testcontainers). */
export function ping(host: string, timeoutMs = PING_TIMEOUT_MS): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(host);
    } catch {
      resolve({ ok: false, detail: `"${host}" is not a URL` });
      return;
    }
    const target = url.protocol === 'unix:' ? { socketPath: url.pathname } : { host: url.hostname, port: Number(url.port || 2375) };
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ ok: res.statusCode === 200, detail: `${res.statusCode} ${body.trim()}` }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` });
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, detail: error.code ?? error.message }));
    req.end();
  });
}

let found: Promise<{ host: string } | { error: string }> | undefined;

/** The first engine that answers (once per process); sets DOCKER_HOST and testcontainers' settings for it. */
export function findRuntime(): Promise<{ host: string } | { error: string }> {
  found ??= (async () => {
    const tried: string[] = [];
    for (const host of candidates()) {
      const answer = await ping(host);
      if (answer.ok) {
        process.env.DOCKER_HOST = host;
        // firedrill removes its own containers (and `firedrill cleanup` what a killed run left):
        // Ryuk's image may not even be pullable where the database images are.
        process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
        // Ports are published on 127.0.0.1 of the engine's machine, which is this one.
        process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
        return { host };
      }
      tried.push(`${host} (${answer.detail})`);
    }
    return { error: `no container engine answers (tried ${tried.join(', ')})` };
  })();
  return found;
}

/** The dockerode client testcontainers uses (same socket, same options). */
export async function dockerode(): Promise<Dockerode> {
  const runtime = await findRuntime();
  if ('error' in runtime) throw new Error(runtime.error);
  const { getContainerRuntimeClient } = await import('testcontainers');
  return (await getContainerRuntimeClient()).container.dockerode;
}

/** Demultiplexes Docker's framed stdout/stderr stream (8-byte headers), honouring backpressure. */
function demux(stdout: Writable, stderr: Writable): Writable {
  let buffer: Buffer = Buffer.alloc(0);
  let type = -1;
  let left = 0;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      buffer = buffer.length > 0 ? Buffer.concat([buffer, chunk]) : chunk;
      const blocked = new Set<Writable>();
      for (;;) {
        if (left === 0) {
          if (buffer.length < 8) break;
          type = buffer[0]!;
          left = buffer.readUInt32BE(4);
          buffer = buffer.subarray(8);
          continue;
        }
        if (buffer.length === 0) break;
        const size = Math.min(left, buffer.length);
        const part = buffer.subarray(0, size);
        buffer = buffer.subarray(size);
        left -= size;
        const target = type === 2 ? stderr : stdout;
        if (!target.write(part)) blocked.add(target);
      }
      if (blocked.size > 0) Promise.all([...blocked].map((target) => new Promise((resolve) => target.once('drain', resolve)))).then(() => callback(), callback);
      else callback();
    },
  });
}

export interface ExecOptions {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  user?: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Runs a command in a container with stdin and stdout streamed, and resolves with its exit
 * code. The stream is hijacked: a half-close of the socket is how the process sees the end of
 * its input (the non-hijacked form never delivers it, on Podman). Output goes to `stdout` /
 * `stderr` as it comes, with backpressure, so a dump of any size never sits in memory.
 */
export async function execStream(docker: Dockerode, id: string, command: readonly string[], options: ExecOptions = {}): Promise<number> {
  const exec = await docker.getContainer(id).exec({
    Cmd: [...command],
    AttachStdin: Boolean(options.stdin),
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    ...(options.user ? { User: options.user } : {}),
    ...(options.env ? { Env: Object.entries(options.env).map(([key, value]) => `${key}=${value}`) } : {}),
  });
  // The start request itself can hang on an engine whose container is going away: it is aborted with the drill.
  const socket = (await exec.start({ hijack: true, stdin: Boolean(options.stdin), ...(options.signal ? { abortSignal: options.signal } : {}) })) as unknown as Socket;
  // ECONNRESET / EPIPE when the process exits while input is still being written: its exit code says what happened.
  socket.on('error', () => undefined);
  const sink = () => new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const output = demux(options.stdout ?? sink(), options.stderr ?? sink());
  const done = new Promise<void>((resolve) => {
    output.on('finish', resolve);
    socket.on('close', () => {
      if (!output.writableEnded) output.end();
    });
  });
  socket.pipe(output);
  let inputError: Error | undefined;
  if (options.stdin) {
    const input = options.stdin;
    input.on('error', (error) => {
      inputError = error;
      socket.destroy();
    });
    // At the end of the input pipe() ends the socket: a half-close, which the process reads as EOF.
    input.pipe(socket);
    socket.on('close', () => {
      input.unpipe(socket);
      if (!input.readableEnded) input.resume();
    });
  }
  // An abort stops waiting at once: output blocked on a reader that is gone would never finish.
  let abort = () => undefined as void;
  const aborted = new Promise<void>((resolve) => {
    abort = () => {
      socket.destroy();
      resolve();
    };
  });
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();
  try {
    await Promise.race([done, aborted]);
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
  options.signal?.throwIfAborted();
  if (inputError) throw inputError;
  // Inspected at once: the engine forgets an exec session a while after it ends.
  for (let attempt = 0; attempt < 250; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the command ${command[0]} in container ${id.slice(0, 12)} did not finish`);
}
