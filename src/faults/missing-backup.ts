import { z } from 'zod';
import { defineFault } from './fault.js';

export const missingBackup = defineFault({
  kind: 'missing-backup',
  summary: 'The newest backup deleted from storage, so the previous one must be used (schedule two or more: backups.count)',
  role: 'latent',
  params: z.strictObject({}),
  refuse({ strategy }) {
    return strategy.keeps === 'standby' ? `missing-backup deletes stored backup files, and strategy "${strategy.name}" keeps a standby, not backup files` : undefined;
  },
  async inject(context) {
    const newest = context.backups[context.backups.length - 1];
    if (!newest) throw new Error('there is no backup to delete');
    const location = context.storage.get(newest.location) ?? context.restoreFrom;
    for (const object of newest.result.objects) await location.delete(object.key);
    return `newest backup deleted from "${location.name}" (${newest.result.objects.map((object) => object.key).join(', ')})`;
  },
});
