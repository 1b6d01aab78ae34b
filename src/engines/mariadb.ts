import type { Connection as CoreConnection } from 'mysql2';
import { createConnection, type Connection, type ResultSetHeader } from 'mysql2/promise';
import { FINGERPRINT_BATCH, type ConnectionInfo, type Engine, type IntegrityResult, type RowFingerprint, type ServerPoint, type SqlSession } from './engine.js';
import { findMariadbInstallation } from './mariadb-binaries.js';
import { MariadbSnapshot, SYSTEM_SCHEMAS } from './mariadb-inventory.js';
import { locateMariadbChanges } from './mariadb-locate.js';
import { DrillSetupError } from '../util/errors.js';
import { mariadbReplication } from './mariadb-replication.js';
import type { ServerProfile } from './server.js';
import { everyTableReadable } from './table-checks.js';

const DATABASE = 'firedrill';
/** Databases every server has; drills never back up, check or count them. */
const NOT_SYSTEM = `NOT IN ${SYSTEM_SCHEMAS}`;
/** The version a container runs when the scenario pins none. */
const DEFAULT_IMAGE_VERSION = '10.11';

// MariaDB has no shared advisory locks. The barrier is one row: workload transactions read it
// LOCK IN SHARE MODE first thing, the exclusive side reads it FOR UPDATE. InnoDB queues a new
// shared request behind a waiting exclusive one, so the exclusive side is not starved.
const BARRIER_TABLE = `\`${DATABASE}\`.firedrill_barrier`;

/** Microseconds since the epoch of a DATETIME(6) written in a UTC session (every session firedrill opens is). */
const micros = (expression: string) => `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${expression})`;

/** A binlog coordinate: file and byte offset. */
export interface BinlogPosition {
  file: string;
  pos: number;
}

/** `binlog.000003:1234`, the form ServerPoint.position takes on MariaDB. */
export function formatBinlogPosition(position: BinlogPosition): string {
  return `${position.file}:${position.pos}`;
}

