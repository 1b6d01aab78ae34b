import { describe, expect, it } from 'vitest';
import { firstGtidAfter, formatBinlogPosition, parseBinlogPosition } from '../../src/engines/mariadb.js';

describe('MariaDB binlog positions and GTIDs', () => {
  it('round-trips a binlog position', () => {
    expect(parseBinlogPosition('binlog.000002:48213')).toEqual({ file: 'binlog.000002', pos: 48213 });
    expect(formatBinlogPosition({ file: 'binlog.000002', pos: 48213 })).toBe('binlog.000002:48213');
    expect(() => parseBinlogPosition('0/3A1B2C8')).toThrow(/not a binlog position/);
  });

  it("finds a fault's first GTID from the state before it and its last one", () => {
    expect(firstGtidAfter('0-1-1624', '0-1-1625')).toBe('0-1-1625');
    // DDL commits on its own: a fault of three transactions starts right after the state before it.
    expect(firstGtidAfter('0-1-1624', '0-1-1627')).toBe('0-1-1625');
    // Only the fault's domain counts; a fresh binlog has no state at all.
    expect(firstGtidAfter('1-9-70,0-1-10', '0-1-11')).toBe('0-1-11');
    expect(firstGtidAfter('', '0-1-1')).toBe('0-1-1');
  });
});
