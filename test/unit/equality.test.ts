import { describe, expect, it } from 'vitest';
import { compareWithSource, type SchemaObject, type SourceCapture, type TableDigest } from '../../src/measure/equality.js';

const column = (name: string, type: string): SchemaObject => ({ kind: 'column', name, attributes: { type, position: '1' } });
const table = (name: string, rows: number, digest: string, base = { rows, digest }): TableDigest => ({ kind: 'table', name, rows, digest, baseRows: base.rows, baseDigest: base.digest });

const source: SourceCapture = {
  at: 'fault',
  exact: true,
  inventory: [
    { kind: 'table', name: 'public.order_items', attributes: { owner: 'postgres' }, content: true },
    column('public.order_items.price', 'numeric(10,2)'),
    { kind: 'sequence', name: 'public.ids', attributes: { type: 'bigint' }, position: 50 },
    { kind: 'view', name: 'public.totals', attributes: { definition: 'md5:aaa' } },
  ],
  tables: [table('public.order_items', 100, '12345', { rows: 80, digest: '999' })],
};

describe('the restored database compared with the source', () => {
  it('finds nothing when they are the same', () => {
    const result = compareWithSource(source, { inventory: source.inventory, tables: source.tables }, { mode: 'exact', refreshedViews: false });
    expect(result.differences).toEqual([]);
    expect(result).toMatchObject({ objects: 4, tables: 1, rows: 100, inventory: { table: 1, column: 1, sequence: 1, view: 1 } });
  });

  it('names every difference in a sentence: a type, a missing object, an extra one, a definition, a sequence behind, the content', () => {
    const restored = {
      inventory: [
        { kind: 'table', name: 'public.order_items', attributes: { owner: 'postgres' }, content: true },
        column('public.order_items.price', 'numeric(10,3)'),
        { kind: 'sequence', name: 'public.ids', attributes: { type: 'bigint' }, position: 40 },
        { kind: 'view', name: 'public.totals', attributes: { definition: 'md5:bbb' } },
        { kind: 'index', name: 'public.stray', attributes: {} },
      ],
      tables: [table('public.order_items', 100, '54321')],
    };
    const messages = compareWithSource(source, restored, { mode: 'exact', refreshedViews: false }).differences.map((difference) => difference.message);
    expect(messages).toEqual([
      'column public.order_items.price is numeric(10,3), was numeric(10,2)',
      'sequence public.ids is at 40, behind the source\'s 50',
      'view public.totals: definition differs from the source\'s',
      'index public.stray exists in the restored database but not in the source at the recovery point',
      'table public.order_items: 100 rows, content digest differs from the source at the recovery point',
    ]);
    const missing = compareWithSource(source, { inventory: source.inventory.slice(1), tables: [] }, { mode: 'exact', refreshedViews: false });
    expect(missing.differences[0]!.message).toBe('table public.order_items is missing (the source had it at the recovery point)');
  });

  it('leaves the workload\'s rows to the ledger when the restore is not the capture\'s instant, and a sequence ahead is no difference', () => {
    const restored = {
      inventory: source.inventory.map((object) => (object.kind === 'sequence' ? { ...object, position: 82 } : object)),
      tables: [table('public.order_items', 90, '11111', { rows: 80, digest: '999' })],
    };
    expect(compareWithSource(source, restored, { mode: 'without workload rows', refreshedViews: false }).differences).toEqual([]);
    expect(compareWithSource(source, { ...restored, tables: [table('public.order_items', 90, '11111', { rows: 79, digest: '998' })] }, { mode: 'without workload rows', refreshedViews: false }).differences[0]!.message).toBe(
      'table public.order_items: 79 rows not written by the workload, the source had 80 at the recovery point',
    );
  });

  it('compares a materialized view a logical restore refreshed with its query at the snapshot, not its stale contents', () => {
    const view: TableDigest = { kind: 'materialized view', name: 'public.sales', rows: 16, digest: 'stale', queryRows: 16, queryDigest: 'fresh' };
    const capture = { ...source, tables: [view] };
    expect(compareWithSource(capture, { inventory: source.inventory, tables: [{ ...view, digest: 'fresh' }] }, { mode: 'exact', refreshedViews: true }).differences).toEqual([]);
    expect(compareWithSource(capture, { inventory: source.inventory, tables: [{ ...view, digest: 'fresh', queryDigest: 'fresh' }] }, { mode: 'exact', refreshedViews: false }).differences).toHaveLength(1);
  });
});
