import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { from as copyFrom } from 'pg-copy-streams';
import { FINGERPRINT_BATCH, type ConnectionInfo, type DatabaseCharset, type Engine, type IntegrityResult, type RowFingerprint, type ServerPoint, type SqlSession } from './engine.js';
import { DrillSetupError } from '../util/errors.js';
import { findPostgresInstallation } from './postgres-binaries.js';
import { PostgresSnapshot } from './postgres-inventory.js';
import { locatePostgresChanges } from './postgres-locate.js';
import { postgresReplication } from './postgres-replication.js';
import type { ServerProfile } from './server.js';
import { everyTableReadable } from './table-checks.js';

// Workload transactions take this advisory lock in shared mode; backups and faults take it
// exclusively for an instant, which splits the writes exactly into before and after.
const BARRIER_KEY = 7_310_001;
const SERVER_TIME_US = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`;
/** The version a container runs when the scenario pins none. */
const DEFAULT_IMAGE_VERSION = '16';

class PgSession implements SqlSession {
  constructor(readonly client: pg.Client) {}

  async query<T>(sql: string): Promise<T[]> {
    const result = (await this.client.query(sql)) as pg.QueryResult | pg.QueryResult[];
    // A multi-statement string answers with one result per statement; the last one carries the rows.
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    return (last?.rows ?? []) as T[];
  }

  async *batches<T>(sql: string, size: number): AsyncGenerator<T[]> {
    // A portal read `size` rows per round trip: the server keeps the rest.
    const cursor = this.client.query(new Cursor<T>(sql));
    try {
      for (let rows = await cursor.read(size); rows.length > 0; rows = await cursor.read(size)) yield rows;
    } finally {
      await cursor.close().catch(() => undefined);
    }
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

/** Lines that let the host and other containers connect; initdb -A trust only trusts loopback. */
const NETWORK_HBA = ['host all all all trust', 'host replication all all trust'];

const server: ServerProfile = {
  serviceUser: 'postgres',
  defaultPort: 5432,
  programDirs: ['/usr/lib/postgresql/*/bin'],
  // SIGINT is fast shutdown: roll back sessions, checkpoint, exit.
  stopSignal: 'SIGINT',
  admin: { user: 'postgres', database: 'postgres' },
  majorOf: (version) => version.split('.')[0]!,
  initialize: (paths) => ({
    program: 'initdb',
    // --no-sync: the template is copied anyway, and a server's own writes are fsynced as configured.
    args: ['-D', paths.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--data-checksums', '--encoding=UTF8', '--locale=C'],
  }),
  run: (paths, listen, settings) => {
    const all: Record<string, string> = {
      port: String(listen.port),
      listen_addresses: listen.address,
      unix_socket_directories: paths.scratch,
      max_connections: '100',
      max_wal_senders: '10',
      wal_level: 'replica',
      logging_collector: 'off',
      log_line_prefix: '%m [%p] ',
      ...settings,
    };
    return { program: 'postgres', args: ['-D', paths.data, ...Object.entries(all).flatMap(([key, value]) => ['-c', `${key}=${value}`])] };
  },
  networkAccess: (paths) => ({ lines: { file: `${paths.data}/pg_hba.conf`, lines: NETWORK_HBA }, settings: {} }),
};

export const postgres: Engine = {
  name: 'postgres',
  displayName: 'PostgreSQL',
  logName: 'WAL',
  databaseName: 'firedrill',
  installHint: 'apt-get install -y postgresql',
  server,
  image: (version) => `postgres:${version ?? DEFAULT_IMAGE_VERSION}`,
  installation: (version) => findPostgresInstallation(version),
  get replication() {
    return postgresReplication(postgres);
  },
  reportedTools: ['postgres', 'initdb', 'pg_dump', 'pg_restore', 'pg_dumpall', 'pg_basebackup', 'pg_verifybackup', 'pg_waldump', 'pg_amcheck', 'psql'],

  /** libpq host, port and user arguments, never a password (it goes through PGPASSWORD). */
  clientArgs: (connection) => ['-h', connection.host, '-p', String(connection.port), '-U', connection.user],
  clientEnv: (connection) => (connection.password ? { PGPASSWORD: connection.password } : ({} as Record<string, string>)),
  uri: (connection) => `postgresql://${encodeURIComponent(connection.user)}@${connection.host}:${connection.port}/${encodeURIComponent(connection.database)}`,
  sqlClient: (connection) => ({
    program: 'psql',
    args: ['-X', '-q', '-v', 'ON_ERROR_STOP=1', ...postgres.clientArgs(connection), '-d', connection.database],
  }),
  // pg_dump --format=custom starts with "PGDMP": pg_restore reads it from stdin, in one
  // transaction, leaving out the dumped database's owners and grants (no such roles here).
  datasetClient: (connection, head, directory) => {
    const archive = head.subarray(0, 5).toString('latin1') === 'PGDMP';
    if (directory && !archive) throw new DrillSetupError(`${directory} is a directory but not a pg_dump --format=directory dump (no toc.dat)`, 'give a dump directory, a custom-format file or SQL files');
    return archive
      ? { program: 'pg_restore', args: ['--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', ...postgres.clientArgs(connection), '-d', connection.database, ...(directory ? [directory] : [])] }
      : postgres.sqlClient(connection);
  },

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

  async databaseBytes(session) {
    const [row] = await session.query<{ bytes: string }>('SELECT pg_database_size(current_database()) AS bytes');
    return Number(row!.bytes);
  },
  async serverVersion(session) {
    const [row] = await session.query<{ server_version: string }>('SHOW server_version');
    return row!.server_version;
  },

  async createDatabase(session, name) {
    await session.query(`CREATE DATABASE ${quoteIdent(name)}`);
  },

  createDatabaseAs: (session, name, charset) => createDatabaseAs(session, name, charset),
  databaseCharset: (session, name) => databaseCharset(session, name),

  async listDatabases(session) {
    const rows = await session.query<{ name: string }>(`SELECT datname AS name FROM pg_database WHERE datallowconn AND NOT datistemplate AND datname <> 'postgres' ORDER BY 1`);
    return rows.map((row) => row.name);
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

  async bulkLoad() {
    return {
      series: (first: number, last: number) => `(SELECT i FROM generate_series(${first}, ${last}) AS s (i))`,
      settings: [
        // Index builds after the load sort in this memory (the default 64 MB spills a 1 GB table to disk).
        `SET maintenance_work_mem = '256MB'`,
        // A foreign key's check is planned without statistics as a hash join over a scan of both
        // tables; with both keys indexed and the rows frozen by COPY (all-visible, so the indexes
        // answer alone) a merge of the two indexes is a third of the time. The load's other
        // statements read no table (generate_series, COPY, index builds), so nothing else is
        // planned differently under these.
        'SET enable_hashjoin = off',
        'SET enable_seqscan = off',
      ],
      clusteredOnKey: false,
      // COPY inserts a page of rows at a time and writes one WAL record for them, where INSERT …
      // SELECT writes one a row: the same rows in half the time (docs/benchmarks.md). FREEZE:
      // the table is new in this transaction, so no other can see it before the rows are in.
      async copy(session, table, columns, chunks) {
        await pipeline(Readable.from(chunks), (session as PgSession).client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FREEZE)`)));
      },
    };
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

  async faultTransaction(session, damage, atPoint) {
    await session.query('BEGIN');
    try {
      await session.query(`SELECT pg_advisory_xact_lock(${BARRIER_KEY})`);
      const [point] = await session.query<{ t: string; lsn: string; xid: string }>(
        `SELECT ${SERVER_TIME_US} AS t, pg_current_wal_insert_lsn()::text AS lsn, txid_current()::text AS xid`,
      );
      await atPoint?.();
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

  async dataFileOf(session, table) {
    const [row] = await session.query<{ path: string; size: string }>(
      `SELECT pg_relation_filepath(${postgres.literal(quoteQualified(table))}::regclass) AS path, current_setting('block_size') AS size`,
    );
    // Block 0 of the heap holds rows; any changed byte fails its checksum when it is read.
    return { path: row!.path, pageBytes: Number(row!.size), dataPage: 0 };
  },

  async locateChanges(instance, session, table, change) {
    const { path } = await postgres.dataFileOf(session, table);
    return locatePostgresChanges(instance, session, path, change);
  },

  async listTables(session) {
    // Materialized views too: a restore can lose their contents as well as a table's.
    const rows = await session.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%'
          AND (c.relkind <> 'm' OR c.relispopulated) ORDER BY 1`,
    );
    return rows.map((row) => row.name);
  },

  async tableExists(session, table) {
    const [row] = await session.query<{ found: boolean }>(`SELECT to_regclass(${postgres.literal(quoteQualified(table))}) IS NOT NULL AS found`);
    return row!.found;
  },

  async *rowFingerprints(session, table) {
    const qualified = quoteQualified(table);
    const keyColumns = await session.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = ${postgres.literal(qualified)}::regclass AND i.indisprimary ORDER BY a.attnum`,
    );
    const key = keyColumns.length > 0 ? `json_build_array(${keyColumns.map((c) => `t.${quoteIdent(c.attname)}`).join(', ')})::text` : 'md5(t::text)';
    // COLLATE "C" orders by the bytes, which in a UTF8 database are the key's UTF-8.
    yield* session.batches<RowFingerprint>(`SELECT f.key, f.hash FROM (SELECT ${key} AS key, md5(t::text) AS hash FROM ${qualified} t) f ORDER BY f.key COLLATE "C"`, FINGERPRINT_BATCH);
  },

  async durability(session) {
    const [row] = await session.query<{ fsync: string; sc: string; delay: string }>(
      `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc, current_setting('wal_writer_delay') AS delay`,
    );
    if (row!.sc === 'off') {
      return {
        processCrash: 'may be lost',
        note: `synchronous_commit=off: a commit is acknowledged before its WAL is written; a crash of the server's processes loses what the WAL writer had not written yet (it writes every ${row!.delay}, up to three rounds behind)`,
      };
    }
    if (row!.fsync === 'off') {
      return { processCrash: 'survives', note: 'fsync=off: a crash of the server\'s processes loses nothing (the OS holds what was written), but a power loss or kernel crash could lose or corrupt anything' };
    }
    return { processCrash: 'survives', note: `synchronous_commit=${row!.sc}, fsync=on: an acknowledged commit is on disk; a crash loses nothing acknowledged` };
  },

  async readOnlyValue(session, sql) {
    await session.query('BEGIN READ ONLY');
    try {
      const rows = await session.query<Record<string, unknown>>(sql);
      const first = rows[0] ? Object.values(rows[0])[0] : undefined;
      return first === undefined || first === null ? null : String(first);
    } finally {
      await session.query('ROLLBACK').catch(() => undefined);
    }
  },

  async openSnapshot(connection, options = {}) {
    return PostgresSnapshot.open(await postgres.connect(connection), options.importSnapshot);
  },

  async deepChecks(instance, connection) {
    // Exit 0: nothing corrupt; 2: corruption found (each on stdout); anything else: it could not check.
    const { exitCode, stdout, stderr } = await instance.run(
      'pg_amcheck',
      ['--install-missing', '--heapallindexed', ...postgres.clientArgs(connection), `--database=${connection.database}`],
      { allowFailure: true, env: postgres.clientEnv(connection) },
    );
    const detail = (stdout.trim() || stderr.trim()).split('\n').slice(0, 5).join('\n');
    return [{ name: 'pg_amcheck', passed: exitCode === 0, value: exitCode === 0 ? 'every table and B-tree index' : `exit ${exitCode}`, detail: exitCode === 0 ? 'heap pages and index entries read; every heap tuple found in its indexes' : detail }];
  },

  localeChecks: (connection) => localeChecks(connection),

  async integrityChecks(session) {
    // With data checksums on, a damaged page fails the full read instead of returning garbage.
    const results: IntegrityResult[] = [await everyTableReadable(postgres, session)];
    const [checksums] = await session.query<{ checksum_failures: string | null }>(
      `SELECT coalesce(sum(checksum_failures), 0)::text AS checksum_failures FROM pg_stat_database`,
    );
    results.push({ name: 'no checksum failures', passed: checksums!.checksum_failures === '0', detail: `${checksums!.checksum_failures} checksum failures` });
    results.push(await sequencesAhead(session));
    return results;
  },
};

