import type { SchemaObject, TableDigest } from '../measure/equality.js';
import type { DigestOptions, SnapshotSession, SqlSession } from './engine.js';

/**
 * MariaDB's schema inventory (information_schema) and content digests, read in one consistent
 * snapshot. Names are `schema.table[.part]` as MariaDB's tools print them.
 */

export const SYSTEM_SCHEMAS = `('mysql', 'information_schema', 'performance_schema', 'sys')`;
const USER = (column: string) => `${column} NOT IN ${SYSTEM_SCHEMAS}`;
const NOT_FIREDRILL = (column: string) => `${column} NOT IN ('firedrill_ledger', 'firedrill_barrier')`;
const DEF = (expression: string) => `IF(CHAR_LENGTH(${expression}) <= 160, ${expression}, CONCAT('md5:', MD5(${expression})))`;

interface Row {
  kind: string;
  name: string;
  /** The driver hands JSON columns over parsed. */
  a: string | Record<string, unknown>;
  content: string | number;
}

/** Each query yields kind, name, a JSON object of attributes, and whether the object has content to digest. */
const INVENTORY_QUERIES: string[] = [
  `SELECT 'schema' AS kind, SCHEMA_NAME AS name, JSON_OBJECT('charset', DEFAULT_CHARACTER_SET_NAME, 'collation', DEFAULT_COLLATION_NAME) AS a, 0 AS content
     FROM information_schema.SCHEMATA WHERE ${USER('SCHEMA_NAME')}`,
  `SELECT CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END AS kind,
          CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name,
          JSON_OBJECT('engine', COALESCE(ENGINE, ''), 'collation', COALESCE(TABLE_COLLATION, ''), 'versioning', IF(TABLE_TYPE = 'SYSTEM VERSIONED', 'system', '')) AS a,
          TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AS content
     FROM information_schema.TABLES WHERE ${USER('TABLE_SCHEMA')} AND ${NOT_FIREDRILL('TABLE_NAME')}`,
  `SELECT 'column' AS kind, CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, '.', COLUMN_NAME) AS name,
          JSON_OBJECT('type', COLUMN_TYPE, 'position', CAST(ORDINAL_POSITION AS CHAR), 'nullable', IS_NULLABLE, 'default', COALESCE(COLUMN_DEFAULT, ''),
                      'extra', EXTRA, 'collation', COALESCE(COLLATION_NAME, ''), 'generated', COALESCE(GENERATION_EXPRESSION, '')) AS a, 0 AS content
     FROM information_schema.COLUMNS WHERE ${USER('TABLE_SCHEMA')} AND ${NOT_FIREDRILL('TABLE_NAME')}`,
  `SELECT 'index' AS kind, CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, '.', INDEX_NAME) AS name,
          JSON_OBJECT('unique', IF(MIN(NON_UNIQUE) = 0, 'yes', 'no'), 'type', MIN(INDEX_TYPE),
                      'columns', GROUP_CONCAT(CONCAT(COLUMN_NAME, IF(SUB_PART IS NULL, '', CONCAT('(', SUB_PART, ')'))) ORDER BY SEQ_IN_INDEX SEPARATOR ', ')) AS a, 0 AS content
     FROM information_schema.STATISTICS WHERE ${USER('TABLE_SCHEMA')} AND ${NOT_FIREDRILL('TABLE_NAME')}
    GROUP BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME`,
  `SELECT 'constraint' AS kind, CONCAT(c.TABLE_SCHEMA, '.', c.TABLE_NAME, '.', c.CONSTRAINT_NAME) AS name,
          JSON_OBJECT('type', c.CONSTRAINT_TYPE,
            'columns', COALESCE((SELECT GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', ') FROM information_schema.KEY_COLUMN_USAGE k
                                  WHERE k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME), ''),
            'references', COALESCE((SELECT CONCAT(r.UNIQUE_CONSTRAINT_SCHEMA, '.', r.REFERENCED_TABLE_NAME, ' ON UPDATE ', r.UPDATE_RULE, ' ON DELETE ', r.DELETE_RULE)
                                      FROM information_schema.REFERENTIAL_CONSTRAINTS r
                                     WHERE r.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND r.TABLE_NAME = c.TABLE_NAME AND r.CONSTRAINT_NAME = c.CONSTRAINT_NAME), ''),
            'check', COALESCE((SELECT h.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS h
                                WHERE h.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND h.TABLE_NAME = c.TABLE_NAME AND h.CONSTRAINT_NAME = c.CONSTRAINT_NAME), '')) AS a, 0 AS content
     FROM information_schema.TABLE_CONSTRAINTS c WHERE ${USER('c.TABLE_SCHEMA')} AND ${NOT_FIREDRILL('c.TABLE_NAME')}`,
  `SELECT 'view definition' AS kind, CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS name,
          JSON_OBJECT('definition', ${DEF('VIEW_DEFINITION')}, 'check option', CHECK_OPTION, 'security', SECURITY_TYPE, 'definer', DEFINER) AS a, 0 AS content
     FROM information_schema.VIEWS WHERE ${USER('TABLE_SCHEMA')}`,
  `SELECT LOWER(ROUTINE_TYPE) AS kind, CONCAT(ROUTINE_SCHEMA, '.', ROUTINE_NAME) AS name,
          JSON_OBJECT('definition', ${DEF('ROUTINE_DEFINITION')}, 'returns', COALESCE(DTD_IDENTIFIER, ''), 'security', SECURITY_TYPE, 'definer', DEFINER,
            'deterministic', IS_DETERMINISTIC, 'sql mode', SQL_MODE,
            'parameters', COALESCE((SELECT GROUP_CONCAT(CONCAT(COALESCE(p.PARAMETER_MODE, ''), ' ', COALESCE(p.PARAMETER_NAME, ''), ' ', p.DTD_IDENTIFIER) ORDER BY p.ORDINAL_POSITION SEPARATOR ', ')
                                      FROM information_schema.PARAMETERS p WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND p.SPECIFIC_NAME = r.ROUTINE_NAME AND p.ORDINAL_POSITION > 0), '')) AS a, 0 AS content
     FROM information_schema.ROUTINES r WHERE ${USER('ROUTINE_SCHEMA')}`,
  `SELECT 'trigger' AS kind, CONCAT(TRIGGER_SCHEMA, '.', EVENT_OBJECT_TABLE, '.', TRIGGER_NAME) AS name,
          JSON_OBJECT('event', EVENT_MANIPULATION, 'timing', ACTION_TIMING, 'order', CAST(ACTION_ORDER AS CHAR), 'definition', ${DEF('ACTION_STATEMENT')}, 'definer', DEFINER) AS a, 0 AS content
     FROM information_schema.TRIGGERS WHERE ${USER('TRIGGER_SCHEMA')}`,
  `SELECT 'event' AS kind, CONCAT(EVENT_SCHEMA, '.', EVENT_NAME) AS name,
          JSON_OBJECT('definition', ${DEF('EVENT_DEFINITION')}, 'type', EVENT_TYPE, 'every', CONCAT(COALESCE(INTERVAL_VALUE, ''), ' ', COALESCE(INTERVAL_FIELD, '')), 'status', STATUS) AS a, 0 AS content
     FROM information_schema.EVENTS WHERE ${USER('EVENT_SCHEMA')}`,
  `SELECT 'partition' AS kind, CONCAT(TABLE_SCHEMA, '.', TABLE_NAME, '.', PARTITION_NAME) AS name,
          JSON_OBJECT('method', PARTITION_METHOD, 'expression', COALESCE(PARTITION_EXPRESSION, ''), 'values', COALESCE(PARTITION_DESCRIPTION, '')) AS a, 0 AS content
     FROM information_schema.PARTITIONS WHERE ${USER('TABLE_SCHEMA')} AND PARTITION_NAME IS NOT NULL`,
];

