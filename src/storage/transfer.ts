import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { InstanceBase, ToolOptions } from '../providers/provider.js';
import type { CommandRunner, RunResult } from '../util/exec.js';
import { digest, measuring } from './digest.js';
import type { StorageLocation, StoredObject } from './storage.js';

/**
 * A backup that cannot be restored as it is: altered or truncated since it was taken, missing,
 * incomplete against its manifest. What a careful operator checks before trusting a restore;
 * the drill names it and tries an older backup if it has one.
 */
export class BackupDefect extends Error {
  constructor(
    readonly kind: 'checksum' | 'missing' | 'manifest' | 'unrestorable',
    message: string,
    readonly object?: string,
  ) {
    super(message);
    this.name = 'BackupDefect';
  }
}

const short = (sha: string) => `${sha.slice(0, 16)}…`;

/** Where a tool reads a backup file from: the file itself (a storage directory every instance sees), or its stdin. */
export type BackupInput = { path: string } | { stdin: NonNullable<ToolOptions['stdin']> };

function checksumDefect(storage: StorageLocation, object: StoredObject, found: { sizeBytes: number; sha256: string }): BackupDefect | undefined {
  if (found.sha256 === object.sha256 && found.sizeBytes === object.sizeBytes) return undefined;
  return new BackupDefect(
    'checksum',
    `backup file ${object.key} in "${storage.name}" was changed after it was taken: sha256 ${short(found.sha256)} (${found.sizeBytes} bytes), recorded at backup time ${short(object.sha256)} (${object.sizeBytes} bytes)`,
    object.key,
  );
}

async function present(storage: StorageLocation, object: StoredObject): Promise<void> {
  if (!(await storage.stat(object.key))) throw new BackupDefect('missing', `backup file ${object.key} is missing from "${storage.name}" (${storage.address})`, object.key);
}

/**
 * Checks stored files a tool will read by itself (a backup tool's repository) against the size
 * and sha256 recorded when they were stored: the first one missing or changed is the defect.
 */
export async function verifyStored(storage: StorageLocation, objects: readonly StoredObject[]): Promise<void> {
  for (const object of objects) {
    await present(storage, object);
    const defect = checksumDefect(storage, object, await digest(storage, object.key));
    if (defect) throw defect;
  }
}

/**
 * Hands a stored backup file to a tool beside an instance, checking its sha256 and size
 * against what was recorded when it was stored: in place when the location is a directory
 * every instance sees (hashed here while the tool reads it), else streamed through the hash
 * into the tool's stdin. A mismatch is the finding, whatever the tool said: a tar that stops at
 * a truncation exits 0, a pg_restore of a flipped byte can too.
 */
export async function readVerified(exec: CommandRunner, storage: StorageLocation, object: StoredObject, use: (input: BackupInput) => Promise<RunResult>): Promise<RunResult> {
  await present(storage, object);
  if (storage.directory) {
    const path = join(storage.directory, object.key);
    const hashing = exec.step(`sha256sum ${path}: compared with the checksum recorded at backup time (${short(object.sha256)})`, async () => {
      const measure = measuring();
      await pipeline(createReadStream(path), measure, new PassThrough().resume());
      return measure.result();
    });
    hashing.catch(() => undefined);
    let result: RunResult;
    try {
      result = await use({ path });
    } catch (error) {
      // A damaged backup is the cause of whatever the tool did with it.
      const defect = checksumDefect(storage, object, await hashing);
      throw defect ?? error;
    }
    const defect = checksumDefect(storage, object, await hashing);
    if (defect) throw defect;
    return result;
  }
  const source = await storage.get(object.key);
  const measure = measuring();
  // The tool reads `feed`; if it stops early (and its stdin pipe is torn down), `measure` keeps its data.
  const feed = new PassThrough();
  const done = new Promise<void>((resolve, reject) => {
    measure.on('end', resolve);
    measure.on('error', reject);
    source.on('error', (error) => {
      reject(error);
      // A read that failed (a decryption, a dropped connection past its retries) ends the tool's
      // input, so the tool finishes and the failure is what is reported.
      feed.end();
    });
  });
  // Awaited once the tool is done; until then a failed read must not count as unhandled.
  done.catch(() => undefined);
  source.pipe(measure).pipe(feed);
  const check = async () => {
    // A tool that stopped reading early leaves the rest unread: read it, the hash needs all of it.
    measure.unpipe(feed);
    measure.resume();
    await done;
    const defect = checksumDefect(storage, object, measure.result());
    if (defect) throw defect;
  };
  let result: RunResult;
  try {
    result = await use({ stdin: { stream: feed, describe: `${storage.name}:${object.key} (sha256 verified)` } });
  } catch (error) {
    await check();
    throw error;
  }
  await check();
  return result;
}

