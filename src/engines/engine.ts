import type { CommandRunner } from '../util/exec.js';
import type { ServiceUser } from '../util/os-user.js';

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
  close(): Promise<void>;
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

/** Facts about a server binary installation, for the journal and doctor. */
export interface ToolInfo {
  name: string;
  path?: string;
  version?: string;
  missing?: string;
}

/** Context needed to run the engine's client tools against an instance. */
export interface ToolContext {
  exec: CommandRunner;
  user?: ServiceUser;
}

/** What one check in the verify phase found. */
export interface IntegrityResult {
  name: string;
  passed: boolean;
  detail: string;
}

/**
 * Everything that differs between PostgreSQL and MariaDB/MySQL for the drill loop: driver,
 * SQL dialect of the ledger and the barrier, fault points, integrity checks, client tools.
 * Shared code never branches on the engine's name; it asks the engine.
 */
export interface Engine {
  readonly name: EngineName;
  readonly displayName: string;
  /** The system account the server runs as when firedrill runs as root. */
  readonly serviceUserName: string;
  /** The database drills create and load. */
  readonly databaseName: string;
  /** How to install the server and its tools on Debian/Ubuntu, for doctor and error hints. */
  readonly installHint: string;

  connect(connection: ConnectionInfo, options?: { queryTimeoutMs?: number }): Promise<SqlSession>;
  quoteIdent(name: string): string;
  /** A string literal in the engine's dialect. */
  literal(value: string): string;
  serverVersion(session: SqlSession): Promise<string>;
  createDatabase(session: SqlSession, name: string): Promise<void>;
  /** False while the server is still in recovery (or read-only). */
  isWritable(session: SqlSession): Promise<boolean>;

  /** DDL that creates the ledger table (idempotent). */
  ledgerDdl(): string[];
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
  /** Runs `damage` in one transaction behind the exclusive barrier and returns the fault's point. */
  faultTransaction(session: SqlSession, damage: (session: SqlSession) => Promise<void>): Promise<ServerPoint>;
  currentPoint(session: SqlSession): Promise<ServerPoint>;

  /** Statements that drop / empty a table even when other tables reference it. */
  dropTableSql(table: string): string[];
  truncateSql(table: string): string[];

  listTables(session: SqlSession): Promise<string[]>;
  tableExists(session: SqlSession, table: string): Promise<boolean>;
  /** Row identity (primary key, or the whole row without one) → content hash, for every row. */
  rowFingerprints(session: SqlSession, table: string): Promise<Map<string, string>>;
  integrityChecks(session: SqlSession): Promise<IntegrityResult[]>;
  /** Loads a SQL file into the database with the engine's own client, stopping at the first error. */
  loadSqlFile(tools: ToolContext, connection: ConnectionInfo, file: string): Promise<void>;
  /** Versions of the engine's server and tools on this machine. */
  tools(version?: string): Promise<ToolInfo[]>;
}

export type EngineName = 'postgres' | 'mariadb';
