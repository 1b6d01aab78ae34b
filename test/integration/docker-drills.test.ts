import { describe, expect, it } from 'vitest';
import { OBJECTIVE } from '../../src/measure/verdict.js';
import { cli, drill, expectDumpLoss, expectEqualToSource, expectPitrLoss, leftovers, objective, privateTmp, removeDir, shopWith } from '../support/drills.js';
import { drillCounting, isTail } from '../support/counting.js';
import { containersOf, TEST_IMAGE } from '../support/provider-matrix.js';
import { ownerLabels, RUN_LABEL } from '../../src/providers/docker/docker-provider.js';
import { dockerode } from '../../src/providers/docker/runtime.js';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { S3RVER_CREDENTIALS, startS3rver } from '../../scripts/s3rver.js';

/**
 * The proof of the instance seam: every strategy runs in containers with no strategy knowing it.
 * The engine's tools run inside the containers, at the image's version; backups stream out of
 * them into the storage location and back.
 */
const docker = `provider: docker\n  image: ${TEST_IMAGE}`;
const inContainers = (engine: 'postgres' | 'mariadb', strategy: string) => shopWith(engine, strategy, { incident: 'kind: bad-delete, table: orders', target: docker, extra: 'objectives:\n  rpo: 1s\n' });

describe('drills in containers (docker provider, real containers)', () => {
  it('bad DELETE + pg-basebackup-wal on PostgreSQL in containers: exact loss, damage undone, equal to the source; tools ran inside', async () => {
    const outcome = await drill(inContainers('postgres', 'pg-basebackup-wal'));
    expectPitrLoss(outcome);
    const { journal } = outcome;
    expect(journal.provider).toBe('docker');
    expect(journal.instances!.map((instance) => instance.provider)).toEqual(['docker', 'docker']);
    expect(journal.instances![0]!.location).toMatch(/^container firedrill-test-source-/);
    expect(journal.commands.find((command) => command.phase === 'backup')!.command).toMatch(/^docker exec -u postgres firedrill-\S+ pg_basebackup -D - /);
    expect(journal.versions.tools.find((tool) => tool.name === 'pg_basebackup')!.version).toMatch(/pg_basebackup \(PostgreSQL\) 15/);
    expect(await containersOf('test')).toEqual([]);
  });

  it('pg-dump in containers into an S3 bucket: streamed out of the container into the bucket, and out of it into another container', async () => {
    const server = await startS3rver();
    const saved = { ...process.env };
    Object.assign(process.env, S3RVER_CREDENTIALS);
    onTestFinished(async () => {
      for (const key of Object.keys(S3RVER_CREDENTIALS)) if (saved[key] === undefined) delete process.env[key];
      await server.stop();
    });
    const storage = `  primary: { type: s3, bucket: ${server.bucket}, endpoint: "${server.endpoint}", pathStyle: true, checksums: when-required }`;
    const outcome = await drill(shopWith('postgres', 'pg-dump', { incident: 'kind: bad-delete, table: orders', target: docker, storage }));
    expect(outcome.journal.provider).toBe('docker');
    expect(outcome.journal.storage![0]).toMatchObject({ type: 's3' });
    expect(outcome.journal.recovery).toMatchObject({ restored: true, point: 'backup' });
    expect(objective(outcome.journal, OBJECTIVE.equalToSource).passed).toBe(true);
    expect(objective(outcome.journal, OBJECTIVE.backupsIntact).passed).toBe(true);
    expect(await containersOf('test')).toEqual([]);
  });

  it('mariabackup on MariaDB in containers: streamed out of one container into storage and into another, checked, started', async () => {
    const { journal } = await drill(inContainers('mariadb', 'mariabackup'));
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ restored: true, point: 'backup' });
    expect(objective(journal, OBJECTIVE.backupsIntact)).toMatchObject({ passed: true });
    expectEqualToSource(journal, 'without workload rows');
    expect(journal.commands.some((command) => /^docker exec -i -u mysql \S+ mbstream -x /.test(command.command))).toBe(true);
    expect(journal.damage).toMatchObject({ undone: true });
  });

  it.each([
    ['postgres', 'pg-dump'],
    ['mariadb', 'mysqldump'],
  ] as const)('%s %s in containers: exactly the writes after the dump are lost', async (engine, strategy) => {
    expectDumpLoss(await drill(inContainers(engine, strategy)));
  });

  it.each([
    ['mariadb', 'mysqldump-binlog'],
    ['mariadb', 'mariabackup-binlog'],
  ] as const)('%s %s in containers: the binlog streamer runs beside the source, the replay stops just before the fault', async (engine, strategy) => {
    const outcome = await drill(inContainers(engine, strategy).replace('  rpo: 1s\n', '  rpo: 0s\n'));
    expectPitrLoss(outcome);
  });

  it('pg-basebackup in containers, the backup cut before its checksum: the drill fails on the manifest, inside the container too', async () => {
    const { journal } = await drill(shopWith('postgres', 'pg-basebackup', { incident: 'kind: bad-delete, table: orders', latent: ['kind: corrupt-backup'], target: docker }));
    expect(objective(journal, OBJECTIVE.backupsIntact).reason).toMatch(/was changed after it was taken/);
    expect(journal.status).toBe('failed');
  });

  it.each([
    ['postgres', 'pg-basebackup-wal'],
    ['mariadb', 'mariabackup-binlog'],
  ] as const)('%s disk-loss in a container (%s): its data directory destroyed under load, restored into a new container, the loss counted', async (engine, strategy) => {
    const outcome = await drillCounting(shopWith(engine, strategy, { incident: 'kind: disk-loss', target: docker }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.fault!.sourceAfter).toBe('gone');
    expect(journal.recovery).toMatchObject({ restored: true, reached: true });
    expect(journal.instances!.map((instance) => [instance.name, instance.provider])).toEqual([
      ['source', 'docker'],
      ['restore', 'docker'],
    ]);
    expect(journal.ledger!.lost).toBe(outcome.lostByTest!.length);
    expect(isTail(outcome.ledger.acked, outcome.lostByTest!)).toBe(true);
    expect(await containersOf('test')).toEqual([]);
  });

  it.each(['postgres', 'mariadb'] as const)('%s replica-sync in containers: the primary killed, the standby in its own container promoted, nothing lost', async (engine) => {
    const outcome = await drillCounting(shopWith(engine, 'replica-sync', { incident: 'kind: kill-primary', target: docker, extra: 'objectives:\n  rpo: 0s\n' }));
    const { journal } = outcome;
    expect(journal.errors).toEqual([]);
    expect(journal.recovery).toMatchObject({ method: 'promote the standby (failover)', restored: true });
    expect(journal.instances!.find((instance) => instance.name === 'standby')!.location).toMatch(/^container firedrill-test-standby-/);
    expect(outcome.lostByTest).toEqual([]);
    expect(journal.status).toBe('passed');
    expect(await containersOf('test')).toEqual([]);
  });
});

