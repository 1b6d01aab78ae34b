import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ShopDataset } from '../datasets/shop.js';
import { SqlFilesDataset } from '../datasets/sql-files.js';
import type { Dataset } from '../datasets/dataset.js';
import type { Engine, SqlSession } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import { faults } from '../faults/index.js';
import type { FaultOutcome } from '../faults/fault.js';
import { fingerprintDigest } from '../faults/logical.js';
import type { CheckResult, DamageResult, Journal, LedgerResult } from '../journal/types.js';
import { assessDamage } from '../measure/damage.js';
import { compareLedger, missingWrites } from '../measure/ledger.js';
import { measureRto, throughputBetween } from '../measure/rto.js';
import { judge, meetsExpectation } from '../measure/verdict.js';
import type { StartedDatabaseInstance } from '../providers/provider.js';
import { providers } from '../providers/index.js';
import type { Scenario } from '../scenario/loader.js';
import { storageTypes } from '../storage/index.js';
import type { StorageLocation } from '../storage/storage.js';
import { strategies } from '../strategies/index.js';
import type { BackupResult, RecoveryTarget, StrategyContext } from '../strategies/strategy.js';
import { DrillClock, sleep } from '../util/clock.js';
import { DrillSetupError, errorMessage, InterruptedError } from '../util/errors.js';
import { CommandRunner } from '../util/exec.js';
import { createFileLogger } from '../util/log.js';
import { makeRunTempDir, serviceUser } from '../util/os-user.js';
import { ResourceStack } from '../util/resources.js';
import { firedrillVersion } from '../util/version.js';
import { Ledger } from '../workload/ledger.js';
import { Workload } from '../workload/workload.js';
import { Timeline, type PhaseListener } from './timeline.js';

export interface DrillOptions {
  runId: string;
  /** The run's report directory; the drill writes into `<runDir>/<drillId>/`. */
  runDir: string;
  /** Leave every process and directory in place for inspection. */
  keep?: boolean;
  signal?: AbortSignal;
  onPhase?: PhaseListener;
  logLevel?: string;
  /** Steps of your own between detection and restore (break the archive, page someone, ...). */
  hooks?: { beforeRestore?: (context: StrategyContext, fault: FaultOutcome) => Promise<void> };
  /** The drill's id and directory name; default `<scenario>--<strategy>` (repetitions of a comparison need their own). */
  drillId?: string;
  /** What the runner knows about the drill's context (comparison entry, earlier runs), copied into the journal for its reports. */
  annotations?: Pick<Journal, 'comparison' | 'history'>;
}

export interface DrillOutcome {
  journal: Journal;
  /** Directory holding journal.json, the log and the reports. */
  dir: string;
  /** The client-side ledger, for callers that check the measurement against it. */
  ledger: Ledger;
  /** With `keep`, the restored instance, still running. */
  restored?: StartedDatabaseInstance;
}

function datasetOf(scenario: Scenario): Dataset {
  const dataset = scenario.target.dataset;
  if ('builtin' in dataset) return new ShopDataset(dataset.scale, scenario.workload.seed);
  return new SqlFilesDataset(dataset.files, scenario.workload.statements);
}

function recoveryTargetOf(scenario: Scenario): RecoveryTarget {
  const target = scenario.recovery.target;
  if (target === 'before-fault' || target === 'latest') return { kind: target };
  return { kind: 'time', time: target };
}

