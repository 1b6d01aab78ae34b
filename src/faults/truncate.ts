import { z } from 'zod';
import { defineFault } from './fault.js';
import { damageTable } from './logical.js';

export const truncate = defineFault({
  kind: 'truncate',
  summary: 'TRUNCATE of a table, committed',
  role: 'incident',
  logical: true,
  defaultTarget: 'before-fault',
  leaves: 'running',
  params: z.strictObject({ table: z.string().min(1).describe('Table to empty') }),
  inject(context, params) {
    const statements = context.engine.truncateSql(params.table);
    return damageTable(context, params.table, statements, statements.join('; '));
  },
});
