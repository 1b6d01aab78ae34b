import { z } from 'zod';
import { defineFault } from './fault.js';
import { damageTable } from './logical.js';

export const dropTable = defineFault({
  kind: 'drop-table',
  summary: 'DROP TABLE of a table other tables reference, committed',
  role: 'incident',
  logical: true,
  defaultTarget: 'before-fault',
  leaves: 'running',
  params: z.strictObject({ table: z.string().min(1).describe('Table to drop') }),
  inject(context, params) {
    const statements = context.engine.dropTableSql(params.table);
    return damageTable(context, params.table, statements, statements.join('; '));
  },
});
