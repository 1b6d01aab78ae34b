import { z } from 'zod';
import { defineFault } from './fault.js';
import { damageTable } from './logical.js';

export const badDelete = defineFault({
  kind: 'bad-delete',
  summary: 'DELETE with no WHERE (or a too-wide one) on a table, committed',
  role: 'incident',
  logical: true,
  defaultTarget: 'before-fault',
  leaves: 'running',
  changes: 'delete',
  params: z.strictObject({
    table: z.string().min(1).describe('Table to delete from, e.g. orders or public.orders'),
    where: z.string().optional().describe('Optional WHERE condition; without it every row goes'),
  }),
  inject(context, params) {
    const statement = `DELETE FROM ${context.engine.quoteIdent(params.table)}${params.where ? ` WHERE ${params.where}` : ''}`;
    return damageTable(context, params.table, [statement], statement);
  },
});
