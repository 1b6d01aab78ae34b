import { describe, expect, it } from 'vitest';
import { walFrom } from '../../src/strategies/postgres-wal.js';
import { charsetOf, dumpCompletedAt } from '../../src/verify/detect.js';
import { parseBackupInfo, parseBackupLabel } from '../../src/verify/detect-physical.js';
import { charsetFindings } from '../../src/verify/verify.js';

describe("a dump's closing line", () => {
  it('says when it finished, the hour padded with a space or not, and is missing from a dump cut short', () => {
    expect(dumpCompletedAt('UNLOCK TABLES;\n-- Dump completed on 2026-12-02  1:22:58\n')).toBe('2026-12-02T01:22:58.000Z');
    expect(dumpCompletedAt('-- Dump completed on 2026-12-01 22:55:27\n')).toBe('2026-12-01T22:55:27.000Z');
    expect(dumpCompletedAt('INSERT INTO `payment` VALUES (1,1,1,1,2.99,')).toBeUndefined();
  });
});

describe('what a physical backup says about itself', () => {
  it("a backup_label gives the segment replay starts in and when the backup started", () => {
    const label = 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nSTART TIME: 2026-01-10 02:00:01 UTC\nSTART TIMELINE: 1\n';
    expect(parseBackupLabel(label)).toEqual({ startWal: '000000010000000000000002', takenAt: '2026-01-10T02:00:01.000Z' });
    expect(parseBackupLabel('')).toEqual({});
  });

  it("a pgBackRest backup.info gives the newest set, the sets it is based on, its WAL range and the database's version", () => {
    const set = (label: string, stop: number, extra: Record<string, unknown> = {}) =>
      `${label}=${JSON.stringify({ 'backup-archive-start': `00000001000000000000000${stop}`, 'backup-archive-stop': `00000001000000000000000${stop}`, 'backup-timestamp-stop': 1_768_000_000 + stop, 'db-id': 2, ...extra })}`;
    const info = ['[backrest]', 'backrest-format=5', '', '[backup:current]', set('20260110-020000F', 2), set('20260110-030000F_20260110-040000I', 5, { 'backup-reference': ['20260110-020000F'] }), '', '[db]', 'db-id=2', 'db-version="16"', '', '[db:history]', '1={"db-version":"15"}', '2={"db-version":"16"}', ''].join('\n');
    expect(parseBackupInfo(info, 'backup.info')).toEqual({
      set: '20260110-030000F_20260110-040000I',
      chain: ['20260110-020000F', '20260110-030000F_20260110-040000I'],
      serverVersion: '16',
      takenAt: new Date((1_768_000_000 + 5) * 1000).toISOString(),
      archiveId: '16-2',
      archiveStart: '000000010000000000000005',
      archiveStop: '000000010000000000000005',
    });
    expect(() => parseBackupInfo('\u0000\u00ffencrypted', 'backup.info')).toThrow(/encrypted/);
    expect(() => parseBackupInfo('[backrest]\n[db]\ndb-version="15"\n', 'backup.info')).toThrow(/lists no backup/);
  });

  it('the segments of an archive from the backup on: up to the first gap, and the newest past it', () => {
    const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000002.00000028.backup', '000000010000000000000004', '00000002.history'];
    expect(walFrom(names, '000000010000000000000002')).toEqual({ segments: ['000000010000000000000002'], gap: '000000010000000000000003', newest: '000000010000000000000004' });
    // An archive ending before the segment a backup needs to be consistent has its gap at the end.
    expect(walFrom(names.slice(0, 2), '000000010000000000000001', '000000010000000000000003')).toMatchObject({ gap: '000000010000000000000003' });
  });
});

describe("a dump's encoding and collation", () => {
  it("are read from an archive's CREATE DATABASE, else from a plain dump's client_encoding", () => {
    expect(charsetOf("SET client_encoding = 'LATIN1';\nCREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'LATIN1' LOCALE_PROVIDER = libc LOCALE = 'C';")).toEqual({ charset: { encoding: 'LATIN1', collation: 'C', ctype: 'C' } });
    expect(charsetOf("CREATE DATABASE shop WITH TEMPLATE = template0 ENCODING = 'UTF8' LC_COLLATE = 'en_US.UTF-8' LC_CTYPE = 'C';")).toEqual({ charset: { encoding: 'UTF8', collation: 'en_US.UTF-8', ctype: 'C' } });
    expect(charsetOf("CREATE DATABASE icu WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = icu LOCALE = 'C' ICU_LOCALE = 'en-US';")).toEqual({ charset: { encoding: 'UTF8', collation: 'C', ctype: 'C', icuLocale: 'en-US' } });
    expect(charsetOf("--\nSET client_encoding = 'UTF8';\n")).toEqual({ charset: { encoding: 'UTF8' } });
    // pg_dump -E SJIS: an encoding no database can have says nothing about the dump's database.
    expect(charsetOf("SET client_encoding = 'SJIS';\n")).toEqual({});
  });

  it('differ from the restored database: a finding for the encoding, one for the locale, none when they match', () => {
    const declared = { encoding: 'LATIN1', collation: 'en_US.UTF-8', ctype: 'en_US.UTF-8' };
    expect(charsetFindings(declared, { encoding: 'latin1', collation: 'en_US.UTF-8', ctype: 'en_US.UTF-8' })).toEqual([]);
    expect(charsetFindings(undefined, { encoding: 'UTF8' })).toEqual([]);
    const findings = charsetFindings(declared, { encoding: 'UTF8', collation: 'C', ctype: 'C' });
    expect(findings.map((finding) => finding.code)).toEqual(['encoding-mismatch', 'collation-mismatch']);
    expect(findings[0]!.message).toContain("ENCODING 'LATIN1'");
    expect(findings[1]!.message).toContain('LC_COLLATE en_US.UTF-8, LC_CTYPE en_US.UTF-8');
  });
});