/**
 * Every sequence that feeds a column is past that column's largest value: a sequence behind
 * its column (a restore that lost its setval) makes the next insert collide with a restored row.
 */
async function sequencesAhead(session: SqlSession): Promise<IntegrityResult> {
  const owned = await session.query<{ seq: string; tbl: string; col: string }>(
    `SELECT format('%I.%I', sn.nspname, s.relname) AS seq, format('%I.%I', tn.nspname, t.relname) AS tbl, quote_ident(a.attname) AS col
       FROM pg_depend d
       JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)`,
  );
  const behind: string[] = [];
  for (const { seq, tbl, col } of owned) {
    const [row] = await session.query<{ last: string | null; called: boolean; max: string | null }>(
      `SELECT s.last_value::text AS last, s.is_called AS called, (SELECT max(${col})::text FROM ${tbl}) AS max FROM ${seq} s`,
    );
    if (row!.max === null) continue;
    const next = BigInt(row!.last ?? '0') + (row!.called ? 1n : 0n);
    if (next <= BigInt(row!.max)) behind.push(`${seq} would hand out ${next}, but ${tbl}.${col} already holds ${row!.max}`);
  }
  return {
    name: 'sequences ahead of their columns',
    passed: behind.length === 0,
    detail: behind.length > 0 ? behind.join('; ') : owned.length === 0 ? 'no sequence feeds a column here' : `${owned.length} sequences checked`,
    finding: 'sequence-behind',
  };
}

