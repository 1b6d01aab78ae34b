import { createHash } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageLocation } from './storage.js';

/** A pass-through that measures what flows through it: size and sha256. */
export function measuring(): Transform & { result(): { sizeBytes: number; sha256: string } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  }) as Transform & { result(): { sizeBytes: number; sha256: string } };
  let digest: string | undefined;
  transform.result = () => ({ sizeBytes: size, sha256: (digest ??= hash.digest('hex')) });
  return transform;
}

/** The size and sha256 of a stored object, read through. */
export async function digest(location: StorageLocation, key: string): Promise<{ sizeBytes: number; sha256: string }> {
  const measure = measuring();
  await pipeline(await location.get(key), measure, new PassThrough().resume());
  return measure.result();
}
