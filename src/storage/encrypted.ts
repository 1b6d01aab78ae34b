import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { z } from 'zod';
import { measuring } from './digest.js';
import { StorageError, type StorageLocation, type StoredObject } from './storage.js';
import { BackupDefect } from './transfer.js';

/**
 * Encryption at rest for any storage location: AES-256-GCM over 64 KiB chunks, streamed. Each
 * object has a random 16-byte id in its header, from which a key of its own is derived (HKDF),
 * so nonces (the chunk's index) never repeat under one key. Every chunk is authenticated with
 * its index and whether it is the last, so a changed, reordered or cut-short object fails to
 * decrypt rather than yielding something plausible.
 */

export const encryptionOptions = z
  .strictObject({
    keyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('Environment variable holding the key: 32 bytes as 64 hex digits or base64'),
    keyFile: z.string().optional().describe('File holding the key (32 bytes as 64 hex digits or base64; the first line is read)'),
  })
  .refine((value) => (value.keyEnv === undefined) !== (value.keyFile === undefined), { error: 'give exactly one of keyEnv and keyFile' })
  .describe('Encrypt every object stored here (AES-256-GCM in chunks); the key is never logged or journaled');

export type EncryptionOptions = z.output<typeof encryptionOptions>;

const MAGIC = Buffer.from('FDENC1\0\0');
const ID_BYTES = 16;
const HEADER = MAGIC.length + ID_BYTES;
const CHUNK = 64 * 1024;
const TAG = 16;
const FRAME = CHUNK + TAG;

/** The size an object of `plain` bytes has once encrypted: the header, and a tag per chunk (an empty object still has one). */
export const encryptedSize = (plain: number) => HEADER + plain + TAG * Math.max(1, Math.ceil(plain / CHUNK));

/** The plaintext size of an encrypted object of `stored` bytes. */
export const plainSize = (stored: number) => stored - HEADER - TAG * Math.max(1, Math.ceil((stored - HEADER) / FRAME));

function readKey(options: EncryptionOptions, location: string): Buffer {
  let text: string | undefined;
  if (options.keyEnv) {
    text = process.env[options.keyEnv];
    if (!text) throw new StorageError(location, 'open', '', new Error(`the encryption key variable ${options.keyEnv} is not set`), `export ${options.keyEnv} with 32 random bytes, e.g. $(openssl rand -hex 32)`);
  } else {
    try {
      text = readFileSync(options.keyFile!, 'utf8').split('\n')[0];
    } catch (error) {
      throw new StorageError(location, 'open', '', error, `cannot read the encryption key file ${options.keyFile}`);
    }
  }
  const trimmed = text!.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new StorageError(location, 'open', '', new Error(`the encryption key from ${options.keyEnv ?? options.keyFile} is ${key.length} bytes, not 32`), 'give 32 bytes as 64 hex digits or base64, e.g. $(openssl rand -hex 32)');
  return key;
}

const objectKey = (key: Buffer, id: Buffer) => Buffer.from(hkdfSync('sha256', key, id, 'firedrill object', 32));

function nonceOf(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  return nonce;
}

const aadOf = (index: number, last: boolean) => {
  const aad = Buffer.alloc(9);
  aad.writeBigUInt64BE(BigInt(index));
  aad[8] = last ? 1 : 0;
  return aad;
};

/** Plaintext in, the encrypted object out. */
function encrypting(key: Buffer): Transform {
  const id = randomBytes(ID_BYTES);
  const perObject = objectKey(key, id);
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  const seal = (plain: Buffer, last: boolean) => {
    const cipher = createCipheriv('aes-256-gcm', perObject, nonceOf(index), { authTagLength: TAG });
    cipher.setAAD(aadOf(index, last));
    index += 1;
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  };
  let started = false;
  const start = (stream: Transform) => {
    if (!started) stream.push(Buffer.concat([MAGIC, id]));
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      start(this);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // A full chunk is sealed only once more follows: the last one carries the "last" mark.
      while (pending.length > CHUNK) {
        this.push(seal(pending.subarray(0, CHUNK), false));
        pending = pending.subarray(CHUNK);
      }
      callback();
    },
    flush(callback) {
      start(this);
      this.push(seal(pending, true));
      callback();
    },
  });
}

