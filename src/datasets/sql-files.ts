import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InstanceBase } from '../providers/provider.js';
import { workloadId, type Dataset, type LoadContext } from './dataset.js';

/** A file's first bytes, which say what kind of dump it is. */
async function head(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(16), 0, 16, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * A directory of this machine's copied beside a server (into its container, on the docker
 * provider), for a tool that reads it by path: a directory-format dump. Returns the copy's path.
 */
export async function copyBeside(instance: InstanceBase, dir: string): Promise<string> {
  const copy = join(instance.paths.scratch, 'dataset', basename(dir));
  await instance.claim(copy);
  for (const name of await readdir(dir)) await instance.writeFile(join(copy, name), await readFile(join(dir, name)));
  return copy;
}

/**
 * A user's own schema and data as SQL files (or a PostgreSQL custom- or directory-format dump), loaded with the engine's client. The workload
 * writes the ledger, plus the scenario's `workload.statements` templates if given:
 * `{id}` (unique per write; use it as the leading key of rows you insert, so damage to them
 * can be matched with lost writes), `{writer}`, `{seq}`, `{random}` (0 – 999,999,999, seeded).
 */
export class SqlFilesDataset implements Dataset {
  constructor(
    private readonly files: readonly string[],
    private readonly templates: readonly string[],
  ) {}

  describe(): string {
    return `SQL files: ${this.files.join(', ')}`;
  }

  /**
   * Each file through the engine's own client beside the server (a SQL client, or the restore
   * tool of a dump), stopping at the first error. A directory (a directory-format dump) is read
   * by its path, not from stdin, so it is copied beside the server first: a container sees
   * none of this machine's files.
   */
  async load({ engine, instance }: LoadContext): Promise<void> {
    const connection = { ...instance.localConnection, database: engine.databaseName };
    const env = engine.clientEnv(connection);
    for (const file of this.files) {
      if (!(await stat(file)).isDirectory()) {
        const client = engine.datasetClient(connection, await head(file));
        await instance.run(client.program, client.args, { stdin: { file }, env });
        continue;
      }
      const copy = await copyBeside(instance, file);
      const toc = join(file, 'toc.dat');
      const client = engine.datasetClient(connection, await head(toc).catch(() => Buffer.alloc(0)), copy);
      await instance.run(client.program, client.args, { env });
    }
  }

  /** The files' contents, in order (a directory's files by name): the client loads nothing else. */
  async identity(): Promise<string> {
    const hash = createHash('sha256');
    for (const file of this.files) {
      const names = (await stat(file)).isDirectory() ? (await readdir(file)).sort().map((name) => join(file, name)) : [file];
      for (const name of names) {
        hash.update(`${basename(name)}\0`);
        for await (const chunk of createReadStream(name)) hash.update(chunk as Buffer);
      }
    }
    return JSON.stringify({ dataset: 'sql-files', sha256: hash.digest('hex') });
  }

  write(writer: number, seq: number, random: () => number) {
    const id = workloadId(writer, seq);
    const values: Record<string, string> = { id: String(id), writer: String(writer), seq: String(seq) };
    const statements = this.templates.map((template) =>
      template.replace(/\{(id|writer|seq|random)\}/g, (_, name: string) => values[name] ?? String(Math.floor(random() * 1_000_000_000))),
    );
    return { statements, ref: this.templates.length > 0 ? id : null };
  }
}
