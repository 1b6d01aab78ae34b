import { z } from 'zod';
import { defineFault } from './fault.js';
import { damageTable } from './logical.js';

export const badUpdate = defineFault({
  kind: 'bad-update',
  summary: 'UPDATE that overwrites a column on every row (or a too-wide WHERE), committed',
  role: 'incident',
  logical: true,
  defaultTarget: 'before-fault',
  leaves: 'running',
  changes: 'update',
  params: z.strictObject({
    table: z.string().min(1).describe('Table to update'),
    set: z.string().min(1).describe('SET clause, e.g. "status = \'cancelled\'"'),
    where: z.string().optional().describe('Optional WHERE condition'),
  }),
  inject(context, params) {
    const statement = `UPDATE ${context.engine.quoteIdent(params.table)} SET ${params.set}${params.where ? ` WHERE ${params.where}` : ''}`;
    return damageTable(context, params.table, [statement], statement);
  },
});