async function withSession<T>(engine: Engine, instance: StartedDatabaseInstance, fn: (session: SqlSession) => Promise<T>, database = engine.databaseName): Promise<T> {
  const session = await engine.connect({ ...instance.connection, database });
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/**
 * Runs one drill: provision → seed → prepare → workload → backup → fault → detect → restore
 * → service → verify → teardown. Never throws for a drill that could not run: the journal
 * says what happened (status `error` / `interrupted`) and what to do.
 */
export async function runDrill(scenario: Scenario, options: DrillOptions): Promise<DrillOutcome> {
  const clock = new DrillClock();
  const drillId = options.drillId ?? `${scenario.name}--${scenario.strategy.name}`;
  const dir = join(options.runDir, drillId);
  await mkdir(dir, { recursive: true });
  const log: Logger = createFileLogger(join(dir, 'firedrill.log'), options.logLevel).child({ drill: drillId });
  const exec = new CommandRunner({ now: () => clock.now(), log, signal: options.signal });
  const timeline = new Timeline(clock, exec, log, options.onPhase);
  const resources = new ResourceStack({ keep: options.keep, log });
  const engine = engines[scenario.target.engine as keyof typeof engines] as Engine | undefined;
  const provider = providers[scenario.target.provider];
  const definition = strategies[scenario.strategy.name];
  const faultDefinition = faults[scenario.fault.kind as keyof typeof faults];
  const dataset = datasetOf(scenario);
  const target = recoveryTargetOf(scenario);

  const journal: Journal = {
    formatVersion: 1,
    runId: options.runId,
    drillId,
    status: 'error',
    startedAt: clock.startedAtWall.toISOString(),
    finishedAt: '',
    durationMs: 0,
    scenario: { name: scenario.name, description: scenario.description, file: scenario.file, hash: scenario.hash, spec: { ...scenario, file: undefined, hash: undefined } },
    engine: scenario.target.engine,
    provider: scenario.target.provider,
    strategy: scenario.strategy.name,
    faultKind: scenario.fault.kind,
    versions: { firedrill: firedrillVersion(), node: process.version, tools: [] },
    host: { hostname: hostname(), platform: process.platform, arch: process.arch, cpus: cpus().length, memoryMb: Math.round(totalmem() / 2 ** 20) },
    calibration: {},
    phases: timeline.phases,
    events: timeline.events,
    workload: { writers: scenario.workload.writers, targetRate: scenario.workload.rate === 'max' ? null : scenario.workload.rate, acked: 0, failed: 0, indeterminate: 0, series: [] },
    measurements: { rtoServiceMs: null, rtoVerifiedMs: null, rtoBreakdown: {}, resolutionMs: null, dataLossMs: null, lostWrites: null, lostToDetection: null, damageUndone: null },
    objectives: [],
    checks: [],
    artifacts: [],
    commands: exec.records,
    errors: [],
    ...options.annotations,
  };

  let workload: Workload | undefined;
  let restored: StartedDatabaseInstance | undefined;
  let ledger = new Ledger();
  const serverLogs = new Map<string, string>();
  const abortIfInterrupted = () => {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new InterruptedError('SIGINT');
  };

  try {
    if (!engine) throw new DrillSetupError(`engine "${scenario.target.engine}" is not available in this build`, `available: ${Object.keys(engines).join(', ')}`);
    const workDir = await makeRunTempDir('firedrill-');
    resources.add('directory', workDir, () => rm(workDir, { recursive: true, force: true }));
    const providerContext = { exec, resources, workDir, log, signal: options.signal, keepLog: (name: string, path: string) => serverLogs.set(name, path) };
    const strategy = definition.create(scenario.strategy.options as never);
    const primary = scenario.storage.primary!;
    const storage: StorageLocation = storageTypes[primary.type as keyof typeof storageTypes].create('primary', primary as never, workDir);
    journal.versions.tools = await engine.tools(scenario.target.version);

    // Provision: the storage location first (the source archives into it), then the source.
    const source = await timeline.phase('provision', async () => {
      await storage.open(serviceUser(engine.serviceUserName));
      resources.add('directory', storage.address, () => storage.destroy());
      const instance = await provider.create({ name: 'source', engine, version: scenario.target.version, settings: strategy.sourceSettings?.({ storage }) }, providerContext);
      await instance.initialize();
      return instance.start();
    });
    journal.calibration.instanceReadyMs = source.readiness.waitedMs;
    journal.calibration.readinessPollMs = source.readiness.pollIntervalMs;
    journal.measurements.resolutionMs = source.readiness.pollIntervalMs;
    const database = { ...source.connection, database: engine.databaseName };

    await timeline.phase('seed', async () => {
      await withSession(engine, source, (session) => engine.createDatabase(session, engine.databaseName), source.connection.database);
      await withSession(engine, source, async (session) => {
        journal.versions.server = await engine.serverVersion(session);
        await dataset.load({ engine, connection: database, session, tools: { exec, user: source.user } });
        for (const statement of engine.ledgerDdl()) await session.query(statement);
      });
    }, dataset.describe());

    const context: StrategyContext = {
      engine,
      provider,
      providerContext,
      version: scenario.target.version,
      source,
      storage,
      exec,
      log,
      workDir,
      phase: (name, fn) => timeline.phase(name, fn),
    };
    if (strategy.prepare) await timeline.phase('prepare', () => strategy.prepare!(context));

    workload = new Workload({
      engine,
      connection: database,
      dataset,
      writers: scenario.workload.writers,
      rate: scenario.workload.rate === 'max' ? null : scenario.workload.rate,
      seed: scenario.workload.seed,
      now: () => clock.now(),
      log,
    });
    ledger = workload.ledger;
    await workload.start();
    const workloadStart = timeline.event('workload-start');
    journal.workload.startMs = workloadStart;
    await timeline.phase('warmup', () => sleep(scenario.workload.warmup, options.signal));

    const backupStart = timeline.event('backup-start');
    const backup: BackupResult = await timeline.phase('backup', () => strategy.backup(context));
    const backupEnd = timeline.event('backup-end');
    for (const object of backup.objects) {
      journal.artifacts.push({ name: object.name, kind: 'backup', location: object.location, key: object.key, sizeBytes: object.sizeBytes, sha256: object.sha256 });
    }
    journal.backup = {
      strategy: scenario.strategy.name,
      startMs: backupStart,
      endMs: backupEnd,
      durationMs: backupEnd - backupStart,
      consistentAt: backup.consistentAt,
      sizeBytes: backup.objects.reduce((sum, object) => sum + object.sizeBytes, 0),
    };

    // Steady load until the fault's moment (never before the backup is complete).
    const faultDue = workloadStart + scenario.fault.at;
    if (faultDue > clock.now()) await timeline.phase('steady', () => sleep(faultDue - clock.now(), options.signal));
    abortIfInterrupted();

    const fault: FaultOutcome = await timeline.phase('fault', () =>
      withSession(engine, source, (session) => faultDefinition.inject({ engine, instance: source, session, log }, scenario.fault as never)),
    );
    const faultAt = timeline.event('fault', fault.description);
    journal.fault = {
      kind: scenario.fault.kind,
      description: fault.description,
      atMs: faultAt,
      wallTime: clock.wall(faultAt),
      point: fault.point,
      detectAfterMs: scenario.fault.detectAfter,
      ...(fault.damage ? { table: fault.damage.table, affectedRows: fault.damage.before.size, damageDigest: fingerprintDigest(fault.damage.before) } : {}),
    };

    await timeline.phase('detect', async () => {
      await sleep(scenario.fault.detectAfter, options.signal);
      await workload!.stop();
    });
    journal.fault.detectedAtMs = timeline.event('detected');
    if (strategy.afterDetection) await timeline.phase('archive', () => strategy.afterDetection!(context));

    if (options.hooks?.beforeRestore) await timeline.phase('hook', () => options.hooks!.beforeRestore!(context, fault));
    timeline.event('restore-start');
    const result = await strategy.restore(context, { backup, target, faultPoint: fault.point });
    restored = result.instance;
    journal.recovery = { target: scenario.recovery.target, ...result.recovery };

    // Service is back when the restored database acknowledges a write (writer 0 is the probe).
    await timeline.phase('service', () => withSession(engine, restored!, (session) => engine.writeTransaction(session, 0, 1, null, [])));
    const serviceAt = timeline.event('service-restored');

    const verification = await timeline.phase('verify', () =>
      withSession(engine, restored!, async (session) => {
        const checks: CheckResult[] = (await engine.integrityChecks(session)).map(({ name, passed, detail }) => ({ name, passed, detail }));
        for (const check of scenario.objectives.checks) {
          try {
            const rows = await session.query<Record<string, unknown>>(check.sql);
            const first = rows[0] ? Object.values(rows[0])[0] : undefined;
            const value = first === undefined || first === null ? null : String(first);
            checks.push({ name: check.name, sql: check.sql, expect: String(check.expect), value: value ?? 'NULL', passed: meetsExpectation(value, check.expect) });
          } catch (error) {
            checks.push({ name: check.name, sql: check.sql, expect: String(check.expect), passed: false, detail: errorMessage(error) });
          }
        }
        const present = (await engine.readLedger(session)).filter((row) => row.writer !== 0);
        const after = fault.damage && (await engine.tableExists(session, fault.damage.table)) ? await engine.rowFingerprints(session, fault.damage.table) : null;
        return { checks, present, after };
      }),
    );
    journal.checks = verification.checks;
    const verifiedAt = verification.checks.every((check) => check.passed) ? timeline.event('verified') : null;

    const ledgerResult: LedgerResult = compareLedger({
      acked: ledger.acked,
      indeterminate: ledger.indeterminate,
      failed: ledger.failed,
      present: verification.present,
      faultTimeUs: fault.point.serverTimeUs,
      targetTimeUs: target.kind === 'before-fault' ? fault.point.serverTimeUs : target.kind === 'time' ? Date.parse(target.time) * 1000 : null,
    });
    journal.ledger = ledgerResult;
    let damage: DamageResult | undefined;
    if (fault.damage) {
      const lost = missingWrites(ledger.acked, verification.present);
      damage = assessDamage({ table: fault.damage.table, before: fault.damage.before, after: verification.after, createdByLostWrites: Ledger.refsOf(lost) });
      journal.damage = damage;
    }

    const rto = measureRto({ faultAtMs: faultAt, serviceRestoredAtMs: serviceAt, verifiedAtMs: verifiedAt, phases: timeline.phases });
    journal.measurements = {
      ...journal.measurements,
      rtoServiceMs: rto.rtoServiceMs,
      rtoVerifiedMs: rto.rtoVerifiedMs,
      rtoBreakdown: rto.breakdown,
      dataLossMs: ledgerResult.dataLossMs,
      lostWrites: ledgerResult.lost,
      lostToDetection: ledgerResult.lostToDetection,
      damageUndone: damage ? damage.undone : null,
    };
    const { objectives, passed } = judge(objectiveTargets(scenario, Boolean(fault.damage)), journal.measurements, journal.checks);
    journal.objectives = objectives;
    journal.status = passed ? 'passed' : 'failed';
  } catch (error) {
    const interrupted = error instanceof InterruptedError || options.signal?.aborted;
    journal.status = interrupted ? 'interrupted' : 'error';
    journal.errors.push({
      phase: timeline.failedPhase ?? exec.phase,
      message: errorMessage(error),
      ...(error instanceof DrillSetupError && error.hint ? { hint: error.hint } : {}),
    });
    log.error({ err: errorMessage(error) }, 'drill could not complete');
  } finally {
    await workload?.stop().catch(() => undefined);
    if (workload) {
      journal.workload = {
        ...journal.workload,
        endMs: workload.stoppedAtMs,
        acked: ledger.acked.length,
        failed: ledger.failed,
        indeterminate: ledger.indeterminate.length,
        series: workload.series(),
      };
      if (journal.backup && journal.workload.startMs !== undefined) {
        const series = journal.workload.series;
        journal.backup.throughputBefore = throughputBetween(series, journal.workload.startMs, journal.workload.startMs, journal.backup.startMs) ?? undefined;
        journal.backup.throughputDuring = throughputBetween(series, journal.workload.startMs, journal.backup.startMs, journal.backup.endMs) ?? undefined;
        journal.calibration.baselineThroughput = journal.backup.throughputBefore;
      }
    }
    // Server logs outlive the temp dir: copy them beside the journal before teardown.
    for (const [name, path] of serverLogs) {
      const copy = join(dir, `${name}-server.log`);
      if (await copyFile(path, copy).then(() => true, () => false)) {
        journal.artifacts.push({ name: `${name} server log`, kind: 'log', location: 'report', key: `${name}-server.log`, sizeBytes: (await stat(copy)).size });
      }
    }
    if (options.keep) journal.kept = resources.list();
    await timeline.phase('teardown', () => resources[Symbol.asyncDispose]()).catch(() => undefined);
    journal.finishedAt = new Date().toISOString();
    journal.durationMs = clock.now();
    await writeFile(join(dir, 'journal.json'), `${JSON.stringify(journal, null, 2)}\n`);
    log.flush?.();
  }
  return { journal, dir, ledger, ...(options.keep && restored ? { restored } : {}) };
}

function objectiveTargets(scenario: Scenario, hasDamage: boolean) {
  const { rto, rpo, damageUndone } = scenario.objectives;
  return {
    rtoVerifiedMs: typeof rto === 'number' ? rto : rto?.verified,
    rtoServiceMs: typeof rto === 'object' ? rto.service : undefined,
    dataLossMs: typeof rpo === 'number' ? rpo : rpo?.dataLoss,
    lostWrites: typeof rpo === 'object' ? rpo.lostWrites : undefined,
    damageUndone: damageUndone ?? (hasDamage && scenario.recovery.target === 'before-fault'),
  };
}
