/**
 * "Equal to the source": the schema inventory and per-table content digests of the source at
 * the recovery point, compared with the restored database's, every difference named. Pure: the
 * engines collect, this compares.
 */

/** One object of a schema inventory. */
export interface SchemaObject {
  /** `schema`, `table`, `column`, `constraint`, `index`, `view`, `materialized view`, `function`, `trigger`, `sequence`, `rule`, `domain`, `type`, `extension`, `partition`, `event`, ... */
  kind: string;
  /** Qualified name, unique within its kind: `public.orders`, `public.orders.total`. */
  name: string;
  /** What must be the same after a restore: type, definition (long texts as an md5), owner, ... */
  attributes: Record<string, string>;
  /** A counter that may legitimately be ahead after a restore, never behind (a sequence's last value). */
  position?: number;
  /** Tables and materialized views carry content: they get a digest. */
  content?: boolean;
}

/** Row count and order-independent content digest of one table or materialized view. */
export interface TableDigest {
  kind: string;
  name: string;
  rows: number;
  /** Sum of a 60-bit slice of every row's md5, as a decimal string: equal contents give equal sums, in any row order. */
  digest: string;
  /** The same without the rows the workload wrote (their leading key is a ref in the ledger): comparable at any point. */
  baseRows?: number;
  baseDigest?: string;
  /** A materialized view's query evaluated in the snapshot: what a logical restore's REFRESH puts in it. */
  queryRows?: number;
  queryDigest?: string;
}

/** What the source looked like at one instant. */
export interface SourceCapture {
  /** Which instant: just before the fault, a backup's own snapshot, or the end (after detection). */
  at: 'fault' | 'backup' | 'latest';
  /** The restore this capture is for will be exactly its instant (a dump's snapshot, a point-in-time restore to the fault). */
  exact: boolean;
  inventory: SchemaObject[];
  tables: TableDigest[];
}

export type EqualityMode = 'exact' | 'without workload rows';

export interface Difference {
  object: string;
  message: string;
}

export interface EqualityResult {
  /** Which capture the restored database was compared with. */
  against: SourceCapture['at'];
  mode: EqualityMode;
  objects: number;
  tables: number;
  /** Rows compared (the source's, in the mode's sense). */
  rows: number;
  /** Objects per kind in the source, for the report's inventory. */
  inventory: Record<string, number>;
  differences: Difference[];
}

export interface CompareOptions {
  /**
   * `exact` when the restore's point is the capture's instant (a point-in-time restore to the
   * fault, a dump's snapshot): every row must match. Otherwise the workload's rows are left to
   * the ledger and the rest must match.
   */
  mode: EqualityMode;
  /** The restore re-evaluated materialized views (a logical restore refreshes them). */
  refreshedViews: boolean;
}

const NOUN: Record<string, string> = { 'materialized view': 'materialized view' };
const noun = (kind: string) => NOUN[kind] ?? kind;

function describeChange(object: SchemaObject, attribute: string, now: string, was: string): string {
  const subject = `${noun(object.kind)} ${object.name}`;
  if (attribute === 'type') return `${subject} is ${now}, was ${was}`;
  if (/^md5/.test(now) || attribute.endsWith('definition')) return `${subject}: ${attribute} differs from the source's`;
  return `${subject}: ${attribute} is ${now || '(none)'}, was ${was || '(none)'}`;
}

const key = (object: { kind: string; name: string }) => `${object.kind}\u0000${object.name}`;
const count = new Intl.NumberFormat('en-US');

/** Compares a restored database with the source's capture; every difference is a sentence a person can act on. */
export function compareWithSource(source: SourceCapture, restored: { inventory: SchemaObject[]; tables: TableDigest[] }, options: CompareOptions): EqualityResult {
  const differences: Difference[] = [];
  const restoredObjects = new Map(restored.inventory.map((object) => [key(object), object]));
  const sourceObjects = new Map(source.inventory.map((object) => [key(object), object]));
  for (const object of source.inventory) {
    const other = restoredObjects.get(key(object));
    if (!other) {
      differences.push({ object: object.name, message: `${noun(object.kind)} ${object.name} is missing (the source had it at the recovery point)` });
      continue;
    }
    for (const [attribute, was] of Object.entries(object.attributes)) {
      const now = other.attributes[attribute] ?? '';
      if (now !== was) differences.push({ object: object.name, message: describeChange(object, attribute, now, was) });
    }
    // A sequence may be ahead after a restore (PostgreSQL logs 32 values ahead of use); behind
    // means new rows would collide with restored ones. Only an exact point can tell.
    if (options.mode === 'exact' && object.position !== undefined && other.position !== undefined && other.position < object.position) {
      differences.push({ object: object.name, message: `${noun(object.kind)} ${object.name} is at ${other.position}, behind the source's ${object.position}` });
    }
  }
  for (const object of restored.inventory) {
    if (!sourceObjects.has(key(object))) {
      differences.push({ object: object.name, message: `${noun(object.kind)} ${object.name} exists in the restored database but not in the source at the recovery point` });
    }
  }

  const restoredTables = new Map(restored.tables.map((table) => [key(table), table]));
  let rows = 0;
  for (const table of source.tables) {
    const other = restoredTables.get(key(table));
    if (!other) continue; // a missing table is already named above
    const pick = (digest: TableDigest) => {
      if (digest.kind === 'materialized view' && options.refreshedViews && digest.queryDigest !== undefined) {
        return { rows: digest.queryRows ?? 0, digest: digest.queryDigest, part: 'rows' };
      }
      if (options.mode === 'exact' || digest.baseDigest === undefined) return { rows: digest.rows, digest: digest.digest, part: 'rows' };
      return { rows: digest.baseRows ?? 0, digest: digest.baseDigest, part: 'rows not written by the workload' };
    };
    const [was, now] = [pick(table), pick(other)];
    rows += was.rows;
    if (was.rows !== now.rows) {
      differences.push({ object: table.name, message: `${noun(table.kind)} ${table.name}: ${count.format(now.rows)} ${now.part}, the source had ${count.format(was.rows)} at the recovery point` });
    } else if (was.digest !== now.digest) {
      differences.push({ object: table.name, message: `${noun(table.kind)} ${table.name}: ${count.format(now.rows)} ${now.part}, content digest differs from the source at the recovery point` });
    }
  }

  const inventory: Record<string, number> = {};
  for (const object of source.inventory) inventory[object.kind] = (inventory[object.kind] ?? 0) + 1;
  return { against: source.at, mode: options.mode, objects: source.inventory.length, tables: source.tables.length, rows, inventory, differences };
}
