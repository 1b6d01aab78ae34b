/**
 * `npm run bench`: figures, not assertions. Each comparison is measured side by side in one
 * run, on the same machine, so ratios mean something even where absolute times do not.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import getPort from 'get-port';
import pino from 'pino';
import { ShopDataset } from '../src/datasets/shop.js';
import { engines } from '../src/engines/index.js';
import type { ConnectionInfo, Engine, SqlSession } from '../src/engines/engine.js';
import { findPostgresInstallation } from '../src/engines/postgres-binaries.js';
import type { Journal } from '../src/journal/types.js';
import type { Provider, ProviderContext, StartedInstance } from '../src/providers/provider.js';
import { dockerProvider } from '../src/providers/docker/docker-provider.js';
import { localProvider } from '../src/providers/local/local-provider.js';
import { runDrill } from '../src/runner/drill.js';
import { planDrills } from '../src/runner/run.js';
import { buildSweeps } from '../src/report/sweep.js';
import { forecast } from '../src/measure/forecast.js';
import { loadScenario, parseScenario } from '../src/scenario/loader.js';
import { DrillClock } from '../src/util/clock.js';
import { formatDuration } from '../src/util/duration.js';
import { CommandRunner, shellQuote } from '../src/util/exec.js';
import { makeOwnedDir, makeRunTempDir, serviceUser } from '../src/util/os-user.js';
import { ResourceStack } from '../src/util/resources.js';
import { Workload } from '../src/workload/workload.js';
import { formatBytes, formatCount } from '../src/report/format.js';
import { loadVerification } from '../src/verify/spec.js';
import { verifyBackup } from '../src/verify/verify.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../scripts/s3rver.js';
import { LocalDirectoryStorage } from '../src/storage/local-directory.js';
import { Replicator } from '../src/storage/replicate.js';
import { s3Options, S3Storage } from '../src/storage/s3.js';
import { copyArchiveCommand, lsnBytes, nextWalSegment, walSegmentOf } from '../src/strategies/postgres-wal.js';

const run = promisify(execFile);
const log = pino({ enabled: false });

interface Row {
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}
const rows: Row[] = [];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function withResources<T>(fn: (context: ProviderContext) => Promise<T>): Promise<T> {
  const clock = new DrillClock();
  await using resources = new ResourceStack();
  const workDir = await makeRunTempDir('firedrill-bench-');
  resources.add('directory', workDir, () => rm(workDir, { recursive: true, force: true }));
  const exec = new CommandRunner({ now: () => clock.now() });
  // `return await`: the resources must outlive fn, not just its first tick.
  return await fn({ exec, resources, workDir, log, runId: 'bench', saveLog: () => undefined });
}

/** The image the docker figures use: the official ones where they can be pulled, the suite's own here. */
const BENCH_IMAGE = process.env.FIREDRILL_BENCH_IMAGE ?? 'localhost/firedrill-db:bookworm';

/** Time from nothing to a throwaway server answering queries: create + initialize + start. */
async function instanceReady(engine: Engine, runs: number, provider: Provider = localProvider): Promise<void> {
  const totals: number[] = [];
  const starts: number[] = [];
  const docker = provider.name === 'docker';
  for (let i = -1; i < runs; i++) {
    await withResources(async (context) => {
      const began = performance.now();
      const instance = await provider.create({ name: `bench-${i + 1}`, engine, ...(docker ? { image: BENCH_IMAGE } : {}) }, context);
      await instance.initialize();
      const started = await instance.start();
      // The first run of each makes the template the others copy: it is not what a drill pays.
      if (i >= 0) {
        totals.push(performance.now() - began);
        starts.push(started.readiness.waitedMs);
      }
    });
  }
  const target = docker ? 2000 : engine.name === 'postgres' ? 1000 : 1500;
  const what = docker ? `container instance ready (median of ${runs}; container + init + start)` : `throwaway instance ready (median of ${runs}; init + start)`;
  rows.push({ figure: `${engine.displayName} ${what}`, value: formatDuration(median(totals)), target: `≤ ${formatDuration(target)}`, met: median(totals) <= target });
  rows.push({ figure: `  of which start → first answered query`, value: formatDuration(median(starts)), target: '', met: null });
}

/**
 * The raw restore a careful person would type, from a copy of the drill's storage: check the
 * backup's checksum, unpack it, check it against its manifest, copy the archived WAL beside
 * the server, recover to just before the fault. Returns the milliseconds it took.
 */
async function rawPitrRestore(storage: string, xid: string, sha256: string): Promise<number> {
  const bindir = (await findPostgresInstallation()).program('postgres')!.replace(/\/postgres$/, '');
  const user = serviceUser('postgres');
  const dir = await makeRunTempDir('firedrill-bench-raw-');
  const data = join(dir, 'data');
  await makeOwnedDir(data, user);
  if (user) await run('chown', [user.name, dir]);
  const port = await getPort({ host: '127.0.0.1' });
  const as = user ? `runuser -u ${user.name} -- ` : '';
  const base = join(storage, 'pg-basebackup-wal', 'backup-1', 'base.tar.gz');
  const wal = join(dir, 'wal');
  const script = `set -e
echo ${shellQuote(`${sha256}  ${base}`)} | sha256sum -c --quiet
${as}tar -x -z -f ${shellQuote(base)} -C ${shellQuote(data)}
${as}${bindir}/pg_verifybackup --no-parse-wal ${shellQuote(data)} > /dev/null
${as}mkdir ${shellQuote(wal)} && ${as}cp ${shellQuote(join(storage, 'pg-wal'))}/* ${shellQuote(wal)}/
${as}touch ${shellQuote(join(data, 'recovery.signal'))}
${as}${bindir}/postgres -D ${shellQuote(data)} -c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${shellQuote(data)} \\
  -c restore_command=${shellQuote(`cp ${wal}/%f %p`)} -c recovery_target_xid=${xid} -c recovery_target_inclusive=false \\
  -c recovery_target_action=promote -c archive_mode=off > ${shellQuote(join(dir, 'server.log'))} 2>&1 &
until [ "$(${bindir}/psql -X -h 127.0.0.1 -p ${port} -U postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.025; done
`;
  const began = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: 'ignore' });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`raw restore failed (exit ${code}); see ${dir}/server.log`))));
  });
  const elapsed = performance.now() - began;
  await run(`${bindir}/pg_ctl`, ['-D', data, 'stop', '-m', 'fast'], user ? { uid: user.uid, gid: user.gid } : {}).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  return elapsed;
}

