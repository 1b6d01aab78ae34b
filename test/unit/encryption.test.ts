import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedStorage, encryptedSize } from '../../src/storage/encrypted.js';
import { LocalDirectoryStorage } from '../../src/storage/local-directory.js';
import { BackupDefect } from '../../src/storage/transfer.js';

const CHUNK = 64 * 1024;
const KEY = 'FIREDRILL_TEST_KEY';
let dir: string;
let plain: LocalDirectoryStorage;
let sealed: EncryptedStorage;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firedrill-enc-'));
  process.env[KEY] = randomBytes(32).toString('hex');
  plain = new LocalDirectoryStorage('primary', dir, 'home');
  sealed = new EncryptedStorage(plain, { keyEnv: KEY });
  await sealed.open();
});

afterEach(async () => {
  delete process.env[KEY];
  await rm(dir, { recursive: true, force: true });
});

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('encryption at rest', () => {
  it('round-trips every size around the chunk boundaries, with plaintext sizes and checksums', async () => {
    for (const size of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5]) {
      const data = randomBytes(size);
      const stored = await sealed.put(`o/${size}`, Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      expect(stored.sizeBytes).toBe(size);
      expect((await stat(join(dir, 'o', String(size)))).size).toBe(encryptedSize(size));
      expect(await sealed.stat(`o/${size}`)).toMatchObject({ sizeBytes: size });
      expect((await read(await sealed.get(`o/${size}`))).equals(data)).toBe(true);
    }
  });

  it('stores no plaintext: a canary written in is nowhere in the stored bytes', async () => {
    const canary = 'CANARY-7f3a-ORDER-ITEMS-numeric(10,2)';
    const text = Buffer.from(`${'INSERT INTO orders VALUES (1);\n'.repeat(5000)}${canary}\n`);
    await sealed.put('dump.sql', Readable.from([text]));
    const raw = await readFile(join(dir, 'dump.sql'));
    expect(text.includes(canary)).toBe(true);
    expect(raw.includes(canary)).toBe(false);
    expect(raw.includes('INSERT INTO')).toBe(false);
  });

  it('another key, a flipped byte, a cut at a chunk boundary or swapped chunks: a defect in words, never garbage', async () => {
    const data = randomBytes(3 * CHUNK);
    await sealed.put('b', Readable.from([data]));
    const path = join(dir, 'b');
    const failure = async () => read(await sealed.get('b')).then(() => undefined, (error: unknown) => error as Error);

    process.env[KEY] = randomBytes(32).toString('base64');
    const error = await failure();
    expect(error).toBeInstanceOf(BackupDefect);
    expect(error!.message).toBe('b in "primary" cannot be decrypted: the key is not the one it was encrypted with, or the object was altered (storage.primary.encryption names the key)');

    const header = 24;
    const frame = CHUNK + 16;
    const damages: Array<[string, (stored: Buffer) => Buffer, RegExp]> = [
      ['a flipped byte', (stored) => Buffer.from(stored.map((byte, index) => (index === header + frame + 100 ? byte ^ 0xff : byte))), /chunk 2 fails its authentication/],
      ['a cut at a chunk boundary', (stored) => stored.subarray(0, header + 2 * frame), /chunk 2 fails its authentication/],
      ['two chunks swapped', (stored) => Buffer.concat([stored.subarray(0, header), stored.subarray(header + frame, header + 2 * frame), stored.subarray(header, header + frame), stored.subarray(header + 2 * frame)]), /the key is not the one|altered/],
    ];
    for (const [what, damage, expected] of damages) {
      await sealed.put('b', Readable.from([data]));
      await writeFile(path, damage(await readFile(path)));
      const found = await failure();
      expect(found, what).toBeInstanceOf(BackupDefect);
      expect(found!.message, what).toMatch(expected);
    }
  });

  it('a key that is missing or the wrong length stops at open, saying how to make one', async () => {
    delete process.env[KEY];
    await expect(sealed.open()).rejects.toThrow(/storage "primary": cannot open \(root\): the encryption key variable FIREDRILL_TEST_KEY is not set \(export FIREDRILL_TEST_KEY with 32 random bytes/);
    process.env[KEY] = 'abcd';
    await expect(sealed.open()).rejects.toThrow(/is 3 bytes, not 32/);
  });
});
