import { Transform } from 'node:stream';
import { z } from 'zod';
import { defineFault } from './fault.js';

export const corruptBackup = defineFault({
  kind: 'corrupt-backup',
  summary: 'Bytes flipped inside the newest stored backup file (base backup, dump, mariabackup stream), as storage rot does',
  role: 'latent',
  params: z.strictObject({
    object: z.string().optional().describe('Which file of the backup (base, dump, backup, ...; default: the first)'),
    offset: z.union([z.enum(['start', 'middle', 'end']), z.number().int().min(0)]).default('middle').describe('Where: a byte offset, or start / middle / end of the file'),
    bytes: z.number().int().min(1).max(4096).default(1).describe('How many consecutive bytes are flipped'),
  }),
  refuse({ strategy }) {
    return strategy.keeps === 'standby' ? `corrupt-backup damages stored backup files, and strategy "${strategy.name}" keeps a standby, not backup files` : undefined;
  },
  async inject(context, params) {
    const newest = context.backups[context.backups.length - 1];
    if (!newest) throw new Error('there is no backup to damage');
    const object = params.object ? newest.result.objects.find((candidate) => candidate.name === params.object) : newest.result.objects[0];
    if (!object) throw new Error(`the backup has no file "${params.object}" (it has ${newest.result.objects.map((candidate) => candidate.name).join(', ')})`);
    const location = context.storage.get(newest.location) ?? context.restoreFrom;
    const size = object.sizeBytes;
    const at = typeof params.offset === 'number' ? Math.min(params.offset, size - 1) : params.offset === 'start' ? 0 : params.offset === 'end' ? Math.max(0, size - params.bytes) : Math.floor(size / 2);
    let position = 0;
    // Every bit of the chosen bytes inverted, streamed: a backup can be larger than memory.
    const flip = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        for (let index = Math.max(at, position); index < Math.min(at + params.bytes, position + chunk.length); index++) chunk[index - position] ^= 0xff;
        position += chunk.length;
        callback(null, chunk);
      },
    });
    const source = await location.get(object.key);
    await location.put(object.key, source.pipe(flip));
    return `${params.bytes} byte(s) at offset ${at} of ${object.key} in "${location.name}" flipped (${size} bytes in all)`;
  },
});
