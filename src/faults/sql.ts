import { z } from 'zod';
import { defineFault } from './fault.js';
import { damageTable } from './logical.js';

export const sql = defineFault({
  kind: 'sql',
  summary: 'Any statements in one transaction: a bad migration, a wrong script',
  role: 'incident',
  logical: true,
  defaultTarget: 'before-fault',
  leaves: 'running',
  params: z.strictObject({
    statements: z.array(z.string().min(1)).min(1).describe('Statements run in one transaction'),
    table: z.string().optional().describe('Table whose damaged rows are tracked, to check they come back'),
  }),
  inject(context, params) {
    return damageTable(context, params.table, params.statements, params.statements.join('; '));
  },
});