describe('the firedrill command with containers (built CLI)', () => {
  async function setup(at: string) {
    const tmp = await privateTmp();
    const work = await mkdtemp(join(tmpdir(), 'firedrill-cli-'));
    onTestFinished(() => removeDir(work));
    const file = join(work, 'drill.yaml');
    await writeFile(file, shopWith('postgres', 'pg-basebackup', { incident: 'kind: bad-delete, table: orders', target: docker }).replace('at: 4s', `at: ${at}`));
    return { tmp, file, out: join(work, 'reports') };
  }

  it('Ctrl-C mid-drill exits 130 and leaves no container, network or process', async () => {
    const { tmp, file, out } = await setup('20s');
    let sent = false;
    const run = await cli(['run', file, '--out', out], {
      tmp,
      onStderr: (text, child) => {
        if (!sent && text.includes('✓ warmup')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    const runId = /reports\/([\w-]+)\//.exec(run.stderr)![1]!;
    expect(await containersOf(runId)).toEqual([]);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });

  it('after kill -9 of firedrill, cleanup finds its containers by their label and removes them', async () => {
    const { tmp, file, out } = await setup('30s');
    let killed = false;
    await cli(['run', file, '--out', out], {
      tmp,
      onStderr: (text, child) => {
        if (!killed && text.includes('✓ warmup')) {
          killed = true;
          child.kill('SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    const doctor = await cli(['doctor'], { tmp });
    const runId = /^ {2}(\d{8}-\d{6}-\w+) {2}container/m.exec(doctor.stdout)?.[1] ?? '';
    expect(runId).not.toBe('');
    expect((await containersOf(runId)).length).toBeGreaterThan(0);
    // A running drill of another run registry (another TMPDIR, user or CI job): its network is
    // labelled by this test's process, which is alive, so cleanup must leave it.
    const docker = await dockerode();
    const live = await docker.createNetwork({ Name: `firedrill-live-${process.pid}`, Driver: 'bridge', Labels: ownerLabels({ runId: 'another-live-run' }) });
    onTestFinished(() => live.remove().catch(() => undefined));
    const cleanup = await cli(['cleanup'], { tmp });
    expect(cleanup.code).toBe(0);
    expect(cleanup.stdout).toMatch(/removed .* container: container firedrill-/);
    expect(cleanup.stdout).not.toContain('another-live-run');
    expect(await containersOf(runId)).toEqual([]);
    expect((await docker.listNetworks({ filters: { label: [`${RUN_LABEL}=another-live-run`] } })).length).toBe(1);
    expect(await leftovers(tmp)).toEqual({ entries: [], processes: [] });
  });
});
