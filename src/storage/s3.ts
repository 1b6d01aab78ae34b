import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import { measuring } from './digest.js';
import { ObjectNotFoundError, StorageError, type StorageLocation, type StoredObject } from './storage.js';
import { defineStorage, locationBase } from './types.js';

export const s3Options = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(3).describe('The bucket; it must exist (firedrill creates only its own prefix in it)'),
  prefix: z.string().regex(/^[^/].*$|^$/, 'a prefix does not start with "/"').default('firedrill').describe('Key prefix in the bucket; each drill writes below a prefix of its own under it and removes it afterwards (unless --keep)'),
  s3Region: z.string().optional().describe('The bucket\'s AWS region; default: AWS_REGION, else us-east-1'),
  endpoint: z.url().optional().describe('An S3-compatible endpoint (MinIO, R2, a local test server); default: AWS'),
  pathStyle: z.boolean().default(false).describe('Address the bucket in the path (http://host/bucket/key), as MinIO and most local servers want'),
  checksums: z
    .enum(['when-supported', 'when-required'])
    .default('when-supported')
    .describe('When the SDK adds request checksums and validates response ones: when-required for servers that store aws-chunked bodies as data'),
  caFile: z.string().optional().describe('A CA certificate (PEM) to trust for the endpoint: an S3 server with a certificate of its own (a private MinIO)'),
  profile: z.string().optional().describe('A profile of the shared AWS config and credentials files; default: the standard chain (environment, AWS_PROFILE, files, instance role)'),
  attempts: z.int().min(1).max(20).default(6).describe('Attempts per request, with backoff, on 5xx answers, throttling and dropped connections'),
  partSize: z
    .int()
    .min(5 * 1024 * 1024)
    .default(5 * 1024 * 1024)
    .describe('Multipart part size in bytes; an upload holds a few parts in memory, and an object has at most 10,000 parts (48 GiB at the default: raise it for bigger backups)'),
  ...locationBase,
});

type S3Options = z.output<typeof s3Options>;

export interface S3Access {
  bucket: string;
  root: string;
  region: string;
  endpoint: URL;
  pathStyle: boolean;
  caFile?: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const trimSlashes = (value: string) => value.replace(/^\/+|\/+$/g, '');

function isNotFound(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error instanceof NoSuchKey || error instanceof NotFound || status === 404 || (error as Error).name === 'NoSuchKey';
}

/** How to reach a location's objects, without a secret in it. */
function describe(options: S3Options, root: string): string {
  return `s3://${options.bucket}/${root}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
}

/**
 * A prefix in an S3 bucket (AWS or any S3-compatible server). Objects stream both ways: a put
 * is a multipart upload whose parts are the only buffers (so a 1 GB backup needs partSize ×
 * queueSize of memory, and each part can be retried), and a get that loses its connection
 * resumes where it stopped with a ranged request of the same version (If-Match on its ETag).
 * Credentials come from the standard AWS chain and are never part of the address.
 */
export class S3Storage implements StorageLocation {
  readonly type = 's3';
  readonly region: string;
  private readonly client: S3Client;

  constructor(
    readonly name: string,
    private readonly options: S3Options,
    /** The location's own prefix in the bucket, no slash at either end. */
    readonly root: string,
  ) {
    this.region = options.region;
    // firedrill pins an SDK release that runs on Node 20; the SDK's notice is about later releases.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const config: S3ClientConfig = {
      region: options.s3Region ?? process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: options.pathStyle,
      maxAttempts: options.attempts,
      retryMode: 'standard',
      requestChecksumCalculation: options.checksums === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: options.checksums === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.caFile ? { requestHandler: { httpsAgent: new Agent({ ca: readFileSync(options.caFile) }) } } : {}),
    };
    this.client = new S3Client(config);
  }

  /**
   * What a backup tool with an S3 client of its own (pgBackRest) needs to reach this location:
   * the endpoint's parts and the credentials the AWS chain resolves to — for its configuration,
   * never for a journal.
   */
  async access(): Promise<S3Access> {
    const region = await this.client.config.region();
    const endpoint = new URL(this.options.endpoint ?? `https://s3.${region}.amazonaws.com`);
    const { accessKeyId, secretAccessKey, sessionToken } = await this.client.config.credentials();
    return {
      bucket: this.options.bucket,
      root: this.root,
      region,
      endpoint,
      pathStyle: this.options.pathStyle,
      ...(this.options.caFile ? { caFile: this.options.caFile } : {}),
      credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    };
  }

