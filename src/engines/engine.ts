import type { SchemaObject, TableDigest } from '../measure/equality.js';
import type { StartedInstance, StoppedInstance } from '../providers/provider.js';
import type { CommandRunner } from '../util/exec.js';
import type { Installation, ServerCommand, ServerProfile } from './server.js';

/** How to reach a database server. The password, if any, is a secret: never log it. */
export interface ConnectionInfo {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

/**
 * One open connection. SQL is the engine's own dialect. A failed query rejects with an error
 * whose `code` is the SQLSTATE; class 08 means the connection itself failed, so whether the
 * statement committed is unknown (the workload counts such writes as indeterminate).
 */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * A query's rows `size` at a time, read as they are consumed, so a result of millions of rows
   * never sits in memory whole. Leaving the loop early ends the query. One at a time: any other
   * query on the session waits until this one is read to its end.
   */
  batches<T = Record<string, unknown>>(sql: string, size: number): AsyncIterable<T[]>;
  close(): Promise<void>;
}

/** Rows per batch when a table's fingerprints are read: a few MB of strings at a time. */
export const FINGERPRINT_BATCH = 20_000;

/** One row of a table: its identity (the primary key as a JSON array, or the row's hash without one) and its content hash. */
export interface RowFingerprint {
  key: string;
  hash: string;
}

/** A point in a server's history: its clock, and its log position (LSN, or binlog file:pos and GTID). */
export interface ServerPoint {
  /** Server clock, microseconds since the epoch (clock_timestamp() / NOW(6)). */
  serverTimeUs: number;
  /** PostgreSQL WAL LSN, or MariaDB `binlog-file:position`. */
  position?: string;
  /** PostgreSQL transaction id or MariaDB GTID of the transaction this point belongs to. */
  transaction?: string;
}

/** A change of rows a responder looks for in the server's log to name the bad transaction. */
export type RowChange = 'delete' | 'update';

/** One transaction that changed rows of a table, as the server's own log shows it. */
export interface LocatedTransaction {
  /** PostgreSQL transaction id, or MariaDB GTID: what a point-in-time restore stops before. */
  transaction: string;
  /** Rows of the table it changed (records in the log). */
  rows: number;
  /** Where its commit is (LSN), or where it starts (binlog file:position). */
  position: string;
  /** Its commit time as the log prints it. */
  committed: string;
}

/** What a locate step found, and the stretch of the server's log it read for it. */
export interface LocatedChanges {
  transactions: LocatedTransaction[];
  /** In words, with the positions: `pg_wal from 0/57000000 to 0/8AD62450`. */
  searched: string;
}

/** Facts about a server binary installation, for the journal and doctor. */
export interface ToolInfo {
  name: string;
  path?: string;
  version?: string;
  missing?: string;
}

/** What one check in the verify phase found. */
export interface IntegrityResult {
  name: string;
  passed: boolean;
  /** The result in a few words, when the detail is long (`5 tables`). */
  value?: string;
  detail: string;
  /**
   * The named finding a failure of this check is for `firedrill verify` (`sequence-behind`,
   * `collation-mismatch`), when it means more than "an integrity check failed".
   */
  finding?: string;
}

/** A database's encoding and collation as the server keeps them, or as a backup declares them. */
export interface DatabaseCharset {
  /** PostgreSQL's ENCODING, MariaDB's CHARACTER SET. */
  encoding?: string;
  /** PostgreSQL's LC_COLLATE (or ICU locale), MariaDB's COLLATE. */
  collation?: string;
  /** PostgreSQL's LC_CTYPE. */
  ctype?: string;
  /** PostgreSQL's ICU_LOCALE, for a database whose locale provider is ICU. */
  icuLocale?: string;
}

/**
 * A read-only transaction on the source whose snapshot is one instant: the schema inventory
 * and the content digests taken through it describe the database exactly as of that instant,
 * while the workload goes on writing.
 */
export interface SnapshotSession {
  /** The schema inventory (catalog), read now: call it while nothing else may change the schema. */
  inventory(): Promise<SchemaObject[]>;
  /** Takes the share locks that make DDL on these tables wait until the snapshot is closed. */
  pin(tables: readonly string[]): Promise<void>;
  /** Per-table row counts and content digests, read in the snapshot. */
  digests(tables: readonly SchemaObject[], options: DigestOptions): Promise<TableDigest[]>;
  close(): Promise<void>;
}

/** How far a standby is behind its primary, as the engine can tell it. */
export interface ReplicationLag {
  /** WAL or binlog bytes the standby has not applied yet. */
  bytes: number | null;
  /** Time behind, as the engine reports it (replay lag, Seconds_Behind_Master). */
  ms: number | null;
}

