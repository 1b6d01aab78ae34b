import { workloadId, type Dataset, type LoadContext } from './dataset.js';

/**
 * A user's own schema and data as SQL files, loaded with the engine's client. The workload
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

  /** Each file through the engine's own client beside the server, stopping at the first error. */
  async load({ engine, instance }: LoadContext): Promise<void> {
    const connection = { ...instance.localConnection, database: engine.databaseName };
    const client = engine.sqlClient(connection);
    for (const file of this.files) await instance.run(client.program, client.args, { stdin: { file }, env: engine.clientEnv(connection) });
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