  get address(): string {
    return describe(this.options, this.root);
  }

  private keyOf(key: string): string {
    return key ? `${this.root}/${key}` : this.root;
  }

  async open(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch (error) {
      throw new StorageError(this.name, 'open', '', error, isNotFound(error) ? `bucket ${this.options.bucket} does not exist: create it, or name another in storage.${this.name}.bucket` : 'check the endpoint and the AWS credentials (environment, AWS_PROFILE or storage profile)');
    }
  }

  async put(key: string, source: Readable): Promise<StoredObject> {
    const measure = measuring();
    const body = new PassThrough();
    const feeding = pipeline(source, measure, body);
    feeding.catch(() => undefined);
    try {
      // A multipart upload is visible only once completed: a half-stored backup never looks whole.
      const upload = new Upload({ client: this.client, params: { Bucket: this.options.bucket, Key: this.keyOf(key), Body: body }, partSize: this.options.partSize, queueSize: 2, leavePartsOnError: false });
      await Promise.all([upload.done(), feeding]);
    } catch (error) {
      body.destroy();
      throw new StorageError(this.name, 'put', key, error);
    }
    return { location: this.name, key, ...measure.result() };
  }

  async get(key: string): Promise<Readable> {
    const first = await this.fetch(key, 0);
    const out = new PassThrough();
    void this.resumable(key, first, out);
    return out;
  }

  private async fetch(key: string, from: number, etag?: string): Promise<{ body: Readable; etag?: string }> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key), ...(from > 0 ? { Range: `bytes=${from}-` } : {}), ...(etag ? { IfMatch: etag } : {}) }),
      );
      return { body: answer.Body as Readable, ...(answer.ETag ? { etag: answer.ETag } : {}) };
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(this.name, key, error);
      throw new StorageError(this.name, 'get', key, error);
    }
  }

  /** Copies the object into `out`, asking again from the byte it got to when a connection drops mid-body. */
  private async resumable(key: string, first: { body: Readable; etag?: string }, out: PassThrough): Promise<void> {
    let received = 0;
    let current = first;
    for (let attempt = 1; ; attempt++) {
      try {
        for await (const chunk of current.body) {
          received += (chunk as Buffer).length;
          if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
        }
        out.end();
        return;
      } catch (error) {
        if (out.destroyed) return;
        if (attempt >= this.options.attempts) {
          out.destroy(new StorageError(this.name, 'get', key, error, `the connection dropped ${attempt} times`));
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
        try {
          current = await this.fetch(key, received, current.etag);
        } catch (again) {
          out.destroy(again as Error);
          return;
        }
      }
    }
  }

  async stat(key: string): Promise<{ sizeBytes: number; modifiedAt?: Date } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(key) }));
      return { sizeBytes: head.ContentLength ?? 0, ...(head.LastModified ? { modifiedAt: head.LastModified } : {}) };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new StorageError(this.name, 'stat', key, error);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const base = `${this.root}/`;
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.options.bucket, Prefix: base + prefix })) {
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key.slice(base.length));
      }
    } catch (error) {
      throw new StorageError(this.name, 'list', prefix, error);
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    await this.deleteKeys([this.keyOf(key)], key);
  }

  private async deleteKeys(keys: string[], what: string): Promise<void> {
    try {
      for (let start = 0; start < keys.length; start += 1000) {
        const answer = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: keys.slice(start, start + 1000).map((Key) => ({ Key })), Quiet: true } }),
        );
        if (answer.Errors?.length) throw new Error(answer.Errors.map((failed) => `${failed.Key}: ${failed.Message ?? failed.Code}`).join('; '));
      }
    } catch (error) {
      throw new StorageError(this.name, 'delete', what, error);
    }
  }

  async destroy(): Promise<void> {
    const keys = (await this.list('')).map((key) => this.keyOf(key));
    await this.deleteKeys(keys, '(everything)');
  }
}

export const s3Storage = defineStorage({
  summary: 'a prefix in an S3 bucket (AWS, or any S3-compatible server: MinIO, R2, ...); credentials from the standard AWS chain',
  options: s3Options,
  serverWrites: () => false,
  create: (name, options, context) => new S3Storage(name, options, [trimSlashes(options.prefix), `${context.drillId}-${name}-${process.pid}-${randomUUID().slice(0, 8)}`].filter(Boolean).join('/')),
  reopen: (name, options, root) => new S3Storage(name, options, root),
});
