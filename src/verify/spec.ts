import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { providers } from '../providers/index.js';
import { parseLocated, ScenarioError, type Override } from '../scenario/loader.js';
import { duration, sqlChecks } from '../scenario/schema.js';
import { BACKUP_KINDS } from './detect.js';

const minimumRows = z.union([z.number().int().min(0), z.strictObject({ minRows: z.number().int().min(0) })]);

/**
 * A verification file: what a team's own backup must hold to count as restorable. The same
 * conventions as scenario files (YAML or JSON, durations like `26h`, errors at file:line:column).
 */
export const verificationSchema = z.strictObject({
  name: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-" only (it names the report folder)').optional().describe('Names the source in reports, history and metrics (default: the file name)'),
  kind: z.enum(BACKUP_KINDS).optional().describe('What the backup is, when its files do not say (a dump whose header was stripped)'),
  provider: z.enum(['auto', ...Object.keys(providers)] as [string, ...string[]]).default('local').describe('Where the restore runs: local binaries, or a container of the dump\'s server version'),
  version: z.string().optional().describe('Server version to restore into (default: the one the backup came from)'),
  image: z.string().min(1).optional().describe("Container image to restore into (docker provider; default: the engine's official image of the backup's version)"),
  globals: z.string().optional().describe('Roles and tablespaces (pg_dumpall --globals-only) restored before a PostgreSQL dump, so its owners and grants apply'),
  wal: z.string().optional().describe('The WAL archive of a PostgreSQL base backup: the directory its archive_command copies segments into (read, never written)'),
  binlogs: z.string().optional().describe('Binary logs to replay onto a mariadb-backup, from its binlog position on: a directory of binlog.000001, … (read, never written)'),
  stanza: z.string().optional().describe('The stanza of a pgBackRest repository (default: its only one)'),
  target: z
    .strictObject({
      time: z.string().refine((text) => Number.isFinite(Date.parse(text)), 'a time with its zone, e.g. 2026-01-10T02:00:00Z').optional().describe('Recover up to this time (PostgreSQL: recovery_target_time; MariaDB: the binlogs\' --stop-datetime)'),
      xid: z.string().regex(/^\d+$/, 'a transaction id: digits').optional().describe('PostgreSQL: recover up to this transaction (recovery_target_xid)'),
      lsn: z.string().regex(/^[0-9A-Fa-f]+\/[0-9A-Fa-f]+$/, 'an LSN such as 0/5A3C2B8').optional().describe('PostgreSQL: recover up to this WAL position (recovery_target_lsn)'),
    })
    .refine((target) => [target.time, target.xid, target.lsn].filter((value) => value !== undefined).length === 1, 'give one of time, xid or lsn: the one point recovery stops at')
    .optional()
    .describe('Where a point-in-time restore stops (default: the end of the archive)'),
  database: z.string().optional().describe('The database a physical backup is checked in, when it holds several (default: its only one)'),
  tables: z.record(z.string(), minimumRows).default({}).describe('Tables that must be there, with the fewest rows each may hold: `orders: 1000` or `orders: { minRows: 1000 }`'),
  freshness: z
    .strictObject({
      sql: z.string().min(1).describe('Returns the newest timestamp in the data, e.g. SELECT max(created_at) FROM orders'),
      maxAge: duration.describe('How much older than `against` the newest row may be'),
      against: z.enum(['backup', 'now']).optional().describe('Measured against the backup\'s time (default, when the backup says it) or now'),
    })
    .optional(),
  checks: sqlChecks,
  objectives: z.strictObject({ restoreTime: duration.optional().describe('Fetch to a restored server answering queries') }).prefault({}),
  drift: z.number().min(0).max(100).default(10).describe('A table\'s rows may drop this many percent below the last good verification of the same source before it is a finding'),
  ignore: z.record(z.string(), z.string().min(10, 'say why it is accepted, in a sentence: the report shows it')).default({}).describe('Findings accepted, each with the written reason the report shows: `missing-role: roles are managed outside the dump`'),
});

export type VerificationSpec = z.output<typeof verificationSchema>;

/** A verification file, or the defaults when none is given (the flags fill it in). */
export async function loadVerification(file: string | undefined, overrides: readonly Override[] = []): Promise<VerificationSpec> {
  if (!file) return parseLocated('{}', 'command line', verificationSchema, overrides).data;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError([{ file, field: '', message: `cannot read the verification file: ${(error as Error).message}`, hint: 'check the path' }]);
  }
  return parseLocated(text, file, verificationSchema, overrides).data;
}
