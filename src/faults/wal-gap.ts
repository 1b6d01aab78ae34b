import { archiveGap } from './archive-gap.js';

export const walGap = archiveGap('wal-gap', 'WAL segment', 'pg-basebackup-wal');
