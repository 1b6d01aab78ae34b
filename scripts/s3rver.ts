import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The only credentials s3rver accepts. */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

export interface S3Server {
  endpoint: string;
  bucket: string;
  dir: string;
  /** With TLS: the server's self-signed certificate, which is also the CA to trust (world-readable: a server account reads it). */
  caFile?: string;
  stop(): Promise<void>;
}

/**
 * A real S3 API server (s3rver) on loopback, in a process of its own, with one bucket. It signs
 * list-continuation tokens with DES, which OpenSSL 3 refuses unless the legacy provider is on.
 */
export async function startS3rver(bucket = 'firedrill', options: { tls?: boolean } = {}): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'firedrill-s3rver-'));
  await chmod(dir, 0o755);
  const bin = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
  const tls = options.tls ? await selfSigned(dir) : undefined;
  const data = join(dir, 'data');
  const child: ChildProcess = spawn(process.execPath, [bin, '-d', data, '-a', '127.0.0.1', '-p', '0', '--silent', '--configure-bucket', bucket, ...(tls ? ['--key', tls.key, '--cert', tls.cert] : [])], {
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 15 s: ${output}`)), 15_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on [\d.]+:(\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(Number(found[1]));
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`s3rver exited (${code}): ${output}`)));
  });
  return {
    // pgBackRest matches a certificate by host name, never by IP address.
    endpoint: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    bucket,
    dir: data,
    ...(tls ? { caFile: tls.cert } : {}),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A key and a self-signed certificate for 127.0.0.1 (pgBackRest speaks only HTTPS to S3). */
async function selfSigned(dir: string): Promise<{ key: string; cert: string }> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  await chmod(cert, 0o644);
  return { key, cert };
}