/**
 * CREATE DATABASE with a backup's encoding and locale, as far as this server can. A libc locale
 * the host lacks (`en_US.UTF-8` on a minimal image) fails the first statement; the encoding alone
 * with the C locale (which takes any encoding) comes next; the server's default last. Template0,
 * because template1's encoding and locale may differ from the ones asked for.
 */
async function createDatabaseAs(session: SqlSession, name: string, charset: DatabaseCharset): Promise<void> {
  const encoding = charset.encoding ? ` ENCODING ${postgres.literal(charset.encoding)}` : '';
  const locale = [
    ...(charset.collation ? [`LC_COLLATE ${postgres.literal(charset.collation)}`] : []),
    ...(charset.ctype ? [`LC_CTYPE ${postgres.literal(charset.ctype)}`] : []),
    ...(charset.icuLocale ? [`LOCALE_PROVIDER icu ICU_LOCALE ${postgres.literal(charset.icuLocale)}`] : []),
  ].join(' ');
  const attempts = [
    ...(locale ? [`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${encoding} ${locale}`] : []),
    ...(encoding ? [`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${encoding} LOCALE 'C'`] : []),
    `CREATE DATABASE ${quoteIdent(name)}`,
  ];
  for (const [index, sql] of attempts.entries()) {
    try {
      await session.query(sql);
      return;
    } catch (error) {
      // A locale or encoding this server refuses is SQLSTATE class 22 (or 42 for syntax an older server lacks); anything else is no locale problem.
      const code = String((error as { code?: string }).code ?? '');
      if (index === attempts.length - 1 || !/^(22|42)/.test(code)) throw error;
    }
  }
}