/**
 * A stored backup file as a path beside an instance, its checksum verified: the file itself in
 * a storage directory (read-only to the tools), or a copy fetched into `dir` from elsewhere.
 */
export async function verifiedFile(exec: CommandRunner, instance: InstanceBase, storage: StorageLocation, object: StoredObject, dir: string): Promise<string> {
  const copy = `${dir}/${object.key.slice(object.key.lastIndexOf('/') + 1)}`;
  let path = copy;
  await readVerified(exec, storage, object, async (input) => {
    if ('path' in input) {
      path = input.path;
      return { exitCode: 0, stdout: '', stderr: '', durationMs: 0 };
    }
    return instance.run('sh', ['-c', 'cat > "$0"', copy], { stdin: input.stdin });
  });
  return path;
}

/** Runs a tool beside an instance with its stdout streamed into the storage location under `key`. */
export async function storeOutput(
  instance: InstanceBase,
  storage: StorageLocation,
  key: string,
  program: string,
  args: readonly string[],
  options: Omit<ToolOptions, 'stdout'> & { tap?: (stream: Readable) => void } = {},
): Promise<{ object: StoredObject; result: RunResult }> {
  const pipe = new PassThrough();
  // Errors reach whoever awaits the put; a stray one must not be an unhandled 'error' event.
  pipe.on('error', () => undefined);
  const stored = storage.put(key, pipe);
  // A second reader of the same bytes (a parser looking for a manifest inside a tar).
  if (options.tap) {
    const copy = new PassThrough();
    pipe.pipe(copy);
    options.tap(copy);
  }
  let result: RunResult;
  try {
    result = await instance.run(program, args, { ...options, stdout: { stream: pipe, describe: `${storage.name}:${key}` } });
  } catch (error) {
    pipe.destroy();
    // What a failed tool wrote is not a backup: it must not look like one.
    if (await stored.then(() => true, () => false)) await storage.delete(key);
    throw error;
  }
  return { object: await stored, result };
}

/** Stores a file that lives beside an instance (a manifest, an info file) under `key`. */
export async function storeFile(instance: InstanceBase, storage: StorageLocation, key: string, path: string): Promise<StoredObject> {
  return (await storeOutput(instance, storage, key, 'cat', [path])).object;
}

/**
 * Copies stored objects into a directory beside an instance in one tar stream (one process,
 * whatever the count: a WAL archive is hundreds of files). Files are named by the last part of
 * their key. Resolves with the names copied.
 */
export async function copyObjectsInto(instance: InstanceBase, storage: StorageLocation, keys: readonly string[], dir: string, what: string): Promise<string[]> {
  const pack = tar.pack();
  const names = keys.map((key) => key.slice(key.lastIndexOf('/') + 1));
  const feeding = (async () => {
    for (const [index, key] of keys.entries()) {
      const size = (await storage.stat(key))?.sizeBytes;
      if (size === undefined) throw new BackupDefect('missing', `${key} vanished from "${storage.name}" while it was being fetched`, key);
      const source = await storage.get(key);
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: names[index]!, size, mode: 0o600 }, (error) => (error ? reject(error) : resolve()));
        source.on('error', reject);
        source.pipe(entry as unknown as NodeJS.WritableStream);
      });
    }
    pack.finalize();
  })();
  // The feeder's error surfaces through `feeding`; the tar stream just stops.
  pack.on('error', () => undefined);
  feeding.catch((error: unknown) => pack.destroy(error as Error));
  await instance.claim(dir);
  const stream = Readable.from(pack as unknown as AsyncIterable<Buffer>);
  await instance.run('tar', ['-x', '-C', dir], { stdin: { stream, describe: `${storage.name}:${what} (${keys.length} files)` } });
  await feeding;
  return names;
}
