import { z } from 'zod';
import { BinlogArchive, replayBinlogs } from './binlog-archive.js';
import { BINLOG_SETTINGS } from './mariadb-tools.js';
import { createDumpUser, restoreDump, takeDump } from './mysqldump.js';
import { defineStrategy } from './strategy.js';

export const mysqldumpBinlog = defineStrategy({
  name: 'mysqldump-binlog',
  summary: 'mariadb-dump under load + binlogs streamed to the archive; load the dump, replay binlogs to just before the fault (by position, checked by GTID)',
  engines: ['mariadb'],
  pointInTime: true,
  options: z.strictObject({}),
  create() {
    let archive: BinlogArchive | undefined;
    return {
      sourceSettings: () => BINLOG_SETTINGS,
      async prepare(context) {
        await createDumpUser(context);
        archive = await BinlogArchive.start(context);
      },
      backup: (context) => takeDump(context, 'mysqldump-binlog'),
      afterDetection: (context) => archive!.complete(context),
      async restore(context, { backup, target, faultPoint }) {
        const instance = await restoreDump(context, backup);
        const from = (backup.state as { position: string }).position;
        return { instance, recovery: await replayBinlogs(context, instance, from, target, faultPoint) };
      },
    };
  },
});