const RESTORE_PHASES = ['target', 'fetch', 'verify-backup', 'restore', 'start', 'replay'];

/** firedrill's restore phases vs the same restore from a shell, on the same backup. */
async function restoreOverhead(runs: number): Promise<void> {
  const scenario = await parseScenario(
    `name: bench-restore
target: { engine: postgres, dataset: { builtin: shop, scale: 1 } }
workload: { writers: 4, rate: 200, warmup: 1s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 5s, detectAfter: 1s }
`,
    'bench-restore.yaml',
  );
  const harness: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < runs; i++) {
    const copy = await mkdtemp(join(tmpdir(), 'firedrill-bench-copy-'));
    const runDir = await mkdtemp(join(tmpdir(), 'firedrill-bench-reports-'));
    try {
      const { journal } = await runDrill(scenario, {
        runId: 'bench',
        runDir,
        hooks: {
          // The raw restore runs from a copy of the backup and archive, just before firedrill's
          // own, under the same conditions (the source still up, the same files in cache).
          beforeRestore: async ({ storage }, fault, backups) => {
            await cp(storage.address, copy, { recursive: true, preserveTimestamps: true });
            await run('chmod', ['-R', 'a+rX', copy]);
            raw.push(await rawPitrRestore(copy, fault.point.transaction!, backups[0]!.objects[0]!.sha256));
          },
        },
      });
      if (journal.status !== 'passed') throw new Error(`bench drill ${journal.status}: ${journal.errors.map((e) => e.message).join('; ')}`);
      harness.push(journal.phases.filter((phase) => RESTORE_PHASES.includes(phase.name)).reduce((sum, phase) => sum + phase.durationMs, 0));
    } finally {
      await rm(copy, { recursive: true, force: true });
      await rm(runDir, { recursive: true, force: true });
    }
  }
  const ratio = median(harness) / median(raw);
  rows.push({ figure: `PITR restore, firedrill (target … replay, median of ${runs})`, value: formatDuration(median(harness)), target: '', met: null });
  rows.push({ figure: `PITR restore, raw tools from a shell (median of ${runs})`, value: formatDuration(median(raw)), target: '', met: null });
  rows.push({ figure: '  ratio firedrill / raw', value: ratio.toFixed(3), target: '≤ 1.05', met: ratio <= 1.05 });
}

/**
 * The same point-in-time drill on local binaries and in containers, alternating, and the ratio
 * of their restore paths (target … replay): what running the tools through `docker exec` and
 * streaming the backup into a container costs.
 */
async function dockerVsLocal(runs: number): Promise<void> {
  const scenario = (provider: string) =>
    parseScenario(
      `name: bench-docker-vs-local
target: { engine: postgres, ${provider}, dataset: { builtin: shop, scale: 1 } }
workload: { writers: 4, rate: 200, warmup: 1s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 5s, detectAfter: 1s }
`,
      'bench-docker.yaml',
    );
  const restore: Record<string, number[]> = { local: [], docker: [] };
  const unpack: Record<string, number[]> = { local: [], docker: [] };
  for (let i = 0; i < runs; i++) {
    for (const [name, target] of [['local', 'provider: local'], ['docker', `provider: docker, image: ${JSON.stringify(BENCH_IMAGE)}`]] as const) {
      const runDir = await mkdtemp(join(tmpdir(), 'firedrill-bench-reports-'));
      try {
        const { journal } = await runDrill(await scenario(target), { runId: 'bench', runDir });
        if (journal.status !== 'passed') throw new Error(`bench drill on ${name} ${journal.status}: ${journal.errors.map((e) => e.message).join('; ')}`);
        const after = journal.phases.filter((phase) => phase.startMs >= journal.fault!.atMs);
        restore[name]!.push(after.filter((phase) => RESTORE_PHASES.includes(phase.name)).reduce((sum, phase) => sum + phase.durationMs, 0));
        unpack[name]!.push(after.filter((phase) => phase.name === 'fetch').reduce((sum, phase) => sum + phase.durationMs, 0));
      } finally {
        await rm(runDir, { recursive: true, force: true });
      }
    }
  }
  const ratio = median(unpack.docker!) / median(unpack.local!);
  rows.push({ figure: `PITR restore phase (fetch: base backup checked and unpacked), local binaries (median of ${runs})`, value: formatDuration(median(unpack.local!)), target: '', met: null });
  rows.push({ figure: `PITR restore phase (fetch), in containers (median of ${runs})`, value: formatDuration(median(unpack.docker!)), target: '', met: null });
  rows.push({ figure: '  ratio docker / local', value: ratio.toFixed(2), target: '≤ 1.30', met: ratio <= 1.3 });
  const whole = median(restore.docker!) / median(restore.local!);
  rows.push({ figure: `whole restore path (target … replay), local / in containers (median of ${runs})`, value: `${formatDuration(median(restore.local!))} / ${formatDuration(median(restore.docker!))}`, target: '', met: null });
  // Making the container and every docker exec (tens of ms each on Podman) is the rest of the difference.
  rows.push({ figure: '  ratio docker / local, whole path', value: whole.toFixed(2), target: '', met: null });
}