/** Streaming replication: a standby beside the primary, and its promotion. */
export interface Replication {
  /** Settings the primary starts with so a standby can stream from it. */
  primarySettings(): Record<string, string>;
  /**
   * Makes an empty, stopped instance a streaming standby of `primary` (a base copy streamed
   * straight from it, then replication), starts it, and waits until it streams (and, with
   * `sync`, until the primary waits for it on every commit). `delayMs` delays applying.
   */
  createStandby(primary: StartedInstance, standby: StoppedInstance, options: { sync: boolean; delayMs: number; exec: CommandRunner }): Promise<StartedInstance>;
  lag(primary: StartedInstance, standby: StartedInstance): Promise<ReplicationLag>;
  /**
   * Stops replication where asked — just before the fault's transaction (a delayed standby
   * that has not applied it yet), or after everything received — and makes the standby a
   * writable primary. Resolves with the instance (a restart may have replaced the handle).
   */
  /**
   * Makes the standby the primary, with everything it received applied (or, `before`, only up to
   * just before that point). `delayMs`: the standby applies that far behind, which promotion may
   * have to wait out.
   */
  promote(standby: StartedInstance, options: { before?: ServerPoint; delayMs?: number; exec: CommandRunner }): Promise<{ instance: StartedInstance; reached: boolean; detail: string }>;
}

/**
 * How this engine bulk-loads rows generated on the server into new tables, when the rows are
 * consistent by construction (keys unique, references resolved).
 */
export interface BulkLoad {
  /** A derived table of the integers `first` … `last` in a column `i`, to generate rows from in one statement. */
  series(first: number, last: number): string;
  /**
   * Session settings for such a load (memory for index builds, checks the data cannot fail,
   * how to validate foreign keys whose every referencing column has an index).
   */
  settings: string[];
  /**
   * True where a table is stored in its primary key's order (InnoDB), so the key is declared
   * with the table and rows come in key order; false for a heap, where adding the key after
   * the rows builds it by one sort instead of an insert per row.
   */
  clusteredOnKey: boolean;
  /**
   * Where the engine has a faster path than INSERT … SELECT for rows made in this process:
   * streams them into `table`, each chunk whole lines of tab-separated values (no NULLs, no
   * escapes), taken as they are sent so nothing the size of the data is held. The table was
   * created in the session's open transaction, so the engine may write the rows as an old
   * database's are: frozen, visible to every transaction (no hint bits to set on first read).
   */
  copy?(session: SqlSession, table: string, columns: readonly string[], chunks: Iterable<Buffer>): Promise<void>;
}

export interface DigestOptions {
  /** The database holds firedrill's ledger: also digest each table without the rows the workload wrote. */
  ledger: boolean;
  /** Also evaluate each materialized view's query (what a logical restore's REFRESH produces). */
  viewQueries?: boolean;
}

/**
 * Everything that differs between PostgreSQL and MariaDB/MySQL: how the server runs, driver,
 * SQL dialect of the ledger and the barrier, fault points, integrity checks, inventories, tool
 * conventions. Shared code never branches on the engine's name; it asks the engine.
 */
export interface Engine {
  readonly name: EngineName;
  readonly displayName: string;
  /** What its log of changes is called in sentences (`WAL`, `binlog`): what a point-in-time restore replays. */
  readonly logName: string;
  /** The database drills create and load. */
  readonly databaseName: string;
  /** How to install the server and its tools on Debian/Ubuntu, for doctor and error hints. */
  readonly installHint: string;
  /** How the server is initialized and run, for every provider. */
  readonly server: ServerProfile;
  /** Streaming replication, for the standby strategies. */
  readonly replication: Replication;
  /** The official image of a version, for the docker provider (`postgres:15`, `mariadb:10.11`). */
  image(version: string | undefined): string;
  /** The engine's programs on this machine, for the version asked for (or the newest installed). */
  installation(version?: string): Promise<Installation>;
  /** Programs whose `--version` the journal records. */
  readonly reportedTools: readonly string[];

  /** Client-tool arguments that reach a server (host, port, user), never a password. */
  clientArgs(connection: ConnectionInfo): string[];
  /** Environment that carries the password to the client tools. */
  clientEnv(connection: ConnectionInfo): Record<string, string>;
  /** A connection string a person can paste into a client (no password). */
  uri(connection: ConnectionInfo): string;
  /** The SQL client reading statements from stdin, stopping at the first error (psql, mariadb). */
  sqlClient(connection: ConnectionInfo): ServerCommand;
  /**
   * The client that loads one dataset file from stdin, stopping at the first error: SQL text
   * through the SQL client, a dump in the engine's own archive format through its restore tool
   * (`head` is the file's first bytes, which tell them apart). With `directory`, the dataset is
   * a directory beside the server (`head` its table of contents' first bytes), read by path.
   */
  datasetClient(connection: ConnectionInfo, head: Buffer, directory?: string): ServerCommand;