/** The encrypted object in, its plaintext out; any tampering, a cut, or another key is an error naming the object. */
function decrypting(key: Buffer, fail: (reason: string) => Error): Transform {
  let header: Buffer | undefined;
  let perObject: Buffer | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  const open = (frame: Buffer, last: boolean) => {
    if (frame.length < TAG) throw fail('it is cut short');
    const decipher = createDecipheriv('aes-256-gcm', perObject!, nonceOf(index), { authTagLength: TAG });
    decipher.setAAD(aadOf(index, last));
    decipher.setAuthTag(frame.subarray(frame.length - TAG));
    index += 1;
    try {
      return Buffer.concat([decipher.update(frame.subarray(0, frame.length - TAG)), decipher.final()]);
    } catch {
      throw fail(index === 1 ? 'the key is not the one it was encrypted with, or the object was altered' : `chunk ${index} fails its authentication: the object was altered or cut short`);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      try {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        if (!header) {
          if (pending.length < HEADER) return callback();
          header = pending.subarray(0, HEADER);
          if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw fail('it is not an object firedrill encrypted (no FDENC1 header)');
          perObject = objectKey(key, header.subarray(MAGIC.length));
          pending = pending.subarray(HEADER);
        }
        // Keep the newest frame back until the end shows whether it is the last.
        while (pending.length > FRAME) {
          this.push(open(pending.subarray(0, FRAME), false));
          pending = pending.subarray(FRAME);
        }
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        if (!header) throw fail('it is cut short (no header)');
        this.push(open(pending, true));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * A storage location whose objects are stored encrypted. The drill sees plaintext: sizes,
 * checksums and lists are those of what the tools wrote, so every check made on a plain
 * location is made here too. Its files are not what a server wrote, so it is not a place a
 * server's archive command can write into (`directory` is absent).
 */
export class EncryptedStorage implements StorageLocation {
  constructor(
    private readonly inner: StorageLocation,
    private readonly options: EncryptionOptions,
  ) {}

  get name() {
    return this.inner.name;
  }
  get type() {
    return this.inner.type;
  }
  get region() {
    return this.inner.region;
  }
  get address() {
    return `${this.inner.address} (encrypted, AES-256-GCM)`;
  }
  get root() {
    return this.inner.root;
  }

  private key(): Buffer {
    return readKey(this.options, this.name);
  }

  async open(): Promise<void> {
    this.key();
    await this.inner.open();
  }

  async put(key: string, source: Readable): Promise<StoredObject> {
    const secret = this.key();
    const measure = measuring();
    const sealed = new PassThrough();
    const feeding = pipeline(source, measure, encrypting(secret), sealed);
    feeding.catch(() => undefined);
    await Promise.all([this.inner.put(key, sealed), feeding]);
    return { location: this.name, key, ...measure.result() };
  }

  async get(key: string): Promise<Readable> {
    const secret = this.key();
    const stored = await this.inner.get(key);
    // Undecryptable is unrestorable: with the key at hand this backup is as good as lost.
    const plain = decrypting(secret, (reason) => new BackupDefect('unrestorable', `${key} in "${this.name}" cannot be decrypted: ${reason} (storage.${this.name}.encryption names the key)`, key));
    stored.on('error', (error) => plain.destroy(error));
    return stored.pipe(plain);
  }

  async stat(key: string): Promise<{ sizeBytes: number; modifiedAt?: Date } | undefined> {
    const found = await this.inner.stat(key);
    return found && { ...found, sizeBytes: plainSize(found.sizeBytes) };
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}