/** firedrill's workload vs pgbench running the same transaction with the same clients. */
async function workloadVsPgbench(seconds: number, clients: number): Promise<void> {
  const engine = engines.postgres;
  await withResources(async (context) => {
    const instance = await localProvider.create({ name: 'bench-load', engine }, context);
    await instance.initialize();
    const server: StartedInstance = await instance.start();
    const admin = await engine.connect(server.connection);
    await engine.createDatabase(admin, engine.databaseName);
    await admin.close();
    const connection = { ...server.connection, database: engine.databaseName };
    const session = await engine.connect(connection);
    const dataset = new ShopDataset(1, 42);
    await dataset.load({ engine, instance: server, connection, session });
    for (const statement of engine.ledgerDdl()) await session.query(statement);
    await session.query('CREATE SEQUENCE bench_ids START 2000000000');
    await session.close();

    const clock = new DrillClock();
    const workload = new Workload({ engine, connection, dataset, writers: clients, rate: null, seed: 1, now: () => clock.now(), log });
    await workload.start();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    await workload.stop();
    const firedrillTps = workload.ledger.acked.length / ((workload.stoppedAtMs! - workload.startedAtMs!) / 1000);

    // The same statements: barrier, an order, its items (2.5 on average in firedrill's shop), the ledger row.
    const script = join(context.workDir, 'transaction.sql');
    await writeFile(
      script,
      `\\set c random(1, 1000)
\\set p random(1, 200)
BEGIN;
SELECT pg_advisory_xact_lock_shared(7310001);
INSERT INTO orders (order_id, customer_id, status, total) VALUES (nextval('bench_ids'), :c, 'new', 42.00);
INSERT INTO order_items (order_id, line_no, product_id, quantity, price) VALUES (currval('bench_ids'), 1, :p, 1, 10.00), (currval('bench_ids'), 2, :p, 2, 16.00), (currval('bench_ids'), 3, :p, 1, 16.00);
INSERT INTO firedrill_ledger (writer, seq, ref) VALUES (:client_id + 100, currval('bench_ids'), currval('bench_ids')) RETURNING (extract(epoch from written_at) * 1000000)::bigint;
COMMIT;
`,
    );
    const pgbench = (await findPostgresInstallation()).program('pgbench')!;
    const { stdout } = await run(pgbench, ['-n', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-f', script, '-h', '127.0.0.1', '-p', String(server.connection.port), '-U', 'postgres', engine.databaseName]);
    const pgbenchTps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
    rows.push({ figure: `workload, firedrill (${clients} writers, as fast as possible, ${seconds} s)`, value: `${firedrillTps.toFixed(0)} tx/s`, target: '', met: null });
    rows.push({ figure: `workload, pgbench (same transaction, -c ${clients}, ${seconds} s)`, value: `${pgbenchTps.toFixed(0)} tx/s`, target: '', met: null });
    rows.push({ figure: '  ratio firedrill / pgbench', value: (firedrillTps / pgbenchTps).toFixed(2), target: '≥ 0.80', met: firedrillTps / pgbenchTps >= 0.8 });
  });
}

/** The canonical drill end to end, minus the time the workload itself ran. */
async function canonicalDrill(): Promise<void> {
  const scenario = await loadScenario('scenarios/sakila-pitr.yaml');
  const runDir = await mkdtemp(join(tmpdir(), 'firedrill-bench-reports-'));
  try {
    const { journal } = await runDrill(scenario, { runId: 'bench', runDir });
    if (journal.status === 'error') throw new Error(`canonical drill could not run: ${journal.errors.map((e) => e.message).join('; ')}`);
    const workloadMs = journal.workload.endMs! - journal.workload.startMs!;
    const overhead = journal.durationMs - workloadMs;
    rows.push({ figure: 'canonical drill (sakila, 20 s workload, bad-delete, pg-basebackup-wal), total', value: formatDuration(journal.durationMs), target: '', met: null });
    rows.push({ figure: '  minus the workload time', value: formatDuration(overhead), target: '≤ 15.00 s', met: overhead <= 15_000 });
    rows.push({ figure: '  its RTO (service / verified)', value: `${formatDuration(journal.measurements.rtoServiceMs)} / ${formatDuration(journal.measurements.rtoVerifiedMs)}`, target: '', met: null });
    breakdown(journal);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

function breakdown(journal: Journal): void {
  for (const phase of journal.phases) rows.push({ figure: `    phase ${phase.name}`, value: formatDuration(phase.durationMs), target: '', met: null });
}

function print(): void {
  const width = Math.max(...rows.map((row) => row.figure.length)) + 2;
  const lines = rows.map((row) => `${row.figure.padEnd(width)}${row.value.padStart(14)}  ${row.target.padEnd(10)} ${row.met === null ? '' : row.met ? 'met' : 'NOT MET'}`);
  process.stdout.write(`\n${'figure'.padEnd(width)}${'value'.padStart(14)}  ${'target'.padEnd(10)} \n${lines.join('\n')}\n`);
}

/**
 * Streaming a large backup into S3 (s3rver on loopback): peak memory of the uploading process
 * through firedrill's s3 location, and its throughput against a bare lib-storage upload of the
 * same bytes, alternated so both see the same disk and server.
 */
async function s3Upload(bytes: number, runs: number): Promise<void> {
  const server = await startS3rver('bench');
  try {
    const once = async (mode: 'firedrill' | 'bare') => {
      const { stdout } = await run(process.execPath, [join(import.meta.dirname, 's3-upload.js'), mode, server.endpoint, server.bucket, String(bytes)], {
        env: { ...process.env, ...S3RVER_CREDENTIALS, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      return JSON.parse(stdout) as { seconds: number; maxRssBytes: number };
    };
    const ours: Array<{ seconds: number; maxRssBytes: number }> = [];
    const bare: Array<{ seconds: number; maxRssBytes: number }> = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await once('firedrill'));
      bare.push(await once('bare'));
    }
    const mb = (value: number) => `${(value / 1024 / 1024).toFixed(0)} MB`;
    const rate = (seconds: number) => bytes / 1024 / 1024 / seconds;
    const peak = Math.max(...ours.map((result) => result.maxRssBytes));
    rows.push({ figure: `peak RSS streaming ${mb(bytes)} into S3 through firedrill (max of ${runs})`, value: mb(peak), target: '≤ 150 MB', met: peak <= 150 * 1024 * 1024 });
    rows.push({ figure: '— bare lib-storage upload of the same bytes, peak RSS', value: mb(Math.max(...bare.map((result) => result.maxRssBytes))), target: '', met: null });
    const oursRate = median(ours.map((result) => rate(result.seconds)));
    const bareRate = median(bare.map((result) => rate(result.seconds)));
    rows.push({ figure: `upload throughput, firedrill (median of ${runs})`, value: `${oursRate.toFixed(1)} MB/s`, target: '', met: null });
    rows.push({ figure: `upload throughput, bare lib-storage (median of ${runs})`, value: `${bareRate.toFixed(1)} MB/s`, target: '', met: null });
    rows.push({ figure: '— ratio firedrill / bare', value: (oursRate / bareRate).toFixed(3), target: '≥ 0.9', met: oursRate / bareRate >= 0.9 });
  } finally {
    await server.stop();
  }
}

/**
 * WAL archiving into S3 under a write burst, the two designs side by side on the same server
 * build: archive_command running an uploader process per segment, and archive_command copying
 * into a spool that one long-lived uploader drains (what drills do). Figures: the WAL rate the
 * burst made, the segments not yet in the bucket when it ended (lost to a region loss at that
 * moment), and how long after the last segment closed the bucket had it.
 */
async function walArchiving(seconds: number, ratesMbPerS: number[]): Promise<void> {
  const engine = engines.postgres;
  const server = await startS3rver('bench-wal');
  const saved = { ...process.env };
  Object.assign(process.env, S3RVER_CREDENTIALS);
  try {
    for (const rate of ratesMbPerS)
    for (const design of ['command', 'spool'] as const) {
      await withResources(async (context) => {
        const spoolDir = join(context.workDir, 'spool');
        const options = s3Options.parse({ type: 's3', bucket: server.bucket, endpoint: server.endpoint, pathStyle: true, checksums: 'when-required' });
        const bucket = new S3Storage('bench', options, `wal-${design}-${process.pid}`);
        await bucket.open();
        const credentials = Object.entries(S3RVER_CREDENTIALS).map(([key, value]) => `${key}=${value}`).join(' ');
        const archiveCommand =
          design === 'spool'
            ? copyArchiveCommand(join(spoolDir, 'pg-wal'))
            : `${credentials} ${process.execPath} ${join(import.meta.dirname, 'archive-push.js')} ${server.endpoint} ${server.bucket} ${bucket.root} %p %f`;
        const instance = await localProvider.create(
          { name: `bench-wal-${design}`, engine, settings: { archive_mode: 'on', archive_command: archiveCommand, wal_level: 'replica', max_wal_size: '2GB' }, shared: [spoolDir], writable: [join(spoolDir, 'pg-wal')] },
          context,
        );
        await instance.initialize();
        const started = await instance.start();
        const clock = new DrillClock();
        const uploader = design === 'spool' ? new Replicator(new LocalDirectoryStorage('spool', spoolDir, 'home'), bucket, 500, () => clock.now(), log) : undefined;
        uploader?.start();
        const session = await engine.connect(started.connection);
        const lsn = async () => (await session.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
        const inBucket = async () => new Set((await bucket.list('pg-wal')).map((key) => key.slice(key.lastIndexOf('/') + 1)));
        await session.query('CREATE TABLE burst (id bigint, pad text)');
        const from = await lsn();
        const began = performance.now();
        // Batches of ~1 MB of WAL, paced to the rate: a busy server, not a disk benchmark.
        for (let batch = 1; performance.now() - began < seconds * 1000; batch++) {
          await session.query("INSERT INTO burst SELECT g, repeat('x', 500) FROM generate_series(1, 1600) g");
          const due = began + (batch * 1000) / rate;
          if (due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
        }
        const burstSeconds = (performance.now() - began) / 1000;
        const to = await lsn();
        // Every segment the burst closed, and how many the bucket already had as it ended.
        const closed: string[] = [];
        for (let segment = walSegmentOf(from); segment < walSegmentOf(to); segment = nextWalSegment(segment)) closed.push(segment);
        const present = await inBucket();
        const behind = closed.filter((segment) => !present.has(segment)).length;
        const [{ last }] = (await session.query<{ last: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS last')) as [{ last: string }];
        const switched = performance.now();
        while (!(await inBucket()).has(last)) {
          if (performance.now() - switched > 120_000) throw new Error(`WAL segment ${last} did not reach the bucket within 120 s (${design}); see ${context.workDir}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const caughtUp = performance.now() - switched;
        await session.close();
        await uploader?.stop(true);
        await bucket.destroy();
        const walMb = Number(lsnBytes(to) - lsnBytes(from)) / 1024 / 1024;
        const name = design === 'spool' ? 'spool + one uploader (firedrill)' : 'archive_command uploading each segment';
        rows.push({ figure: `WAL archiving into S3 at ${rate} MB/s, ${name}: measured`, value: `${(walMb / burstSeconds).toFixed(1)} MB/s`, target: '', met: null });
        rows.push({ figure: `  segments not yet in the bucket as the ${burstSeconds.toFixed(0)} s burst ended`, value: `${behind} of ${closed.length}`, target: '', met: null });
        rows.push({ figure: '  last segment in the bucket after it closed', value: formatDuration(caughtUp), target: '', met: null });
      });
    }
  } finally {
    for (const key of Object.keys(S3RVER_CREDENTIALS)) if (saved[key] === undefined) delete process.env[key];
    await server.stop();
  }
}

/**
 * `firedrill verify` of a large custom-format dump against the same restore and checks typed by
 * hand (a server started, pg_restore --jobs, pg_amcheck, a count of every table), alternated on
 * the same dump: a table of `count` rows of about 260 bytes, two indexes, dumped uncompressed.
 */
async function verifyVsHand(count: number, runs: number): Promise<void> {
  const engine = engines.postgres;
  await withResources(async (context) => {
    const created = await localProvider.create({ name: 'bench-source', engine }, context);
    await created.initialize();
    const source = await created.start();
    const database = { ...source.connection, database: engine.databaseName };
    const admin = await engine.connect(source.connection);
    await engine.createDatabase(admin, engine.databaseName);
    await admin.close();
    // Generated on the server, set-based: the built-in dataset's client-side load does not reach this size yet.
    const session = await engine.connect(database);
    await session.query(`CREATE TABLE events AS SELECT g AS id, now() - g * interval '1 second' AS at, md5(g::text) || repeat('x', 200) AS payload FROM generate_series(1, ${count}) g`);
    await session.query('ALTER TABLE events ADD PRIMARY KEY (id)');
    await session.query('CREATE INDEX events_at ON events (at)');
    await session.close();
    const dump = join(context.workDir, 'bench.dump');
    await source.run('pg_dump', ['--format=custom', '--compress=0', ...engine.clientArgs({ ...source.localConnection, database: engine.databaseName }), `--dbname=${engine.databaseName}`], { stdout: { file: dump } });
    await run('chmod', ['a+r', dump]);
    const bytes = (await stat(dump)).size;
    const jobs = Math.min(8, availableParallelism());
    const spec = await loadVerification(undefined);
    const byHand: number[] = [];
    const verified: number[] = [];
    for (let index = 0; index < runs; index++) {
      const began = performance.now();
      const record = await verifyBackup({ paths: [dump], spec, runId: 'bench' });
      verified.push(performance.now() - began);
      if (record.status !== 'passed') throw new Error(`bench verify ${record.status}: ${[...record.errors.map((e) => e.message), ...record.findings.map((f) => f.code)].join('; ')}`);
      byHand.push(
        await withResources(async (own) => {
          // From a server to start, as verify's time is: the same fixed costs on both sides.
          const start = performance.now();
          const instance = await localProvider.create({ name: 'bench-hand', engine }, own);
          await instance.initialize();
          const server = await instance.start();
          const target = { ...server.localConnection, database: 'restored' };
          const adminSession = await engine.connect(server.connection);
          await engine.createDatabase(adminSession, 'restored');
          await adminSession.close();
          await server.run('pg_restore', ['--no-password', `--jobs=${jobs}`, ...engine.clientArgs(target), '--dbname=restored', dump]);
          await server.run('pg_amcheck', ['--install-missing', '--heapallindexed', ...engine.clientArgs(target), '--database=restored']);
          const counting = await engine.connect({ ...server.connection, database: 'restored' });
          for (const table of await engine.listTables(counting)) await counting.query(`SELECT count(*) FROM ${table}`);
          await counting.close();
          return performance.now() - start;
        }),
      );
    }
    const ratio = median(verified) / median(byHand);
    rows.push({ figure: `verify of a ${formatBytes(bytes)} custom-format dump (median of ${runs})`, value: formatDuration(median(verified)), target: '', met: null });
    rows.push({ figure: `  the same restore and checks by hand (pg_restore --jobs=${jobs}, pg_amcheck, counts)`, value: formatDuration(median(byHand)), target: '', met: null });
    rows.push({ figure: '  ratio verify / by hand', value: ratio.toFixed(3), target: '≤ 1.1', met: ratio <= 1.1 });
  });
}

/**
 * The body of the worker `ledgerAtVolume` starts: builds the ledger and the restored rows, lets
 * the main thread take its baseline, then compares once. Runs from its source text in a fresh
 * worker, so it refers to nothing outside itself.
 */
async function compareLedgerInWorker(): Promise<void> {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  const { module, writes, present } = workerData as { module: string; writes: number; present: number };
  const { compareLedger } = (await import(module)) as typeof import('../src/measure/ledger.js');
  const acked = Array.from({ length: writes }, (_, index) => ({ writer: 1 + (index % 8), seq: Math.floor(index / 8) + 1, serverTimeUs: 1_000_000 + index * 10 }));
  // Rows read back from a database are objects of their own, not the ledger's.
  const restored = acked.slice(0, present).map((write) => ({ ...write }));
  // Half of the missing writes come after the fault: both kinds of loss are counted.
  const faultTimeUs = 1_000_000 + (writes - (writes - present) / 2) * 10;
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  parentPort!.postMessage('built');
  parentPort!.once('message', () => {
    const began = performance.now();
    const result = compareLedger({ acked, indeterminate: [], failed: 0, present: restored, faultTimeUs, targetTimeUs: faultTimeUs, detectedTimeUs: null });
    parentPort!.postMessage({ ms: performance.now() - began, lost: result.lost, lostToDetection: result.lostToDetection });
  });
}

/**
 * The ledger compared at volume: `writes` acknowledged writes against all of them restored, all
 * but 1,000, and none (a total loss). Each comparison runs in a fresh worker thread, so only its
 * inputs are in that heap; the main thread samples the process's RSS every millisecond while it
 * runs, and the peak above the RSS with the inputs built is the comparison's extra memory.
 */
async function ledgerAtVolume(writes: number): Promise<void> {
  const module = new URL('../src/measure/ledger.js', import.meta.url).href;
  for (const present of [writes, writes - 1000, 0]) {
    const worker = new Worker(`(${compareLedgerInWorker.toString()})()`, { eval: true, workerData: { module, writes, present } });
    const measured = await new Promise<{ ms: number; lost: number; lostToDetection: number; extraBytes: number }>((resolve, reject) => {
      let baseline = 0;
      let peak = 0;
      let sampler: NodeJS.Timeout | undefined;
      worker.on('error', reject);
      worker.on('message', (message: 'built' | { ms: number; lost: number; lostToDetection: number }) => {
        if (message === 'built') {
          baseline = peak = process.memoryUsage.rss();
          sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 1);
          worker.postMessage('compare');
          return;
        }
        clearInterval(sampler);
        resolve({ ...message, extraBytes: Math.max(peak, process.memoryUsage.rss()) - baseline });
      });
    });
    await worker.terminate();
    if (measured.lost !== writes - present) throw new Error(`ledger bench: ${measured.lost} lost of ${writes} with ${present} present; expected ${writes - present}`);
    const against = present === 0 ? 'an empty restore (total loss)' : `${formatCount(present)} restored`;
    rows.push({ figure: `ledger: ${formatCount(writes)} acknowledged writes against ${against}`, value: formatDuration(measured.ms), target: '≤ 2.00 s', met: measured.ms <= 2000 });
    // Decimal megabytes, as the target is written.
    rows.push({ figure: `  extra memory (peak RSS above the inputs; ${formatCount(measured.lost)} lost, ${formatCount(measured.lostToDetection)} to detection)`, value: `${(measured.extraBytes / 1e6).toFixed(1)} MB`, target: '≤ 200 MB', met: measured.extraBytes <= 200e6 });
  }
}

/** A new database on a bench server, and a session on it for `fn`. */
async function inNewDatabase<T>(server: StartedInstance, name: string, fn: (session: SqlSession, connection: ConnectionInfo) => Promise<T>): Promise<T> {
  const { engine } = server;
  const admin = await engine.connect(server.connection);
  await engine.createDatabase(admin, name);
  await admin.close();
  const connection = { ...server.connection, database: name };
  const session = await engine.connect(connection);
  try {
    return await fn(session, connection);
  } finally {
    await session.close();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await fn();
  return performance.now() - began;
}

const SHOP_TABLES = `('customers', 'products', 'orders', 'order_items')`;

function seedRows(what: string, shopMs: number, shopBytes: number, tools: Array<{ tool: string; ms: number; bytes: number; target: boolean }>): void {
  rows.push({ figure: `seed, built-in shop on ${what}`, value: `${formatDuration(shopMs)} (${formatBytes(shopBytes)})`, target: '', met: null });
  for (const { tool, ms, bytes, target } of tools) {
    rows.push({ figure: `  ${tool}`, value: `${formatDuration(ms)} (${formatBytes(bytes)})`, target: '', met: null });
    const ratio = shopMs / shopBytes / (ms / bytes);
    rows.push({ figure: `  ratio shop / ${tool.split(' ')[0]}, time per byte`, value: ratio.toFixed(2), target: target ? '≤ 1.20' : '', met: target ? ratio <= 1.2 : null });
  }
}

/**
 * The built-in dataset seeded at `bytes` against the engine's own bulk path writing as much:
 * `pgbench -i` at the scale that takes the same space (found from a small pgbench -i first), and
 * on MariaDB a `LOAD DATA` of the very rows the shop generated (exported first, outside the
 * timing) into tables of the same keys and indexes. A checkpoint before each timed load, so
 * neither pays for the other's dirty pages.
 */
async function seedVsBulkTools(bytes: number): Promise<void> {
  const scale = ShopDataset.scaleFor(bytes);
  await withResources(async (context) => {
    const engine = engines.postgres;
    const instance = await localProvider.create({ name: 'bench-seed', engine }, context);
    await instance.initialize();
    const server = await instance.start();
    const size = (session: SqlSession, like: string) =>
      session.query<{ bytes: string }>(`SELECT sum(pg_total_relation_size(oid)) AS bytes FROM pg_class WHERE relkind = 'r' AND relname ${like}`).then(([row]) => Number(row!.bytes));
    const admin = await engine.connect(server.connection);
    const checkpoint = () => admin.query('CHECKPOINT');
    await checkpoint();
    const [shopMs, shopBytes, shopRows] = await inNewDatabase(server, engine.databaseName, async (session, connection) => [
      await timed(() => new ShopDataset(scale, 42).load({ engine, instance: server, connection, session })),
      await size(session, `IN ${SHOP_TABLES}`),
      await session
        .query<{ rows: string }>(`SELECT ${ShopDataset.tables.map((table) => `(SELECT count(*) FROM ${table})`).join(' + ')} AS rows`)
        .then(([row]) => Number(row!.rows)),
    ]);
    // The same rows through the engine's own bulk path for this schema: pg_restore of a dump of
    // them (COPY, then the same keys, indexes and foreign keys), as many jobs as the shop's sessions.
    const dump = join(server.paths.scratch, 'shop-dump');
    await server.claim(dump);
    await server.run('pg_dump', ['--format=directory', '--compress=0', ...engine.clientArgs({ ...server.localConnection, database: engine.databaseName }), `--dbname=${engine.databaseName}`, `--file=${dump}`]);
    await checkpoint();
    const [restoreMs, restoreBytes] = await inNewDatabase(server, 'restored', async (session) => [
      await timed(() => server.run('pg_restore', ['--no-password', '--exit-on-error', '--jobs=2', ...engine.clientArgs({ ...server.localConnection, database: 'restored' }), '--dbname=restored', dump])),
      await size(session, `IN ${SHOP_TABLES}`),
    ]);
    const pgbench = (await findPostgresInstallation()).program('pgbench')!;
    const pgbenchInit = (database: string, pgbenchScale: number) =>
      run(pgbench, ['-i', '-q', '-s', String(pgbenchScale), '-h', '127.0.0.1', '-p', String(server.connection.port), '-U', 'postgres', database]);
    const perPgbenchScale = await inNewDatabase(server, 'calibration', async (session) => {
      await pgbenchInit('calibration', 5);
      return (await size(session, `LIKE 'pgbench%'`)) / 5;
    });
    const pgbenchScale = Math.max(1, Math.round(shopBytes / perPgbenchScale));
    await checkpoint();
    const [pgbenchMs, pgbenchBytes] = await inNewDatabase(server, 'pgbench', async (session) => [await timed(() => pgbenchInit('pgbench', pgbenchScale)), await size(session, `LIKE 'pgbench%'`)]);
    await admin.close();
    seedRows(`PostgreSQL (scale ${scale})`, shopMs, shopBytes, [
      { tool: `pgbench -i -s ${pgbenchScale}`, ms: pgbenchMs, bytes: pgbenchBytes, target: true },
      { tool: 'pg_restore --jobs=2 of a dump of the same rows', ms: restoreMs, bytes: restoreBytes, target: false },
    ]);
    // Per row too: a load costs per row as well as per byte, and the shop's rows are narrower than
    // pgbench's (100,000 accounts, 10 tellers and a branch per pgbench scale).
    const pgbenchRows = pgbenchScale * 100_011;
    rows.push({ figure: `  ratio shop / pgbench, time per row (${formatCount(shopRows)} rows / ${formatCount(pgbenchRows)})`, value: (shopMs / shopRows / (pgbenchMs / pgbenchRows)).toFixed(2), target: '', met: null });
    if (restoreBytes < shopBytes / 2) throw new Error(`bench seed: pg_restore of the shop's dump left ${restoreBytes} bytes of its ${shopBytes}`);
  });
  await withResources(async (context) => {
    const engine = engines.mariadb;
    const instance = await localProvider.create({ name: 'bench-seed', engine }, context);
    await instance.initialize();
    const server = await instance.start();
    const admin = await engine.connect(server.connection);
    const size = (database: string) =>
      admin.query<{ bytes: string }>(`SELECT SUM(ALLOCATED_SIZE) AS bytes FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE '${database}/%'`).then(([row]) => Number(row!.bytes));
    // MariaDB has no CHECKPOINT: with no dirty pages allowed, InnoDB flushes them all in the background.
    const flush = async () => {
      await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
      for (let waited = 0; waited < 60_000; waited += 200) {
        const [row] = await admin.query<{ Value: string }>(`SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'`);
        if (Number(row!.Value) === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await admin.query('SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT');
    };
    try {
      await flush();
      const shopMs = await inNewDatabase(server, engine.databaseName, (session, connection) => timed(() => new ShopDataset(scale, 42).load({ engine, instance: server, connection, session })));
      const shopBytes = await size(engine.databaseName);
      const files = join(server.paths.scratch, 'rows');
      await server.claim(files);
      await engine.createDatabase(admin, 'bulk');
      for (const table of ShopDataset.tables) {
        await admin.query(`SELECT * FROM ${engine.databaseName}.${table} INTO OUTFILE '${files}/${table}.tsv'`);
        await admin.query(`CREATE TABLE bulk.${table} LIKE ${engine.databaseName}.${table}`);
      }
      await flush();
      // The same two loads side by side as the shop's, with the checks off that a bulk load turns off.
      const load = async (tables: string[]) => {
        const session = await engine.connect({ ...server.connection, database: 'bulk' });
        try {
          for (const statement of ['SET unique_checks = 0', 'SET foreign_key_checks = 0']) await session.query(statement);
          for (const table of tables) await session.query(`LOAD DATA INFILE '${files}/${table}.tsv' INTO TABLE ${table}`);
        } finally {
          await session.close();
        }
      };
      const loadMs = await timed(() => Promise.all([load(['customers', 'orders']), load(['products', 'order_items'])]));
      seedRows(`MariaDB (scale ${scale})`, shopMs, shopBytes, [{ tool: 'LOAD DATA of the same rows', ms: loadMs, bytes: await size('bulk'), target: true }]);
    } finally {
      await admin.close();
    }
  });
}

/**
 * The forecast against a measurement: a sweep of the point-in-time drill at `sizes`, its model's
 * forecast for a drill `times` larger than the largest, and that drill measured. The forecast is
 * made for the big drill's own data and log volume (what it restored and replayed), so the two
 * answer the same question. Also the restore's write rate against the disk's, at each size.
 */
async function forecastVsMeasured(sizes: readonly string[], larger: string): Promise<void> {
  const text = (sweep: string) => `name: bench-sweep
target: { engine: postgres, dataset: { builtin: shop } }
workload: { writers: 2, rate: 100, warmup: 2s, resume: 0s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 4s, detectAfter: 1s }
${sweep}
`;
  const runDir = await mkdtemp(join(tmpdir(), 'firedrill-bench-sweep-'));
  try {
    const scenario = await parseScenario(text(`sweep: { size: [${sizes.join(', ')}, ${larger}] }`), 'bench-sweep.yaml');
    const plans = planDrills([scenario]);
    const journals: Journal[] = [];
    for (const plan of plans) {
      const { journal } = await runDrill(plan.scenario, { runId: 'bench', runDir, drillId: plan.drillId, annotations: { sweep: plan.sweep! } });
      if (journal.status !== 'passed') throw new Error(`sweep drill ${plan.drillId} ${journal.status}: ${journal.errors.map((e) => e.message).join('; ') || journal.objectives.filter((o) => !o.passed).map((o) => o.name).join(', ')}`);
      journals.push(journal);
      const rate = journal.restoreThroughput;
      rows.push({
        figure: `sweep ${journal.sweep!.label}: ${formatBytes(journal.volume!.dataBytes)} data, ${formatBytes(journal.volume!.logBytes ?? 0)} WAL`,
        value: formatDuration(journal.measurements.rtoVerifiedMs),
        target: '',
        met: null,
      });
      if (rate) rows.push({ figure: `  restore write rate, of the disk's ${formatBytes(journal.calibration.diskWriteBytesPerSecond ?? 0)}/s with fsync`, value: `${formatBytes(rate.bytesPerSecond)}/s ${rate.efficiency === null ? '' : `${Math.round(rate.efficiency * 100)} %`}`, target: '', met: null });
    }
    // The model from the sweep's sizes alone; the largest drill is what it must foretell.
    const big = journals.at(-1)!;
    const [sweep] = buildSweeps(journals.slice(0, -1));
    const projected = forecast(sweep!.model!, { size: big.volume!.dataBytes, logPerHour: big.volume!.logBytes ?? 0, backupEvery: 3_600_000 });
    const measured = big.measurements.rtoVerifiedMs!;
    const ratio = projected.total.ms / measured;
    rows.push({ figure: `forecast for ${larger} (${formatBytes(big.volume!.dataBytes)}) from ${sizes.join(', ')}`, value: formatDuration(projected.total.ms), target: '', met: null });
    rows.push({ figure: `  measured at ${larger}`, value: formatDuration(measured), target: '', met: null });
    rows.push({ figure: '  ratio forecast / measured', value: ratio.toFixed(2), target: '0.80–1.20', met: ratio >= 0.8 && ratio <= 1.2 });
    for (const phase of projected.phases.filter((candidate) => candidate.share >= 0.05)) {
      rows.push({ figure: `    ${phase.phase}: forecast / measured`, value: `${formatDuration(phase.ms)} / ${formatDuration(big.measurements.rtoBreakdown[phase.phase] ?? 0)}`, target: '', met: null });
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

/**
 * A bad DELETE of every order at `scale` (10,000 orders a scale unit): the fault pairs each row
 * before with after, and the verify phase the damaged rows with the restored table's, through
 * files and batches. The process's RSS is sampled every 10 ms through the drill; its peak above
 * the RSS before it is what the drill held.
 */
async function damageAtVolume(scale: number): Promise<void> {
  const scenario = await parseScenario(`name: bench-damage
target: { engine: postgres, dataset: { builtin: shop, scale: ${scale} } }
workload: { writers: 2, rate: 100, warmup: 2s, resume: 0s }
strategy: pg-basebackup-wal
fault: { kind: bad-delete, table: orders, at: 4s, detectAfter: 1s }
`, 'bench-damage.yaml');
  const runDir = await mkdtemp(join(tmpdir(), 'firedrill-bench-damage-'));
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    const { journal } = await runDrill(scenario, { runId: 'bench', runDir });
    if (journal.status !== 'passed') throw new Error(`damage drill ${journal.status}: ${journal.errors.map((e) => e.message).join('; ') || journal.objectives.filter((o) => !o.passed).map((o) => o.name).join(', ')}`);
    const phase = (name: string) => formatDuration(journal.phases.find((candidate) => candidate.name === name)?.durationMs ?? null);
    rows.push({ figure: `damage: a DELETE of all ${formatCount(journal.damage!.affectedRows)} orders (scale ${scale}), every row back`, value: journal.damage!.undone ? 'undone' : 'NOT undone', target: '', met: null });
    rows.push({ figure: '  peak RSS above the drill\'s start', value: `${((peak - baseline) / 1e6).toFixed(1)} MB`, target: '≤ 200 MB', met: peak - baseline <= 200e6 });
    rows.push({ figure: '  fault phase (rows before and after, paired) / verify phase', value: `${phase('fault')} / ${phase('verify')}`, target: '', met: null });
  } finally {
    clearInterval(sampler);
    await rm(runDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const sections: Array<[string, () => Promise<void>]> = [
    ['ready', async () => {
      for (const engine of Object.values(engines) as Engine[]) await instanceReady(engine, 7);
      for (const engine of Object.values(engines) as Engine[]) await instanceReady(engine, 7, dockerProvider);
    }],
    ['docker', () => dockerVsLocal(3)],
    ['restore', () => restoreOverhead(3)],
    ['workload', () => workloadVsPgbench(10, 4)],
    ['drill', canonicalDrill],
    ['s3', () => s3Upload(1024 * 1024 * 1024, 3)],
    ['archiving', () => walArchiving(20, [16, 48])],
    ['verify', () => verifyVsHand(4_000_000, 2)],
    ['ledger', () => ledgerAtVolume(1_000_000)],
    ['damage', () => damageAtVolume(300)],
    ['seed', () => seedVsBulkTools(1e9)],
    ['forecast', () => forecastVsMeasured(['256MB', '1GB', '2GB'], '8GB')],
  ];
  for (const [name, section] of sections) {
    if (only && only !== name) continue;
    process.stderr.write(`bench: ${name}…\n`);
    await section();
  }
  print();
}

main().catch((error) => {
  print();
  process.stderr.write(`bench failed: ${(error as Error).stack}\n`);
  process.exitCode = 1;
});