async function databaseCharset(session: SqlSession, name: string): Promise<DatabaseCharset> {
  // Through to_jsonb: the ICU columns are new in 15 (daticulocale) and renamed in 17 (datlocale).
  const [row] = await session.query<{ encoding: string; collate: string; ctype: string; provider: string | null; icu: string | null }>(
    `SELECT pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS collate, d.datctype AS ctype, to_jsonb(d) ->> 'datlocprovider' AS provider,
            coalesce(to_jsonb(d) ->> 'daticulocale', to_jsonb(d) ->> 'datlocale') AS icu
       FROM pg_database d WHERE d.datname = ${postgres.literal(name)}`,
  );
  if (!row) return {};
  return { encoding: row.encoding, collation: row.collate, ctype: row.ctype, ...(row.provider === 'i' && row.icu ? { icuLocale: row.icu } : {}) };
}

/** A connection refused because the database's locale is not on this host. */
const LOCALE_MISSING = /locale is incompatible with operating system|not recognized by setlocale/;

/**
 * Every database of a physically restored cluster, as this host can serve it: each one accepts
 * a connection (PostgreSQL refuses one whose LC_COLLATE or LC_CTYPE the host lacks), and each
 * collation version recorded when it was created (PostgreSQL 15 on) is the one the host's
 * library has now. Text indexes are ordered by the library that built them: a newer glibc or
 * ICU sorts some strings differently, and lookups then miss rows that are there.
 */
