import { z } from 'zod';
import { BINLOG_ARCHIVE, BinlogArchive, binlogArchiveSetup, replayBinlogs } from './binlog-archive.js';
import { createDumpUser, restoreDump, takeDump } from './mysqldump.js';
import { defineStrategy } from './strategy.js';

export const mysqldumpBinlog = defineStrategy({
  name: 'mysqldump-binlog',
  summary: 'mariadb-dump under load + binlogs streamed to the archive; load the dump, replay binlogs to just before the fault (by position, checked by GTID)',
  engines: ['mariadb'],
  pointInTime: true,
  keeps: 'backups',
  archive: BINLOG_ARCHIVE,
  logical: true,
  options: z.strictObject({}),
  create() {
    let archive: BinlogArchive | undefined;
    let taken = 0;
    return {
      sourceSetup: ({ archive }) => binlogArchiveSetup(archive),
      async prepare(context) {
        await createDumpUser(context);
        archive = await BinlogArchive.start(context);
      },
      // A point-in-time restore is compared with the source at the fault, not at the dump.
      backup: (context) => takeDump(context, `mysqldump-binlog/backup-${++taken}/dump.sql`, { capture: false }),
      afterDetection: (context) => archive!.complete(context),
      async recover(context, { backup, target, faultPoint }) {
        const instance = await restoreDump(context, backup);
        const from = (backup.state as { position: string }).position;
        return { instance, ...(await replayBinlogs(context, instance, from, target, faultPoint)) };
      },
    };
  },
});
