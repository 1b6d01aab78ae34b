import { BINLOG_ARCHIVE, BinlogArchive, binlogArchiveSetup, replayBinlogs } from './binlog-archive.js';
import { MariabackupChain, mariabackupOptions, restoreMariabackup } from './mariabackup.js';
import { defineStrategy } from './strategy.js';

export const mariabackupBinlog = defineStrategy({
  name: 'mariabackup-binlog',
  summary: 'mariadb-backup + binlogs streamed to the archive; restore the physical backup, replay binlogs to just before the fault (by position, checked by GTID)',
  engines: ['mariadb'],
  pointInTime: true,
  keeps: 'backups',
  archive: BINLOG_ARCHIVE,
  logical: false,
  options: mariabackupOptions,
  create(options) {
    let archive: BinlogArchive | undefined;
    const chain = new MariabackupChain('mariabackup-binlog', options);
    return {
      sourceSetup: ({ archive }) => binlogArchiveSetup(archive),
      async prepare(context) {
        archive = await BinlogArchive.start(context);
      },
      backup: (context) => chain.take(context),
      afterDetection: (context) => archive!.complete(context),
      async recover(context, { backup, target, faultPoint }) {
        const { instance, position } = await restoreMariabackup(context, chain.chainOf(backup));
        if (!position) throw new Error('the backup recorded no binlog coordinates (xtrabackup_info has no binlog_pos), so there is nowhere to start a replay; is the source\'s binary log on?');
        return { instance, ...(await replayBinlogs(context, instance, position, target, faultPoint)) };
      },
    };
  },
});
