import { z } from 'zod';
import { archivedName } from '../storage/archive-record.js';
import { defineFault, type LatentDefinition } from './fault.js';

const params = z.strictObject({
  file: z
    .enum(['fault', 'middle', 'first', 'backup-end', 'newest'])
    .default('middle')
    .describe(
      'Which archived file goes: the one holding the fault, one between the backup and the fault, the first one the backup needs, the last one it needs to be consistent (where it ended; the first, for a backup consistent where it started), or the newest one archived (which looks like the end of the archive)',
    ),
});

/**
 * A file removed from the continuous archive (a WAL segment, a binlog), as an archive with a
 * gap is found when it is needed. The strategy says where its archive is and which file holds
 * a position, so the same fault serves every strategy with an archive of that kind.
 */
export function archiveGap(kind: string, file: 'WAL segment' | 'binlog', example: string): LatentDefinition<typeof params> {
  return defineFault({
    kind,
    summary: `A ${file} missing from the archive (the one holding the fault, one in the middle, the backup's first or its last, or the newest), found when the restore needs it`,
    role: 'latent',
    params,
    refuse({ strategy }) {
      if (strategy.archive?.file === file) return undefined;
      return `${kind} removes a ${file} from the archive, and strategy "${strategy.name}" keeps no ${file} archive; use it with ${example}`;
    },
    async inject(context, { file: which }) {
      const archive = context.strategy.archive!;
      const newest = context.backups[context.backups.length - 1];
      const start = newest?.result.startPosition;
      if (!start || !context.incident.position) throw new Error(`cannot tell which ${file}s the restore needs: the backup or the fault recorded no position`);
      const first = archive.fileOf(start);
      const atFault = archive.fileOf(context.incident.position);
      const archived = (await context.restoreFrom.list(archive.prefix)).map(archivedName).filter((name) => name >= first).sort();
      const beforeFault = archived.filter((name) => name <= atFault);
      const end = newest.result.consistentAt?.position;
      const victims: Record<typeof which, string> = {
        first,
        'backup-end': end ? archive.fileOf(end) : first,
        fault: atFault,
        newest: archived.at(-1)!,
        middle: beforeFault.find((name) => name > first && name < atFault) ?? atFault,
      };
      const victim = victims[which];
      await context.restoreFrom.delete(`${archive.prefix}/${victim}`);
      return `${file} ${victim} removed from archive "${context.restoreFrom.name}"`;
    },
  });
}
