import { describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { walSegmentOf } from '../../src/strategies/postgres-wal.js';
import { drill, objective, shopWith } from '../support/drills.js';

/**
 * Retention is a real deletion in a storage location: after each backup, what the policy does
 * not keep goes — the backups and the archived WAL no kept backup needs — and what it keeps
 * must still restore, even when the newest is then lost.
 */
describe('retention prunes the primary location after each backup', () => {
  it('keep the last 2 of 3: backup 1 and the WAL before backup 2 are deleted; with the newest lost, backup 2 still restores to the fault', async () => {
    let keys: string[] = [];
    const { journal, ledger } = await drill(
      shopWith('postgres', 'pg-basebackup-wal', {
        incident: 'kind: bad-delete, table: orders',
        latent: ['kind: missing-backup'],
        backups: '{ count: 3, every: 1500ms, retention: { last: 2 } }',
        target: "settings: { archive_timeout: 1s }",
      }).replace('at: 4s', 'at: 7s'),
      {
        hooks: {
          beforeRestore: async (context) => {
            keys = await context.storage.list('');
          },
        },
      },
    );
    expect(journal.errors).toEqual([]);
    expect(journal.backups!.map((backup) => backup.pruned ?? false)).toEqual([true, false, false]);
    const passes = journal.retention!.passes;
    expect(journal.retention!.policy).toBe('2 last');
    expect(passes.map((pass) => pass.removed.map((removed) => removed.backup))).toEqual([[], [], [1]]);
    expect(passes[2]!.kept).toEqual([
      { backup: 2, rules: ['last'] },
      { backup: 3, rules: ['last'] },
    ]);
    // What is left in the location: no file of backup 1, no segment before backup 2's first.
    const firstNeeded = walSegmentOf(journal.backups![1]!.consistentAt!.detail!.split(' ')[1]!);
    const segments = keys.filter((key) => key.startsWith('pg-wal/')).map((key) => key.slice('pg-wal/'.length));
    expect(keys.some((key) => key.includes('/backup-1/'))).toBe(false);
    expect(keys.some((key) => key.includes('/backup-2/'))).toBe(true);
    expect(passes[2]!.archiveRemoved.length).toBeGreaterThan(0);
    expect(passes[2]!.archiveRemoved.every((name) => name < firstNeeded)).toBe(true);
    expect(segments.every((name) => name >= firstNeeded)).toBe(true);
    expect(segments).toContain(firstNeeded);
    // The newest was lost (the latent fault); the older kept one, with its WAL, undoes the DELETE.
    expect(journal.recovery).toMatchObject({ restored: true, reached: true, backupUsed: 2, attempts: [{ backup: 3 }] });
    expect(objective(journal, OBJECTIVE.damageUndone).passed).toBe(true);
    const faultUs = journal.fault!.point.serverTimeUs;
    expect(journal.ledger!.lost).toBe(ledger.acked.filter((write) => write.serverTimeUs > faultUs).length);
    // A pruned backup is not a defect; the lost newest one is.
    expect(objective(journal, OBJECTIVE.backupsIntact).reason).not.toMatch(/backup 1/);
    expect(journal.status).toBe('failed');
  });
});
