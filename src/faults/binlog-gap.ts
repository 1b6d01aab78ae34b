import { archiveGap } from './archive-gap.js';

export const binlogGap = archiveGap('binlog-gap', 'binlog', 'mysqldump-binlog or mariabackup-binlog');
