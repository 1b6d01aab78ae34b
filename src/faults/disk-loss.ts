import { z } from 'zod';
import { defineFault } from './fault.js';
import { destroyDataDirectory, pointThenBlow } from './physical.js';

export const diskLoss = defineFault({
  kind: 'disk-loss',
  summary: 'The data directory (or volume) destroyed while the server runs; recovery must come from backups or a standby',
  role: 'incident',
  logical: false,
  defaultTarget: 'latest',
  leaves: 'gone',
  params: z.strictObject({}),
  async inject(context) {
    const { point } = await pointThenBlow(context, () => destroyDataDirectory(context.source));
    return { description: `data directory ${context.source.paths.data} destroyed under the running server`, point, source: { state: 'gone' } };
  },
});
