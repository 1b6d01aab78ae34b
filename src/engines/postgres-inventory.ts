import type { SchemaObject, TableDigest } from '../measure/equality.js';
import type { DigestOptions, SnapshotSession, SqlSession } from './engine.js';

/**
 * PostgreSQL's schema inventory and content digests, read in one snapshot. Long definitions are
 * kept as md5s (a journal must stay small); everything a restore can get wrong is compared:
 * types, defaults, constraints, indexes, view and function bodies, owners, privileges.
 */

const USER_SCHEMA = (alias: string) =>
  `${alias}.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND ${alias}.nspname NOT LIKE 'pg_temp_%' AND ${alias}.nspname NOT LIKE 'pg_toast_temp_%'`;
const NOT_FIREDRILL = (alias: string) => `${alias}.relname NOT IN ('firedrill_ledger', 'firedrill_barrier')`;
const NOT_EXTENSION = (catalog: string, alias: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${alias}.oid AND d.deptype = 'e')`;
/** A definition: itself when short, its md5 when long. */
const DEF = (expression: string) => `CASE WHEN length(${expression}) <= 160 THEN ${expression} ELSE 'md5:' || md5(${expression}) END`;

/** One query per kind of object; each yields kind, name, attributes (jsonb, nulls stripped), and an optional position. */
const INVENTORY_QUERIES: string[] = [
  `SELECT 'schema' AS kind, quote_ident(n.nspname) AS name, jsonb_build_object('owner', pg_get_userbyid(n.nspowner)) AS a, NULL::numeric AS pos, false AS content
     FROM pg_namespace n WHERE ${USER_SCHEMA('n')}`,
  `SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind,
          format('%I.%I', n.nspname, c.relname) AS name,
          jsonb_strip_nulls(jsonb_build_object(
            'owner', pg_get_userbyid(c.relowner),
            'persistence', CASE c.relpersistence WHEN 'u' THEN 'unlogged' END,
            'privileges', c.relacl::text,
            'partitioned by', pg_get_partkeydef(c.oid),
            'partition of', (SELECT format('%I.%I', pn.nspname, pc.relname) || ' ' || pg_get_expr(c.relpartbound, c.oid)
                               FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                              WHERE i.inhrelid = c.oid AND c.relispartition),
            'definition', CASE WHEN c.relkind IN ('v', 'm') THEN ${DEF('pg_get_viewdef(c.oid)')} END,
            'populated', CASE WHEN c.relkind = 'm' THEN c.relispopulated::text END)) AS a,
          NULL::numeric AS pos,
          (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated)) AS content
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_SCHEMA('n')} AND ${NOT_FIREDRILL('c')} AND ${NOT_EXTENSION('pg_class', 'c')}`,
  `SELECT 'column' AS kind, format('%I.%I.%I', n.nspname, c.relname, a.attname) AS name,
          jsonb_strip_nulls(jsonb_build_object(
            'type', format_type(a.atttypid, a.atttypmod),
            'position', (row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum))::text,
            'not null', CASE WHEN a.attnotnull THEN 'yes' END,
            'default', pg_get_expr(ad.adbin, ad.adrelid),
            'collation', CASE WHEN a.attcollation <> t.typcollation THEN (SELECT collname FROM pg_collation WHERE oid = a.attcollation) END,
            'identity', NULLIF(a.attidentity::text, ''),
            'generated', NULLIF(a.attgenerated::text, ''))) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND ${USER_SCHEMA('n')} AND ${NOT_FIREDRILL('c')} AND ${NOT_EXTENSION('pg_class', 'c')}`,
  `SELECT 'constraint' AS kind, format('%I.%I.%I', n.nspname, c.relname, k.conname) AS name,
          jsonb_build_object('definition', pg_get_constraintdef(k.oid), 'deferrable', CASE WHEN k.condeferrable THEN 'yes' ELSE 'no' END) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE ${USER_SCHEMA('n')} AND ${NOT_FIREDRILL('c')}`,
  `SELECT 'index' AS kind, format('%I.%I', n.nspname, i.relname) AS name,
          jsonb_build_object('definition', pg_get_indexdef(x.indexrelid), 'valid', x.indisvalid::text) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = i.relnamespace
    WHERE ${USER_SCHEMA('n')} AND ${NOT_FIREDRILL('c')}`,
  `SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
          format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) AS name,
          jsonb_build_object('owner', pg_get_userbyid(p.proowner),
            'definition', CASE WHEN p.prokind = 'a'
              THEN (SELECT 'md5:' || md5(concat_ws('/', g.aggtransfn::text, g.aggfinalfn::text, format_type(g.aggtranstype, NULL), g.agginitval)) FROM pg_aggregate g WHERE g.aggfnoid = p.oid)
              ELSE 'md5:' || md5(pg_get_functiondef(p.oid)) END) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION('pg_proc', 'p')}`,
  `SELECT 'trigger' AS kind, format('%I.%I.%I', n.nspname, c.relname, t.tgname) AS name,
          jsonb_build_object('definition', ${DEF('pg_get_triggerdef(t.oid)')}, 'enabled', t.tgenabled::text) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND ${USER_SCHEMA('n')} AND ${NOT_FIREDRILL('c')}`,
  `SELECT 'sequence' AS kind, format('%I.%I', s.schemaname, s.sequencename) AS name,
          jsonb_build_object('type', s.data_type::text, 'start', s.start_value::text, 'increment', s.increment_by::text,
            'range', s.min_value::text || '..' || s.max_value::text, 'cycle', s.cycle::text, 'owner', s.sequenceowner) AS a,
          s.last_value::numeric AS pos, false AS content
     FROM pg_sequences s JOIN pg_namespace n ON n.nspname = s.schemaname JOIN pg_class c ON c.relname = s.sequencename AND c.relnamespace = n.oid
    WHERE ${USER_SCHEMA('n')} AND ${NOT_EXTENSION('pg_class', 'c')}`,
  `SELECT 'rule' AS kind, format('%I.%I.%I', r.schemaname, r.tablename, r.rulename) AS name,
          jsonb_build_object('definition', ${DEF('r.definition')}) AS a, NULL::numeric AS pos, false AS content
     FROM pg_rules r JOIN pg_namespace n ON n.nspname = r.schemaname WHERE ${USER_SCHEMA('n')}`,
  `SELECT 'policy' AS kind, format('%I.%I.%I', p.schemaname, p.tablename, p.policyname) AS name,
          jsonb_strip_nulls(jsonb_build_object('command', p.cmd, 'roles', p.roles::text, 'using', p.qual, 'check', p.with_check)) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_policies p JOIN pg_namespace n ON n.nspname = p.schemaname WHERE ${USER_SCHEMA('n')}`,
  `SELECT 'domain' AS kind, format('%I.%I', n.nspname, t.typname) AS name,
          jsonb_strip_nulls(jsonb_build_object('type', format_type(t.typbasetype, t.typtypmod), 'not null', CASE WHEN t.typnotnull THEN 'yes' END,
            'default', t.typdefault,
            'constraints', (SELECT string_agg(pg_get_constraintdef(k.oid), '; ' ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid))) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype = 'd' AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION('pg_type', 't')}`,
  `SELECT 'type' AS kind, format('%I.%I', n.nspname, t.typname) AS name,
          jsonb_strip_nulls(jsonb_build_object(
            'enum', (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
            'fields', (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                         FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped),
            'range of', (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid))) AS a,
          NULL::numeric AS pos, false AS content
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE (t.typtype IN ('e', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
      AND ${USER_SCHEMA('n')} AND ${NOT_EXTENSION('pg_type', 't')}`,
  `SELECT 'extension' AS kind, quote_ident(e.extname) AS name,
          jsonb_build_object('version', e.extversion, 'schema', e.extnamespace::regnamespace::text) AS a, NULL::numeric AS pos, false AS content
     FROM pg_extension e WHERE e.extname <> 'plpgsql'`,
];

interface InventoryRow {
  kind: string;
  name: string;
  a: Record<string, string>;
  pos: string | null;
  content: boolean;
}

/** Primary-key leading column of a table, when it is an integer (workload rows are keyed by a ref). */
async function integerKeys(session: SqlSession): Promise<Map<string, string>> {
  const rows = await session.query<{ name: string; col: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name, quote_ident(a.attname) AS col
       FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
      WHERE x.indisprimary AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)`,
  );
  return new Map(rows.map((row) => [row.name, row.col]));
}

/** md5 slice → 60-bit integer; summed as numeric it never overflows. */
const ROW_HASH = `('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint`;

export class PostgresSnapshot implements SnapshotSession {
  constructor(private readonly session: SqlSession) {}

  /** BEGIN REPEATABLE READ, its snapshot taken (or imported from an exported one) at once. */
  static async open(session: SqlSession, importSnapshot?: string): Promise<PostgresSnapshot> {
    await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (importSnapshot) await session.query(`SET TRANSACTION SNAPSHOT '${importSnapshot.replaceAll("'", "''")}'`);
    // Row text must not depend on the session: timestamps in UTC, dates in ISO.
    await session.query(`SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 1`);
    // The first statement that reads data fixes the snapshot.
    await session.query('SELECT 1');
    return new PostgresSnapshot(session);
  }

  async inventory(): Promise<SchemaObject[]> {
    const objects: SchemaObject[] = [];
    for (const sql of INVENTORY_QUERIES) {
      for (const row of await this.session.query<InventoryRow>(sql)) {
        objects.push({
          kind: row.kind,
          name: row.name,
          attributes: row.a,
          ...(row.pos !== null ? { position: Number(row.pos) } : {}),
          ...(row.content ? { content: true } : {}),
        });
      }
    }
    return objects.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  }

  async pin(tables: readonly string[]): Promise<void> {
    if (tables.length > 0) await this.session.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS SHARE MODE`);
  }

  async digests(objects: readonly SchemaObject[], options: DigestOptions): Promise<TableDigest[]> {
    const ledger = options.ledger ? (await this.session.query<{ found: string | null }>(`SELECT to_regclass('firedrill_ledger')::text AS found`))[0]?.found : null;
    const keys = ledger ? await integerKeys(this.session) : new Map<string, string>();
    const digests: TableDigest[] = [];
    for (const object of objects.filter((candidate) => candidate.content)) {
      const key = keys.get(object.name);
      const workload = ledger && key ? `t.${key} IN (SELECT ref FROM ${ledger} WHERE ref IS NOT NULL)` : 'false';
      const [row] = await this.session.query<{ rows: string; digest: string; base_rows: string; base_digest: string }>(
        `SELECT count(*)::text AS rows, coalesce(sum(h), 0)::text AS digest,
                count(*) FILTER (WHERE NOT w)::text AS base_rows, coalesce(sum(h) FILTER (WHERE NOT w), 0)::text AS base_digest
           FROM (SELECT ${ROW_HASH} AS h, ${workload} AS w FROM ${object.name} t) s`,
      );
      const digest: TableDigest = { kind: object.kind, name: object.name, rows: Number(row!.rows), digest: row!.digest, baseRows: Number(row!.base_rows), baseDigest: row!.base_digest };
      if (object.kind === 'materialized view' && options.viewQueries) {
        const [definition] = await this.session.query<{ sql: string }>(`SELECT pg_get_viewdef(${literal(object.name)}::regclass) AS sql`);
        const query = definition!.sql.trim().replace(/;+\s*$/, '');
        const [evaluated] = await this.session.query<{ rows: string; digest: string }>(
          `SELECT count(*)::text AS rows, coalesce(sum(${ROW_HASH}), 0)::text AS digest FROM (${query}) t`,
        );
        digest.queryRows = Number(evaluated!.rows);
        digest.queryDigest = evaluated!.digest;
      }
      digests.push(digest);
    }
    return digests;
  }

  async close(): Promise<void> {
    await this.session.query('ROLLBACK').catch(() => undefined);
    await this.session.close();
  }
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
