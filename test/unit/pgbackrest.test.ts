import { describe, expect, it } from 'vitest';
import { verifyFindings } from '../../src/strategies/pgbackrest.js';

// What pgBackRest 2.45 printed (log-level-console=info) in a drill whose incremental had a data file damaged.
const DAMAGED_INCR = `2026-12-01 11:21:02.108 P02   INFO: invalid checksum '20261201-112052F_20261201-112058I/pg_data/base/16384/16385.lz4'
2026-12-01 11:21:02.110 P00   INFO: backup: 20261201-112052F_20261201-112058I, status: invalid, total files checked: 1278, total valid files: 1277
                                    checksum invalid: 1`;

describe('pgbackrest verify findings', () => {
  it('names the damaged file of a set the restore needs, and not of a set it does not', () => {
    expect(verifyFindings(DAMAGED_INCR, ['20261201-112052F', '20261201-112052F_20261201-112058I'])).toEqual([
      'backup set 20261201-112052F_20261201-112058I invalid: pg_data/base/16384/16385.lz4 (invalid checksum)',
    ]);
    // The full backup alone is intact: an older restore is still possible.
    expect(verifyFindings(DAMAGED_INCR, ['20261201-112052F'])).toEqual([]);
  });
});
