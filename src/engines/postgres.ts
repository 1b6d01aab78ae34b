import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import type { ConnectionInfo, Engine, IntegrityResult, ServerPoint, SqlSession, ToolContext, ToolInfo } from './engine.js';
import { findPostgresBinaries } from './postgres-binaries.js';
import { everyTableReadable } from './table-checks.js';

const execFileAsync = promisify(execFile);

// Workload transactions take this advisory lock in shared mode; backups and faults take it
// exclusively for an instant, which splits the writes exactly into before and after.
const BARRIER_KEY = 7_310_001;
const SERVER_TIME_US = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`;

class PgSession implements SqlSession {
  constructor(readonly client: pg.Client) {}

  async query<T>(sql: string): Promise<T[]> {
    const result = (await this.client.query(sql)) as pg.QueryResult | pg.QueryResult[];
    // A multi-statement string answers with one result per statement; the last one carries the rows.
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    return (last?.rows ?? []) as T[];
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A table name as given in a scenario (`orders`, `public.orders`), quoted part by part. */
function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

export const postgres: Engine = {
  name: 'postgres',
  displayName: 'PostgreSQL',
  serviceUserName: 'postgres',
  databaseName: 'firedrill',
  installHint: 'apt-get install -y postgresql',

  async connect(connection: ConnectionInfo, options = {}): Promise<SqlSession> {
    const client = new pg.Client({
      host: connection.host,
      port: connection.port,
      user: connection.user,
      password: connection.password,
      database: connection.database,
      connectionTimeoutMillis: 5000,
      ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
    });
    // A server killed under the workload emits 'error' on idle clients; the next query reports it.
    client.on('error', () => undefined);
    await client.connect();
    return new PgSession(client);
  },

  quoteIdent: quoteQualified,

  literal(value: string): string {
    return `'${value.replaceAll("'", "''")}'`;
  },

  async serverVersion(session) {
    const [row] = await session.query<{ server_version: string }>('SHOW server_version');
    return row!.server_version;
  },

  async createDatabase(session, name) {
    await session.query(`CREATE DATABASE ${quoteIdent(name)}`);
  },

  async isWritable(session) {
    const [row] = await session.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering');
    return !row!.recovering;
  },

  ledgerDdl() {
    return [
      `CREATE TABLE IF NOT EXISTS firedrill_ledger (
         writer integer NOT NULL,
         seq bigint NOT NULL,
         ref bigint,
         written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
         PRIMARY KEY (writer, seq))`,
    ];
  },

  async writeTransaction(session, writer, seq, ref, statements) {
    // One round trip: the simple query protocol runs the whole string, and BEGIN/COMMIT inside
    // it make one transaction. The ledger row's time is the server's, taken behind the barrier.
    const sql = [
      'BEGIN',
      `SELECT pg_advisory_xact_lock_shared(${BARRIER_KEY})`,
      ...statements,
      `INSERT INTO firedrill_ledger (writer, seq, ref) VALUES (${writer}, ${seq}, ${ref ?? 'NULL'}) RETURNING (extract(epoch from written_at) * 1000000)::bigint AS t`,
      'COMMIT',
    ].join(';\n');
    const result = (await (session as PgSession).client.query(sql)) as unknown as pg.QueryResult[];
    const insert = result[result.length - 2]!;
    return Number(insert.rows[0].t);
  },

  async recover(session) {
    await session.query('ROLLBACK').catch(() => undefined);
  },

  async readLedger(session) {
    const rows = await session.query<{ writer: number; seq: string; t: string }>(
      'SELECT writer, seq, (extract(epoch from written_at) * 1000000)::bigint AS t FROM firedrill_ledger',
    );
    return rows.map((row) => ({ writer: row.writer, seq: Number(row.seq), serverTimeUs: Number(row.t) }));
  },

  async holdBarrier(session) {
    await session.query(`SELECT pg_advisory_lock(${BARRIER_KEY})`);
    return async () => {
      await session.query(`SELECT pg_advisory_unlock(${BARRIER_KEY})`);
    };
  },

  async faultTransaction(session, damage) {
    await session.query('BEGIN');
    try {
      await session.query(`SELECT pg_advisory_xact_lock(${BARRIER_KEY})`);
      const [point] = await session.query<{ t: string; lsn: string; xid: string }>(
        `SELECT ${SERVER_TIME_US} AS t, pg_current_wal_insert_lsn()::text AS lsn, txid_current()::text AS xid`,
      );
      await damage(session);
      await session.query('COMMIT');
      return { serverTimeUs: Number(point!.t), position: point!.lsn, transaction: point!.xid };
    } catch (error) {
      await session.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  },

  async currentPoint(session): Promise<ServerPoint> {
    const [row] = await session.query<{ t: string; lsn: string }>(`SELECT ${SERVER_TIME_US} AS t, pg_current_wal_insert_lsn()::text AS lsn`);
    return { serverTimeUs: Number(row!.t), position: row!.lsn };
  },

  dropTableSql(table) {
    // CASCADE drops the foreign keys that point at the table, as a careless migration would.
    return [`DROP TABLE ${quoteQualified(table)} CASCADE`];
  },

  truncateSql(table) {
    return [`TRUNCATE ${quoteQualified(table)} CASCADE`];
  },

  async listTables(session) {
    const rows = await session.query<{ name: string }>(
      `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    return rows.map((row) => row.name);
  },

  async tableExists(session, table) {
    const [row] = await session.query<{ found: boolean }>(`SELECT to_regclass(${postgres.literal(quoteQualified(table))}) IS NOT NULL AS found`);
    return row!.found;
  },

  async rowFingerprints(session, table) {
    const qualified = quoteQualified(table);
    const keyColumns = await session.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = ${postgres.literal(qualified)}::regclass AND i.indisprimary ORDER BY a.attnum`,
    );
    const key = keyColumns.length > 0 ? `json_build_array(${keyColumns.map((c) => `t.${quoteIdent(c.attname)}`).join(', ')})::text` : 'md5(t::text)';
    const rows = await session.query<{ k: string; h: string }>(`SELECT ${key} AS k, md5(t::text) AS h FROM ${qualified} t`);
    return new Map(rows.map((row) => [row.k, row.h]));
  },

  async integrityChecks(session) {
    // With data checksums on, a damaged page fails the full read instead of returning garbage.
    const results: IntegrityResult[] = [await everyTableReadable(postgres, session)];
    const [checksums] = await session.query<{ checksum_failures: string | null }>(
      `SELECT coalesce(sum(checksum_failures), 0)::text AS checksum_failures FROM pg_stat_database`,
    );
    results.push({ name: 'no checksum failures', passed: checksums!.checksum_failures === '0', detail: `${checksums!.checksum_failures} checksum failures` });
    return results;
  },

  async loadSqlFile(tools: ToolContext, connection, file) {
    const { bindir } = await findPostgresBinaries();
    await tools.exec.run(`${bindir}/psql`, [
      '-X', '-q', '-v', 'ON_ERROR_STOP=1',
      '-h', connection.host, '-p', String(connection.port), '-U', connection.user, '-d', connection.database,
      '-f', file,
    ], { env: connection.password ? { PGPASSWORD: connection.password } : {} });
  },

  async tools(version) {
    const names = ['postgres', 'initdb', 'pg_ctl', 'pg_dump', 'pg_restore', 'pg_dumpall', 'pg_basebackup', 'pg_verifybackup', 'psql', 'pgbench'];
    try {
      const { bindir } = await findPostgresBinaries(version);
      return Promise.all(
        names.map(async (name): Promise<ToolInfo> => {
          const path = `${bindir}/${name}`;
          try {
            const { stdout } = await execFileAsync(path, ['--version']);
            return { name, path, version: stdout.trim() };
          } catch {
            return { name, path, missing: `not found in ${bindir}` };
          }
        }),
      );
    } catch (error) {
      return names.map((name) => ({ name, missing: (error as Error).message }));
    }
  },
};