async function localeChecks(connection: ConnectionInfo): Promise<IntegrityResult[]> {
  const session = await postgres.connect(connection);
  let databases: Array<{ name: string; collate: string; ctype: string; recorded: string | null; actual: string | null }>;
  try {
    const [version] = await session.query<{ num: string }>(`SELECT current_setting('server_version_num') AS num`);
    const versions = Number(version!.num) >= 150000;
    databases = await session.query(
      `SELECT datname AS name, datcollate AS collate, datctype AS ctype, ${versions ? 'datcollversion AS recorded, pg_database_collation_actual_version(oid) AS actual' : 'NULL AS recorded, NULL AS actual'}
         FROM pg_database WHERE datallowconn ORDER BY 1`,
    );
  } finally {
    await session.close();
  }
  const unavailable: string[] = [];
  for (const database of databases) {
    try {
      await (await postgres.connect({ ...connection, database: database.name })).close();
    } catch (error) {
      if (!LOCALE_MISSING.test((error as Error).message)) throw error;
      unavailable.push(`${database.name} (LC_COLLATE ${database.collate}, LC_CTYPE ${database.ctype})`);
    }
  }
  const drifted = databases.filter((database) => database.recorded !== null && database.recorded !== database.actual);
  return [
    {
      name: 'database locales on this host',
      passed: unavailable.length === 0,
      detail:
        unavailable.length === 0
          ? `${databases.length} databases accept connections`
          : `${unavailable.join(', ')}: the locale is not installed where this backup was restored, so the server refuses connections to ${unavailable.length > 1 ? 'them' : 'it'}. Install the locale on every host you restore to (locale-gen, or the image's locales package)`,
      finding: 'collation-mismatch',
    },
    {
      name: 'collation versions',
      passed: drifted.length === 0,
      detail:
        drifted.length === 0
          ? 'every database sorts text with the collation version it was built with'
          : `${drifted.map((database) => `${database.name} was built with collation version ${database.recorded}, this host has ${database.actual ?? 'none'}`).join('; ')}: its text indexes may be out of order here (lookups can miss rows). Restore onto the same OS and library versions, or run REINDEX DATABASE and then ALTER DATABASE … REFRESH COLLATION VERSION`,
      finding: 'collation-mismatch',
    },
  ];
}