export function parseBinlogPosition(text: string): BinlogPosition {
  const match = /^(.+):(\d+)$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a binlog position (file:offset)`);
  return { file: match[1]!, pos: Number(match[2]) };
}

/**
 * The first GTID a session wrote after `before` (the server's @@gtid_binlog_pos) when its last
 * one is `last`: sequence numbers grow by one per transaction in a domain, and nothing else
 * commits while the barrier is held. A fault of several transactions (DDL commits on its own)
 * starts at this one.
 */
export function firstGtidAfter(before: string, last: string): string {
  const [domain, server] = last.split('-');
  const previous = before.split(',').map((gtid) => gtid.trim()).find((gtid) => gtid.startsWith(`${domain}-`));
  const seq = previous ? Number(previous.split('-')[2]) : 0;
  return `${domain}-${server}-${seq + 1}`;
}

/** A driver error, with the SQLSTATE in `code` as the workload expects (class 08: the connection failed). */
class MariadbError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly errno: number | undefined,
    options: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MariadbError';
  }
}

function translate(error: unknown): unknown {
  const driver = error as { sqlState?: string; fatal?: boolean; errno?: number; code?: string; message?: string };
  if (!(error instanceof Error)) return error;
  // mysql2 names errors by symbol (ER_NO_SUCH_TABLE, PROTOCOL_CONNECTION_LOST); a fatal error
  // or a timeout leaves the connection unusable, so the outcome of the statement is unknown.
  const code = driver.sqlState && !driver.fatal ? driver.sqlState : '08006';
  return new MariadbError(`${driver.message}${driver.code ? ` (${driver.code})` : ''}`, code, driver.errno, { cause: error });
}

class MariadbSession implements SqlSession {
  constructor(
    readonly connection: Connection,
    readonly info: ConnectionInfo,
    private readonly timeoutMs: number | undefined,
  ) {}

  /** Every result of a (multi-statement) query: row arrays for SELECTs, headers for the rest. */
  async results(sql: string): Promise<unknown[]> {
    try {
      const [result] = await this.connection.query({ sql, ...(this.timeoutMs ? { timeout: this.timeoutMs } : {}) });
      const parts = result as unknown[];
      // A multi-statement string answers with one entry per statement; a single one with its rows.
      const multi = Array.isArray(parts) && parts.length > 1 && parts.every((part) => Array.isArray(part) || isHeader(part));
      return multi ? parts : [result];
    } catch (error) {
      throw translate(error);
    }
  }

  async query<T>(sql: string): Promise<T[]> {
    const results = await this.results(sql);
    const last = results[results.length - 1];
    return (Array.isArray(last) ? last : []) as T[];
  }

  async *batches<T>(sql: string, size: number): AsyncGenerator<T[]> {
    // The driver pauses the socket while the stream's buffer is full: rows come as they are read.
    // The promise wrapper does not stream; its callback connection (untyped there) does.
    const core = (this.connection as unknown as { connection: CoreConnection }).connection;
    const rows = core.query(sql).stream({ highWaterMark: size })[Symbol.asyncIterator]();
    let ended = false;
    try {
      let batch: T[] = [];
      for (;;) {
        const next = await rows.next().catch((error: unknown) => Promise.reject(translate(error)));
        if (next.done) break;
        batch.push(next.value as T);
        if (batch.length === size) {
          yield batch;
          batch = [];
        }
      }
      ended = true;
      if (batch.length > 0) yield batch;
    } finally {
      // Left early: the rest is read and dropped, or the connection would stay paused on it.
      while (!ended) ended = Boolean((await rows.next().catch(() => ({ done: true }))).done);
    }
  }

  async close(): Promise<void> {
    await this.connection.end().catch(() => this.connection.destroy());
  }
}

function isHeader(part: unknown): part is ResultSetHeader {
  return typeof part === 'object' && part !== null && 'affectedRows' in part && !Array.isArray(part);
}

function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** A table name as given in a scenario (`orders`, `sakila.payment`), quoted part by part. */
function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/** information_schema condition for a scenario's table name; unqualified names are in the session's database. */
function tableCondition(table: string): string {
  const dot = table.indexOf('.');
  const schema = dot < 0 ? 'DATABASE()' : literal(table.slice(0, dot));
  return `TABLE_SCHEMA = ${schema} AND TABLE_NAME = ${literal(dot < 0 ? table : table.slice(dot + 1))}`;
}

async function binlogPosition(session: SqlSession): Promise<string | undefined> {
  const [row] = await session.query<{ File: string; Position: string }>('SHOW MASTER STATUS');
  return row ? formatBinlogPosition({ file: row.File, pos: Number(row.Position) }) : undefined;
}

/** The databases a backup must hold: the drill's own and every one the dataset created (Sakila's `sakila`, `sakila_dojo`). */
export async function userDatabases(session: SqlSession): Promise<string[]> {
  const rows = await session.query<{ name: string }>(`SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME ${NOT_SYSTEM} ORDER BY 1`);
  return rows.map((row) => row.name);
}

async function objectsOf(session: SqlSession, types: string[]): Promise<string[]> {
  const rows = await session.query<{ name: string }>(
    `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name FROM information_schema.TABLES
      WHERE TABLE_SCHEMA ${NOT_SYSTEM} AND TABLE_TYPE IN (${types.map(literal).join(', ')}) ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

/**
 * `--no-defaults` always: /etc/mysql (a system server's config) must never leak into a drill.
 * The server's socket, pid file and temporary files live in the instance's scratch directory.
 */
const server: ServerProfile = {
  serviceUser: 'mysql',
  defaultPort: 3306,
  programDirs: [],
  stopSignal: 'SIGTERM',
  admin: { user: 'root', database: 'mysql' },
  majorOf: (version) => version.split('.').slice(0, 2).join('.'),
  initialize: (paths) => ({
    program: 'mariadb-install-db',
    // normal root authentication: root without a password over TCP, as drills connect.
    args: ['--no-defaults', `--datadir=${paths.data}`, `--tmpdir=${paths.scratch}/tmp`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'],
  }),
  run: (paths, listen, settings) => {
    const all: Record<string, string> = {
      datadir: paths.data,
      port: String(listen.port),
      'bind-address': listen.address,
      socket: `${paths.scratch}/mysqld.sock`,
      'pid-file': `${paths.scratch}/mysqld.pid`,
      // A starting server deletes every #sql* file in its tmpdir, other servers' temporary
      // tables included: of five bootstraps sharing /tmp here, two failed ("Unknown table
      // 'mysql.tmp_user_sys'"). Each instance gets its own.
      tmpdir: `${paths.scratch}/tmp`,
      // Without it every TCP connection waits for a reverse DNS lookup.
      'skip-name-resolve': 'ON',
      'character-set-server': 'utf8mb4',
      ...settings,
    };
    // No --log-error: errors go to stderr, which is the instance's log file.
    return { program: 'mariadbd', args: ['--no-defaults', ...Object.entries(all).map(([key, value]) => `--${key}=${value}`)] };
  },
  networkAccess: (paths) => {
    // root@'%' for clients on other hosts, created at every start (a restored data directory may
    // lack it), and kept out of the binary log so a replica or a replay never sees it.
    const file = `${paths.scratch}/network-clients.sql`;
    return {
      files: [{ path: file, content: "SET sql_log_bin = 0;\nCREATE USER IF NOT EXISTS root@'%';\nGRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;\n" }],
      settings: { 'init-file': file },
    };
  },
};

export const mariadb: Engine = {
  name: 'mariadb',
  displayName: 'MariaDB',
  logName: 'binlog',
  databaseName: DATABASE,
  installHint: 'apt-get install -y mariadb-server mariadb-client mariadb-backup',
  server,
  image: (version) => `mariadb:${version ?? DEFAULT_IMAGE_VERSION}`,
  installation: (version) => findMariadbInstallation(version),
  get replication() {
    return mariadbReplication(mariadb);
  },
  reportedTools: ['mariadbd', 'mariadb', 'mariadb-dump', 'mariadb-binlog', 'mariadb-backup'],

  /**
   * Connection arguments for the client programs, never a password (it goes through MYSQL_PWD).
   * `--no-defaults` comes first, as the programs require: /etc/mysql must not leak in.
   */
  clientArgs: (connection) => ['--no-defaults', '--protocol=TCP', `--host=${connection.host}`, `--port=${connection.port}`, `--user=${connection.user}`],
  clientEnv: (connection) => (connection.password ? { MYSQL_PWD: connection.password } : ({} as Record<string, string>)),
  uri: (connection) => `mysql://${encodeURIComponent(connection.user)}@${connection.host}:${connection.port}/${encodeURIComponent(connection.database)}`,
  sqlClient: (connection) => ({ program: 'mariadb', args: [...mariadb.clientArgs(connection), `--database=${connection.database}`] }),
  // mariadb-dump and mysqldump write SQL text.
  datasetClient: (connection, _head, directory) => {
    if (directory) throw new DrillSetupError(`${directory} is a directory: MariaDB loads SQL files (a mariadb-dump file)`, 'give the dump file, or the directory\'s SQL files one by one');
    return mariadb.sqlClient(connection);
  },

  async connect(connection, options = {}) {
    let client: Connection;
    try {
      client = await createConnection({
        host: connection.host,
        port: connection.port,
        user: connection.user,
        password: connection.password,
        database: connection.database,
        connectTimeout: 5000,
        // The workload sends each transaction as one string (one round trip, like PostgreSQL's simple protocol).
        multipleStatements: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
      });
    } catch (error) {
      throw translate(error);
    }
    // A server killed under the workload emits 'error' on idle connections; the next query reports it.
    client.on('error', () => undefined);
    const session = new MariadbSession(client, connection, options.queryTimeoutMs);
    // NOW(6) is the session's local time: in UTC, DATETIME(6) values are epoch times without DST gaps.
    await session.query(`SET time_zone = '+00:00'`).catch((error: unknown) => {
      client.destroy();
      throw error;
    });
    return session;
  },

  quoteIdent: quoteQualified,
  literal,

  async databaseBytes(session) {
    const [row] = await session.query<{ bytes: string | number | null }>('SELECT COALESCE(SUM(data_length + index_length), 0) AS bytes FROM information_schema.tables WHERE table_schema = DATABASE()');
    return Number(row!.bytes ?? 0);
  },
  async serverVersion(session) {
    const [row] = await session.query<{ version: string }>('SELECT VERSION() AS version');
    return row!.version;
  },

  async createDatabase(session, name) {
    await session.query(`CREATE DATABASE ${quoteIdent(name)} CHARACTER SET utf8mb4`);
  },

  async createDatabaseAs(session, name, charset) {
    // Names, not literals, in this statement: only a plain name (utf8mb4, latin1_swedish_ci) is put in it.
    const plain = (value: string | undefined) => (value && /^\w+$/.test(value) ? value : undefined);
    const [encoding, collation] = [plain(charset.encoding), plain(charset.collation)];
    const declared = `${encoding ? ` CHARACTER SET ${encoding}` : ''}${collation ? ` COLLATE ${collation}` : ''}`;
    if (!declared) return mariadb.createDatabase(session, name);
    try {
      await session.query(`CREATE DATABASE ${quoteIdent(name)}${declared}`);
    } catch {
      // One this server does not know (a newer server's collation): its default, and databaseCharset says so.
      await mariadb.createDatabase(session, name);
    }
  },

  async databaseCharset(session, name) {
    const [row] = await session.query<{ encoding: string; collation: string }>(
      `SELECT DEFAULT_CHARACTER_SET_NAME AS encoding, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${mariadb.literal(name)}`,
    );
    return row ? { encoding: row.encoding, collation: row.collation } : {};
  },

  async listDatabases(session) {
    const rows = await session.query<{ name: string }>(`SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME ${NOT_SYSTEM} ORDER BY 1`);
    return rows.map((row) => row.name);
  },

  async isWritable(session) {
    const [row] = await session.query<{ ro: string }>('SELECT @@read_only AS ro');
    return Number(row!.ro) === 0;
  },

  ledgerDdl() {
    return [
      `CREATE TABLE IF NOT EXISTS firedrill_ledger (
         writer integer NOT NULL,
         seq bigint NOT NULL,
         ref bigint,
         written_at datetime(6) NOT NULL DEFAULT NOW(6),
         PRIMARY KEY (writer, seq),
         -- The equality proof asks "was this row written by the workload?" for every row; without
         -- table statistics (just after crash recovery) MariaDB would answer by scanning the ledger.
         KEY (ref)) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS ${BARRIER_TABLE} (id integer PRIMARY KEY) ENGINE=InnoDB`,
      `INSERT IGNORE INTO ${BARRIER_TABLE} (id) VALUES (1)`,
    ];
  },

  async bulkLoad(session) {
    const [sequence] = await session.query(`SELECT 1 FROM information_schema.ENGINES WHERE ENGINE = 'SEQUENCE' AND SUPPORT IN ('YES', 'DEFAULT')`);
    return {
      // The Sequence engine's seq_1_to_N streams its rows; a server built without it gets a
      // recursive CTE, which materializes them first and stops silently at max_recursive_iterations.
      series: sequence
        ? (first: number, last: number) => `(SELECT seq AS i FROM seq_${first}_to_${last})`
        : (first: number, last: number) => `(WITH RECURSIVE s (i) AS (SELECT ${first} UNION ALL SELECT i + 1 FROM s WHERE i < ${last}) SELECT i FROM s)`,
      // With both checks off InnoDB loads an empty table in bulk (one undo record, indexes built
      // by sorting), and a foreign key is added in place without reading every row again.
      settings: ['SET unique_checks = 0', 'SET foreign_key_checks = 0', ...(sequence ? [] : ['SET max_recursive_iterations = 4294967295'])],
      clusteredOnKey: true,
    };
  },

  async writeTransaction(session, writer, seq, ref, statements) {
    // One round trip. NOW(6) is taken per statement, after the shared barrier was granted.
    const results = await (session as MariadbSession).results(
      [
        'START TRANSACTION',
        `SELECT id FROM ${BARRIER_TABLE} WHERE id = 1 LOCK IN SHARE MODE`,
        ...statements,
        `INSERT INTO firedrill_ledger (writer, seq, ref) VALUES (${writer}, ${seq}, ${ref ?? 'NULL'}) RETURNING ${micros('written_at')} AS t`,
        'COMMIT',
      ].join(';\n'),
    );
    const inserted = results[results.length - 2] as Array<{ t: string }>;
    return Number(inserted[0]!.t);
  },

  async recover(session) {
    await session.query('ROLLBACK').catch(() => undefined);
  },

  async readLedger(session) {
    const rows = await session.query<{ writer: number; seq: string; t: string }>(`SELECT writer, seq, ${micros('written_at')} AS t FROM firedrill_ledger`);
    return rows.map((row) => ({ writer: Number(row.writer), seq: Number(row.seq), serverTimeUs: Number(row.t) }));
  },

  async holdBarrier(session) {
    await session.query('START TRANSACTION');
    await session.query(`SELECT id FROM ${BARRIER_TABLE} WHERE id = 1 FOR UPDATE`);
    return async () => {
      await session.query('ROLLBACK');
    };
  },

  async faultTransaction(session, damage, atPoint) {
    // The barrier is held from a second connection: DDL (DROP TABLE, TRUNCATE) commits the
    // open transaction implicitly, which would release a barrier held by the fault's own.
    const barrier = await mariadb.connect((session as MariadbSession).info);
    try {
      const release = await mariadb.holdBarrier(barrier);
      try {
        // While the barrier is held nothing else commits: the binlog's end is where the
        // fault's first event group will start, the exact stop position for a replay.
        const [before] = await session.query<{ t: string; gtids: string }>(`SELECT ${micros('NOW(6)')} AS t, @@gtid_binlog_pos AS gtids`);
        const position = await binlogPosition(session);
        await atPoint?.();
        await session.query('START TRANSACTION');
        try {
          await damage(session);
          await session.query('COMMIT');
        } catch (error) {
          await session.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        const [after] = await session.query<{ last: string }>('SELECT @@last_gtid AS last');
        const transaction = after!.last ? firstGtidAfter(before!.gtids, after!.last) : undefined;
        return { serverTimeUs: Number(before!.t), ...(position ? { position } : {}), ...(transaction ? { transaction } : {}) };
      } finally {
        await release();
      }
    } finally {
      await barrier.close();
    }
  },

  async currentPoint(session): Promise<ServerPoint> {
    const [row] = await session.query<{ t: string }>(`SELECT ${micros('NOW(6)')} AS t`);
    const position = await binlogPosition(session);
    return { serverTimeUs: Number(row!.t), ...(position ? { position } : {}) };
  },

  // MariaDB has no DROP/TRUNCATE ... CASCADE: a careless migration switches the checks off.
  dropTableSql(table) {
    return ['SET FOREIGN_KEY_CHECKS = 0', `DROP TABLE ${quoteQualified(table)}`, 'SET FOREIGN_KEY_CHECKS = 1'];
  },

  truncateSql(table) {
    return ['SET FOREIGN_KEY_CHECKS = 0', `TRUNCATE TABLE ${quoteQualified(table)}`, 'SET FOREIGN_KEY_CHECKS = 1'];
  },

  async dataFileOf(session, table) {
    const dot = table.indexOf('.');
    const [row] = await session.query<{ db: string; size: string; per_table: string }>(`SELECT DATABASE() AS db, @@innodb_page_size AS size, @@innodb_file_per_table AS per_table`);
    if (Number(row!.per_table) !== 1) throw new Error('innodb_file_per_table is off: the table has no data file of its own to damage');
    const [schema, name] = dot < 0 ? [row!.db, table] : [table.slice(0, dot), table.slice(dot + 1)];
    // Page 3 of a file-per-table tablespace is the root of the clustered index: the table's rows.
    return { path: `${schema}/${name}.ibd`, pageBytes: Number(row!.size), dataPage: 3 };
  },

  locateChanges: (instance, session, table, change) => locateMariadbChanges(instance, session, table, change),

  listTables: (session) => objectsOf(session, ['BASE TABLE']),

  async tableExists(session, table) {
    const [row] = await session.query<{ n: string }>(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE ${tableCondition(table)}`);
    return Number(row!.n) > 0;
  },

  async *rowFingerprints(session, table) {
    const columns = await session.query<{ name: string; key: string }>(
      `SELECT COLUMN_NAME AS name, COLUMN_KEY AS \`key\` FROM information_schema.COLUMNS WHERE ${tableCondition(table)} ORDER BY ORDINAL_POSITION`,
    );
    const keyColumns = await session.query<{ name: string }>(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE WHERE ${tableCondition(table)} AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
    );
    // QUOTE() spells NULL as an unquoted NULL and escapes binary data, so every row hashes unambiguously.
    const hash = `MD5(CONCAT_WS(',', ${columns.map((column) => `QUOTE(${quoteIdent(column.name)})`).join(', ')}))`;
    // JSON_ARRAY matches PostgreSQL's json_build_array text (`[1000010042]`, `[7, 2]`); as CHAR,
    // because the driver parses a JSON-typed column into an array, and arrays are not Map keys.
    const key = keyColumns.length > 0 ? `CAST(JSON_ARRAY(${keyColumns.map((column) => quoteIdent(column.name)).join(', ')}) AS CHAR)` : hash;
    // As BINARY: ordered by the key's bytes (utf8mb4, the UTF-8 of it), not by a collation.
    yield* session.batches<RowFingerprint>(`SELECT ${key} AS \`key\`, ${hash} AS hash FROM ${quoteQualified(table)} ORDER BY CAST(${key} AS BINARY)`, FINGERPRINT_BATCH);
  },

  // CHECK TABLE in integrityChecks reads every table and index already.
  deepChecks: async () => [],
  // Collations are compiled into the server, not taken from the host's C library: nothing here can differ from where the backup was taken.
  localeChecks: async () => [],

  async integrityChecks(session) {
    const results: IntegrityResult[] = [];
    // CHECK TABLE reads every page of a table's indexes; on a view it checks the view still
    // resolves (a restore that lost a table a view needs fails here, not in production).
    const objects = await objectsOf(session, ['BASE TABLE', 'VIEW']);
    const problems: string[] = [];
    if (objects.length > 0) {
      const rows = await session.query<{ Table: string; Msg_type: string; Msg_text: string }>(`CHECK TABLE ${objects.map(quoteQualified).join(', ')}`);
      for (const row of rows) {
        const bad = row.Msg_type === 'error' || (row.Msg_type === 'status' && !['OK', 'Table is already up to date'].includes(row.Msg_text));
        if (bad) problems.push(`${row.Table}: ${row.Msg_text}`);
      }
    }
    results.push({ name: 'CHECK TABLE', passed: problems.length === 0, detail: problems.length === 0 ? `${objects.length} tables and views OK` : problems.join('; ') });

    results.push(await everyTableReadable(mariadb, session));
    results.push(await autoIncrementsAhead(session));
    return results;
  },

  async durability(session) {
    const [row] = await session.query<{ flush: string; sync: string }>('SELECT @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync');
    switch (Number(row!.flush)) {
      case 0:
        return { processCrash: 'may be lost', note: 'innodb_flush_log_at_trx_commit=0: the redo log is written about once a second; a crash of the server process loses up to a second of acknowledged commits' };
      case 2:
        return {
          processCrash: 'survives',
          note: 'innodb_flush_log_at_trx_commit=2: each commit is written to the OS, flushed about once a second; a crash of the server process loses nothing (the OS holds it), a power loss or kernel crash could lose up to a second',
        };
      default:
        return { processCrash: 'survives', note: `innodb_flush_log_at_trx_commit=1, sync_binlog=${row!.sync}: an acknowledged commit is in the redo log on disk; a crash loses nothing acknowledged` };
    }
  },

  async readOnlyValue(session, sql) {
    await session.query('START TRANSACTION READ ONLY');
    try {
      const rows = await session.query<Record<string, unknown>>(sql);
      const first = rows[0] ? Object.values(rows[0])[0] : undefined;
      return first === undefined || first === null ? null : String(first);
    } finally {
      await session.query('ROLLBACK').catch(() => undefined);
    }
  },

  async openSnapshot(connection) {
    return MariadbSnapshot.open(await mariadb.connect(connection), `\`${DATABASE}\`.firedrill_ledger`);
  },
};

/** Every AUTO_INCREMENT counter is past its column's largest value, or the next insert collides with a restored row. */
async function autoIncrementsAhead(session: SqlSession): Promise<IntegrityResult> {
  const tables = await session.query<{ tbl: string; col: string; next: string | null }>(
    `SELECT CONCAT('\`', t.TABLE_SCHEMA, '\`.\`', t.TABLE_NAME, '\`') AS tbl, CONCAT('\`', c.COLUMN_NAME, '\`') AS col, t.AUTO_INCREMENT AS next
       FROM information_schema.TABLES t JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
      WHERE c.EXTRA LIKE '%auto_increment%' AND t.TABLE_SCHEMA ${NOT_SYSTEM} AND t.TABLE_TYPE = 'BASE TABLE'`,
  );
  const behind: string[] = [];
  for (const { tbl, col, next } of tables) {
    if (next === null) continue;
    const [row] = await session.query<{ max: string | null }>(`SELECT MAX(${col}) AS max FROM ${tbl}`);
    if (row!.max !== null && BigInt(next) <= BigInt(row!.max)) behind.push(`${tbl} would hand out ${next}, but ${col} already holds ${row!.max}`);
  }
  return { name: 'auto-increment counters ahead of their columns', passed: behind.length === 0, detail: behind.length === 0 ? `${tables.length} counters checked` : behind.join('; '), finding: 'sequence-behind' };
}