const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;
const quoted = (qualified: string) => qualified.split('.').map(quote).join('.');

export class MariadbSnapshot implements SnapshotSession {
  constructor(
    private readonly session: SqlSession,
    private readonly ledgerTable: string,
  ) {}

  /** A consistent-snapshot read-only transaction, its snapshot taken at once. */
  static async open(session: SqlSession, ledgerTable: string): Promise<MariadbSnapshot> {
    await session.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await session.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    return new MariadbSnapshot(session, ledgerTable);
  }

  async inventory(): Promise<SchemaObject[]> {
    const objects: SchemaObject[] = [];
    for (const sql of INVENTORY_QUERIES) {
      for (const row of await this.session.query<Row>(sql)) {
        const parsed = typeof row.a === 'string' ? (JSON.parse(row.a) as Record<string, unknown>) : row.a;
        const attributes = Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== '' && value !== null).map(([name, value]) => [name, String(value)]));
        objects.push({ kind: row.kind, name: row.name, attributes, ...(Number(row.content) ? { content: true } : {}) });
      }
    }
    return objects.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }

  async pin(tables: readonly string[]): Promise<void> {
    // Reading a table in the transaction takes its shared metadata lock until the transaction ends.
    for (const table of tables) await this.session.query(`SELECT 1 FROM ${quoted(table)} LIMIT 0`);
  }

  async digests(objects: readonly SchemaObject[], options: DigestOptions): Promise<TableDigest[]> {
    const ledger = options.ledger && (await this.ledgerExists()) ? this.ledgerTable : undefined;
    const digests: TableDigest[] = [];
    for (const object of objects.filter((candidate) => candidate.content)) {
      const [schema, table] = [object.name.slice(0, object.name.indexOf('.')), object.name.slice(object.name.indexOf('.') + 1)];
      const columns = await this.session.query<{ name: string; type: string; key: string }>(
        `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_KEY AS \`key\` FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = ${literal(schema)} AND TABLE_NAME = ${literal(table)} ORDER BY ORDINAL_POSITION`,
      );
      const [leading] = await this.session.query<{ name: string }>(
        `SELECT k.COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE k
          WHERE k.TABLE_SCHEMA = ${literal(schema)} AND k.TABLE_NAME = ${literal(table)} AND k.CONSTRAINT_NAME = 'PRIMARY' AND k.ORDINAL_POSITION = 1`,
      );
      const integerKey = leading && /int|decimal/.test(columns.find((column) => column.name === leading.name)?.type ?? '');
      const workload = ledger && integerKey ? `(${quote(leading.name)} IN (SELECT ref FROM ${ledger} WHERE ref IS NOT NULL))` : '0';
      // QUOTE() spells NULL as an unquoted NULL and escapes binary data: every row's text is unambiguous.
      const text = `CONCAT_WS(',', ${columns.map((column) => `QUOTE(${quote(column.name)})`).join(', ')})`;
      const [row] = await this.session.query<{ n: string; d: string; bn: string; bd: string }>(
        `SELECT COUNT(*) AS n, COALESCE(SUM(h), 0) AS d, COALESCE(SUM(1 - w), 0) AS bn, COALESCE(SUM(IF(w, 0, h)), 0) AS bd
           FROM (SELECT CAST(CONV(SUBSTRING(MD5(${text}), 1, 15), 16, 10) AS UNSIGNED) AS h, ${workload} AS w FROM ${quoted(object.name)}) s`,
      );
      digests.push({ kind: object.kind, name: object.name, rows: Number(row!.n), digest: String(row!.d), baseRows: Number(row!.bn), baseDigest: String(row!.bd) });
    }
    return digests;
  }

  private async ledgerExists(): Promise<boolean> {
    const [schema, table] = this.ledgerTable.split('.').map((part) => part.replaceAll('`', ''));
    const [row] = await this.session.query<{ n: string }>(`SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${literal(schema!)} AND TABLE_NAME = ${literal(table!)}`);
    return Number(row!.n) > 0;
  }

  async close(): Promise<void> {
    await this.session.query('ROLLBACK').catch(() => undefined);
    await this.session.close();
  }
}

function literal(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