  connect(connection: ConnectionInfo, options?: { queryTimeoutMs?: number }): Promise<SqlSession>;
  quoteIdent(name: string): string;
  /** A string literal in the engine's dialect. */
  literal(value: string): string;
  serverVersion(session: SqlSession): Promise<string>;
  /** The connected database's size in bytes, tables and indexes: what a restore of it brings back. */
  databaseBytes(session: SqlSession): Promise<number>;
  createDatabase(session: SqlSession, name: string): Promise<void>;
  /**
   * Creates a database with the encoding and collation a backup declares, as far as this server
   * can: a locale the host lacks falls back to the engine's neutral one, an encoding it cannot
   * create to its default. `databaseCharset` tells what it got.
   */
  createDatabaseAs(session: SqlSession, name: string, charset: DatabaseCharset): Promise<void>;
  databaseCharset(session: SqlSession, name: string): Promise<DatabaseCharset>;
  /** The databases a restored server holds besides the engine's own (templates, system schemas). */
  listDatabases(session: SqlSession): Promise<string[]>;
  /** False while the server is still in recovery (or read-only). */
  isWritable(session: SqlSession): Promise<boolean>;
  /** Runs a check's SQL in a read-only transaction that is rolled back, and returns the first column of the first row. */
  readOnlyValue(session: SqlSession, sql: string): Promise<string | null>;

  /** DDL that creates the ledger table (idempotent). */
  ledgerDdl(): string[];
  /** How to load a generated dataset in bulk on this server (it may ask the server what it has). */
  bulkLoad(session: SqlSession): Promise<BulkLoad>;
  /**
   * One workload transaction: takes the shared side of the barrier, writes the ledger row
   * and the business statements, commits. Resolves with the server time of the ledger row
   * once the commit is acknowledged.
   */
  writeTransaction(session: SqlSession, writer: number, seq: number, ref: number | null, statements: readonly string[]): Promise<number>;
  /** Rolls back after a failed transaction so the session can be reused. */
  recover(session: SqlSession): Promise<void>;
  /** Every ledger row the database holds. */
  readLedger(session: SqlSession): Promise<Array<{ writer: number; seq: number; serverTimeUs: number }>>;

  /**
   * The exclusive side of the barrier: waits for in-flight workload transactions to commit
   * and holds new ones back, so a point taken while it is held splits the workload's writes
   * cleanly into before and after. Resolves with a function that releases it.
   */
  holdBarrier(session: SqlSession): Promise<() => Promise<void>>;
  /**
   * Runs `damage` in one transaction behind the exclusive barrier and returns the fault's point.
   * `atPoint` runs once the point is taken and before the damage (a snapshot of the source
   * exactly as of the point).
   */
  faultTransaction(session: SqlSession, damage: (session: SqlSession) => Promise<void>, atPoint?: () => Promise<void>): Promise<ServerPoint>;
  currentPoint(session: SqlSession): Promise<ServerPoint>;
  /** Opens a snapshot of the database as of now (call it while the barrier is held). */
  openSnapshot(connection: ConnectionInfo, options?: { importSnapshot?: string }): Promise<SnapshotSession>;

  /** Statements that drop / empty a table even when other tables reference it. */
  dropTableSql(table: string): string[];
  truncateSql(table: string): string[];

  /**
   * Where a table's rows are on disk: its data file (relative to the data directory), the page
   * size, and a page that holds rows (what a corrupt-page fault overwrites).
   */
  dataFileOf(session: SqlSession, table: string): Promise<{ path: string; pageBytes: number; dataPage: number }>;
  /**
   * The transactions that made `change` to rows of `table`, read from the server's own log
   * beside it (pg_waldump over pg_wal, mariadb-binlog over the binlogs), in commit order: the
   * step a responder takes to name the bad transaction before a point-in-time restore. It runs
   * one shell command a person can paste, so the runbook's step is the one the drill tested.
   * The log beside the server reaches back only so far (checkpoints recycle WAL segments,
   * binlogs are purged): `searched` says how far, for when the bad transaction began earlier.
   */
  locateChanges(instance: StartedInstance, session: SqlSession, table: string, change: RowChange): Promise<LocatedChanges>;
  listTables(session: SqlSession): Promise<string[]>;
  tableExists(session: SqlSession, table: string): Promise<boolean>;
  /**
   * Every row's fingerprint, in batches, ordered by key in byte order (UTF-8), so two servers'
   * copies of a table pair up row by row without either being held in memory.
   */
  rowFingerprints(session: SqlSession, table: string): AsyncIterable<RowFingerprint[]>;
  /**
   * Whether a commit acknowledged by this server survives a crash of the server's processes,
   * and what the settings mean for a crash of the machine (power, kernel), in words.
   */
  durability(session: SqlSession): Promise<{ processCrash: 'survives' | 'may be lost'; note: string }>;
  /** Checks of the restored database on its own: every table readable, checksums, sequences ahead of their columns. */
  integrityChecks(session: SqlSession): Promise<IntegrityResult[]>;
  /**
   * Checks that read every page and index entry with the server's own tool, beside it, for a
   * backup under verification (pg_amcheck); they may install what they need into the database
   * (a throwaway). None where `integrityChecks` already reads everything (MariaDB's CHECK TABLE).
   */
  deepChecks(instance: StartedInstance, connection: ConnectionInfo): Promise<IntegrityResult[]>;
  /**
   * Whether every database of a restored server can be used as it was built on this host: its
   * locale exists here, and the collation library's version is the one its text indexes were
   * sorted with (a newer glibc or ICU sorts differently). Results carry `collation-mismatch`.
   */
  localeChecks(connection: ConnectionInfo): Promise<IntegrityResult[]>;
}

export type EngineName = 'postgres' | 'mariadb';
