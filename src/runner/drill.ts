import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Dataset } from '../datasets/dataset.js';
import { ShopDataset } from '../datasets/shop.js';
import { SqlFilesDataset } from '../datasets/sql-files.js';
import type { ConnectionInfo, Engine, ServerPoint, SqlSession } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import { withConnection } from '../engines/session.js';
import type { FaultContext, FaultOutcome, IncidentDefinition, LatentDefinition } from '../faults/fault.js';
import { faults } from '../faults/index.js';
import type { BackupRecord, CheckResult, DamageResult, EqualityRecord, GamedayRecord, Journal, LedgerResult, RecoveryRecord, SeriesPoint } from '../journal/types.js';
import { assessDamage, type KeyOrderedRows } from '../measure/damage.js';
import { compareWithSource, type SourceCapture } from '../measure/equality.js';
import { compareLedger, missingWrites } from '../measure/ledger.js';
import { measureRto, replayThroughput, restoreThroughput, throughputBetween, typicalThroughput } from '../measure/rto.js';
import { breachAdvice, judge, meetsExpectation, type RecoveryFacts } from '../measure/verdict.js';
import type { InstanceBase, Provider, ProviderContext, StartedInstance, StoppedInstance } from '../providers/provider.js';
import { resolveProvider } from '../providers/index.js';
import type { Scenario } from '../scenario/loader.js';
import { RELATIVE_TARGET } from '../scenario/schema.js';
import { createLocation, createSpool, serverWrites, SPOOL, type LocationOptions } from '../storage/index.js';
import { Replicator, type CopyReport } from '../storage/replicate.js';
import type { StorageLocation } from '../storage/storage.js';
import { checkArchive, recordArchive } from '../storage/archive-record.js';
import { BackupDefect } from '../storage/transfer.js';
import { strategies, strategiesFor } from '../strategies/index.js';
import type { BackupResult, PendingCapture, RecoverResult, RecoveryTarget, Strategy, StrategyContext, StrategyDefinition } from '../strategies/strategy.js';
import { DrillClock, sleep } from '../util/clock.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { DrillSetupError, errorMessage, InterruptedError } from '../util/errors.js';
import { CommandRunner } from '../util/exec.js';
import { createFileLogger } from '../util/log.js';
import { makeRunTempDir } from '../util/os-user.js';
import { RunRegistry } from '../util/registry.js';
import { ResourceStack } from '../util/resources.js';
import { removeScratch } from '../util/scratch.js';
import { scrubSecrets } from '../util/secrets.js';
import { firedrillVersion } from '../util/version.js';
import { Ledger } from '../workload/ledger.js';
import { Workload } from '../workload/workload.js';
import { Timeline, type PhaseListener, type PhaseOptions, type ProgressReading } from './timeline.js';
import { pruneBackups } from '../retention/prune.js';
import type { RetentionPolicy } from '../retention/policy.js';

export interface DrillOptions {
  runId: string;
  /** The run's report directory; the drill writes into `<runDir>/<drillId>/`. */
  runDir: string;
  /** Leave every process and directory in place for inspection. */
  keep?: boolean;
  signal?: AbortSignal;
  onPhase?: PhaseListener;
  logLevel?: string;
  /** The run registry on disk, so a killed firedrill's leftovers can be found (`firedrill cleanup`); one of the drill's own when not given. */
  registry?: RunRegistry;
  /** Steps of your own between detection and restore (break the archive, page someone, ...). */
  hooks?: {
    /** Runs under load just before the fault strikes (a test waiting for a copy to hold the backup). */
    beforeFault?: (backups: readonly BackupResult[]) => Promise<void>;
    beforeRestore?: (context: StrategyContext, fault: FaultOutcome, backups: readonly BackupResult[]) => Promise<void>;
    /** Runs on the recovered database once it is verified (a test counting rows its own way). */
    afterRecovery?: (instance: StartedInstance) => Promise<void>;
  };
  /** People recover after the fault instead of firedrill: a game day (src/gameday/). */
  handOver?: HandOver;
  /** The drill's id and directory name; default `<scenario>--<strategy>` (repetitions of a comparison need their own). */
  drillId?: string;
  /** What the runner knows about the drill's context (comparison entry, earlier runs), copied into the journal for its reports. */
  annotations?: Pick<Journal, 'comparison' | 'history' | 'sweep'>;
}

/** What the team is given when the drill is ready for the fault: where everything is, and how to reach it. */
export interface Briefing {
  /** The source, and an empty instance of the same engine and version to restore into. */
  instances: Array<{ name: string; role: string; connection: ConnectionInfo; uri: string; location: string; version: string }>;
  storage: Array<{ name: string; type: string; region: string; address: string; backups: Array<{ name: string; key: string; path?: string; sizeBytes: number }> }>;
  /** A directory the team may use for files of its own; removed with the drill. */
  scratch: string;
  /** The workload's figures so far, and the drill clock. */
  series: () => SeriesPoint[];
  now: () => number;
  /** Wall time of drill time 0 (ms since the epoch). */
  startedAtWallMs: number;
}

/**
 * A recovery done by people (a game day): the drill runs as far as the fault, hands over, and
 * waits for the team to declare a database restored; then it measures that database as it
 * measures its own restores. The workload keeps writing to the source until then, as an
 * application would.
 */
export interface HandOver {
  /** When the fault strikes, in ms after the workload starts (a hidden fault's random moment); default the scenario's `fault.at`. */
  faultAtMs?: number;
  /** The drill is ready for the fault. */
  briefed(briefing: Briefing): void;
  /** The fault struck, at drill time `atMs`. */
  struck(description: string, atMs: number): void;
  /**
   * The database the team declares restored, with the drill's database in `connection`;
   * undefined when the game day's time ran out. Rejects when the drill is interrupted.
   */
  restored(): Promise<{ name: string; connection: ConnectionInfo } | undefined>;
  /** When the team marked the fault detected, if it did: the detection a game day measures. */
  detectedAtMs(): number | undefined;
  /** How long the team had, for the verdict's sentence when the time ran out. */
  timeLimitMs: number;
  /** What the team did, for the journal: written with it, whatever the end. */
  record(): GamedayRecord;
}

/** How long a declared-restored database may take to acknowledge the workload's first write. */
const FIRST_WRITE_TIMEOUT_MS = 30_000;

export interface DrillOutcome {
  journal: Journal;
  /** Directory holding journal.json, the log and the reports. */
  dir: string;
  /** The client-side ledger, for callers that check the measurement against it. */
  ledger: Ledger;
  /** With `keep`, the restored instance, still running. */
  restored?: StartedInstance;
}

function datasetOf(scenario: Scenario): Dataset {
  const dataset = scenario.target.dataset;
  if ('builtin' in dataset) return new ShopDataset(dataset.scale, scenario.workload.seed);
  return new SqlFilesDataset(dataset.files, scenario.workload.statements);
}

/** The recovery target, once the fault's point is known (a time before the fault is counted back from it). */
function recoveryTargetOf(scenario: Scenario, faultPoint: ServerPoint): RecoveryTarget {
  const target = scenario.recovery.target;
  if (target === 'before-fault' || target === 'latest') return { kind: target };
  const before = RELATIVE_TARGET.exec(target);
  if (before) return { kind: 'time', time: new Date(faultPoint.serverTimeUs / 1000 - parseDuration(before[1]!)!).toISOString() };
  return { kind: 'time', time: target };
}

/** Below this share of its target rate, a paced workload is reported as falling short. */
const SHORTFALL = 0.9;
/** A fault that runs this long (a statement, not a signal) pauses the workload long enough to say. */
const SLOW_FAULT_MS = 2_000;

async function withSession<T>(engine: Engine, instance: StartedInstance, fn: (session: SqlSession) => Promise<T>, database = engine.databaseName): Promise<T> {
  return withConnection(engine, { ...instance.connection, database }, fn);
}


/** Hand-offs between the steps of a drill: each step gets what the one before made. */
interface Provisioned {
  source: StartedInstance;
  /** The seeded-data cache's key for the source, when the dataset asks for the cache. */
  seedCacheKey?: string;
  provider: Provider;
  storage: Map<string, StorageLocation>;
  context: StrategyContext;
}
interface BackedUp extends Provisioned {
  workload: Workload;
  backups: Array<{ result: BackupResult; record: BackupRecord; location: string }>;
  replicators: Replicator[];
  /** Stops the strategy's sampling (a standby's lag), after one last sample. */
  stopSampling: () => Promise<void>;
}
interface Faulted extends BackedUp {
  fault: FaultOutcome;
  faultAtMs: number;
}
interface Recovered extends Faulted {
  /** The restored database (the drill's database on it), or none. */
  connection: ConnectionInfo | undefined;
  /** The instance it is on, when firedrill made it. */
  instance: StartedInstance | undefined;
  recovery: Omit<RecoveryRecord, 'target'>;
  backupUsed: BackupedEntry | undefined;
  defects: string[];
}
type BackupedEntry = BackedUp['backups'][number];

/** Phases whose work must mean the same in every strategy; documented in docs/measurement.md. */
const BACKUP_PHASE = 'backup';

/**
 * One drill: provision → seed → prepare → workload → backups → fault → detect → archive →
 * recover (restore, restart or failover) → service → verify → teardown, each step handing its
 * results to the next. Never throws for a drill that could not run: the journal says what
 * happened (status `error` / `interrupted`) and what to do.
 */
export async function runDrill(scenario: Scenario, options: DrillOptions): Promise<DrillOutcome> {
  if (options.registry) return new Drill(scenario, options).run();
  // A caller that keeps no run registry of its own still gets one: if its process dies
  // mid-drill (killed, a test runner giving up on it), `firedrill cleanup` finds what it left.
  const registry = new RunRegistry(options.runId);
  const outcome = await new Drill(scenario, { ...options, registry }).run();
  registry.close((outcome.journal.kept?.length ?? 0) + (outcome.journal.leftovers?.length ?? 0));
  return outcome;
}

class Drill {
  private readonly clock = new DrillClock();
  private readonly drillId: string;
  private readonly dir: string;
  private readonly log: Logger;
  private readonly exec: CommandRunner;
  private readonly timeline: Timeline;
  private readonly resources: ResourceStack;
  private readonly engine: Engine | undefined;
  private readonly definition: StrategyDefinition;
  private readonly strategy: Strategy;
  private readonly incident: IncidentDefinition;
  private readonly dataset: Dataset;
  /** Known once the fault has struck. */
  private target!: RecoveryTarget;
  private readonly journal: Journal;
  private readonly savedLogs = new Map<string, string>();
  private readonly liveInstances = new Set<StartedInstance>();
  /** Every instance a strategy created (restore targets, standbys), to remove a failed attempt's. */
  private readonly createdInstances = new Set<StoppedInstance>();
  /** The instance the recovery fills (the newest created after the fault): what restore-path progress reads. */
  private restoreTarget: StoppedInstance | undefined;
  /** The source's data directory after the backups, in bytes: about what a restore fills again (for progress only). */
  private sourceBytes: number | undefined;
  /** The region of each instance the strategy created, by name (the source is in the target's). */
  private readonly regions = new Map<string, string>();
  /** Captures of the source at the fault and at the end; a backup's own capture travels with the backup. */
  private readonly captures: Partial<Record<'fault' | 'latest', Promise<SourceCapture>>> = {};
  /** Between the fault and the end of verification: nothing but the recovery may take time. */
  private measuring = false;
  /** The step running now, to name where an error outside any phase happened. */
  private step = 'setup';
  private ledger = new Ledger();
  private workload: Workload | undefined;
  private restored: StartedInstance | undefined;

  constructor(
    private readonly scenario: Scenario,
    private readonly options: DrillOptions,
  ) {
    this.drillId = options.drillId ?? `${scenario.name}--${scenario.strategy.name}`;
    this.dir = join(options.runDir, this.drillId);
    this.log = createFileLogger(join(this.dir, 'firedrill.log'), options.logLevel).child({ drill: this.drillId });
    this.exec = new CommandRunner({ now: () => this.clock.now(), log: this.log, signal: options.signal });
    this.timeline = new Timeline(this.clock, this.exec, this.log, options.onPhase, () => this.checkpoint());
    this.resources = new ResourceStack({ keep: options.keep, log: this.log, ...(options.registry ? { registry: options.registry } : {}) });
    this.engine = engines[scenario.target.engine as keyof typeof engines] as Engine | undefined;
    this.definition = strategies[scenario.strategy.name] as StrategyDefinition;
    this.strategy = this.definition.create(scenario.strategy.options as never);
    this.incident = faults[scenario.fault.kind] as IncidentDefinition;
    this.dataset = datasetOf(scenario);
    this.journal = {
      formatVersion: 1,
      runId: options.runId,
      drillId: this.drillId,
      status: 'error',
      startedAt: this.clock.startedAtWall.toISOString(),
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
      phases: this.timeline.phases,
      events: this.timeline.events,
      workload: { writers: scenario.workload.writers, targetRate: scenario.workload.rate === 'max' ? null : scenario.workload.rate, acked: 0, failed: 0, indeterminate: 0, series: [] },
      measurements: { rtoServiceMs: null, rtoVerifiedMs: null, rtoBreakdown: {}, resolutionMs: null, dataLossMs: null, lostWrites: null, lostToDetection: null, damageUndone: null },
      objectives: [],
      checks: [],
      artifacts: [],
      commands: this.exec.records,
      errors: [],
      ...options.annotations,
    };
  }

  private get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  private abortIfInterrupted(): void {
    if (this.signal?.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new InterruptedError('SIGINT');
  }

  /** A phase of the drill; after the fault, with the restore's progress (bytes in the target's data directory) for a display. */
  private phase<T>(name: string, fn: () => Promise<T>, detail?: string, options: PhaseOptions = {}): Promise<T> {
    const target = this.measuring ? this.restoreTarget : undefined;
    const probe = target ? this.dataProbe(target, this.sourceBytes) : undefined;
    return this.timeline.phase(name, fn, detail, { ...(probe ? { probe } : {}), ...options });
  }

  /**
   * Reads how much of an instance's data directory is written (`du`, quiet: never in the
   * runbook), against `total` when known. Only with a progress display: a drill without one
   * (a test, a library caller) runs no probe.
   */
  private dataProbe(instance: InstanceBase, total?: number): (() => Promise<ProgressReading | undefined>) | undefined {
    if (!this.options.onPhase) return undefined;
    return async () => {
      const { stdout } = await instance.run('du', ['-sb', instance.paths.data], { quiet: true, allowFailure: true });
      const doneBytes = Number(stdout.split(/\s/)[0]);
      return Number.isFinite(doneBytes) && doneBytes > 0 ? { doneBytes, ...(total ? { totalBytes: total } : {}) } : undefined;
    };
  }

  /** A phase that waits a known time (load before a backup, before the fault): progress counts it down. */
  private wait(name: string, ms: number): Promise<void> {
    return this.phase(name, () => sleep(ms, this.signal), undefined, { expectedMs: ms });
  }

  /** A phase of firedrill's own inside the recovery window, taken out of the RTO. */
  private ownPhase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.timeline.phase(name, fn, undefined, { notCounted: true });
  }

  /**
   * Writes the journal as it stands, marked as not finished: if firedrill is killed, this is
   * what remains, and it says where the drill was. The final write replaces it.
   */
  private async checkpoint(): Promise<void> {
    // Never inside the recovery window: the write would count in the RTO it measures.
    if (this.measuring) return;
    const running = this.timeline.current;
    const last = this.timeline.phases.at(-1)?.name;
    const where = running ? `during ${running}` : last ? `after ${last}` : 'during setup';
    const partial: Journal = {
      ...this.journal,
      status: 'interrupted',
      finishedAt: new Date().toISOString(),
      durationMs: this.clock.now(),
      errors: [...this.journal.errors, { phase: running ?? last ?? 'setup', message: `firedrill stopped ${where}, before the drill finished`, hint: 'run `firedrill cleanup` to remove what the run left behind' }],
    };
    await this.writeJournal(partial).catch(() => undefined);
  }

  /** Written under a temporary name and renamed: a kill -9 mid-write never leaves half a journal. */
  private async writeJournal(journal: Journal): Promise<void> {
    const file = join(this.dir, 'journal.json');
    await writeFile(`${file}.partial`, `${JSON.stringify(journal, null, 2)}\n`);
    await rename(`${file}.partial`, file);
  }

  async run(): Promise<DrillOutcome> {
    await mkdir(this.dir, { recursive: true });
    this.options.registry?.journal(join(this.dir, 'journal.json'));
    const journal = this.journal;
    let backedUp: BackedUp | undefined;
    try {
      if (!this.engine) throw new DrillSetupError(`engine "${this.scenario.target.engine}" is not available in this build`, `available: ${Object.keys(engines).join(', ')}`);
      this.step = 'provision';
      const provisioned = await this.provision(this.engine);
      this.step = 'seed';
      await this.seed(provisioned);
      this.step = 'backup';
      backedUp = await this.backUp(provisioned);
      this.step = 'fault';
      const faulted = await this.injectFault(backedUp);
      this.step = 'recover';
      const recovered = this.options.handOver ? await this.handOver(faulted, this.options.handOver) : await this.recover(faulted);
      this.step = 'verify';
      await this.verify(recovered);
      journal.restoreThroughput = restoreThroughput(journal.measurements.rtoBreakdown, journal.volume?.dataBytes, journal.calibration.diskWriteBytesPerSecond);
      journal.replayThroughput = replayThroughput(journal.measurements.rtoBreakdown, journal.volume?.logBytes);
      this.measuring = false;
      await this.resumeWrites(recovered);
    } catch (error) {
      const interrupted = error instanceof InterruptedError || this.signal?.aborted;
      journal.status = interrupted ? 'interrupted' : 'error';
      journal.errors.push({
        phase: this.timeline.failedPhase ?? this.timeline.current ?? this.step,
        message: errorMessage(error),
        ...(error instanceof DrillSetupError && error.hint ? { hint: error.hint } : {}),
      });
      this.log.error({ err: errorMessage(error) }, 'drill could not complete');
    } finally {
      this.measuring = false;
      await this.finish(backedUp);
    }
    return { journal, dir: this.dir, ledger: this.ledger, ...(this.options.keep && this.restored ? { restored: this.restored } : {}) };
  }

  /** The storage locations, opened; the source provisioned on the chosen provider and started. */
  private async provision(engine: Engine): Promise<Provisioned> {
    const { scenario, exec, resources, log } = this;
    const workDir = await makeRunTempDir('firedrill-');
    resources.add('directory', workDir, () => rm(workDir, { recursive: true, force: true }), { handle: { type: 'path', path: workDir }, remove: [`rm -rf ${workDir}`] });
    const storage = new Map<string, StorageLocation>();
    for (const [name, options] of Object.entries(scenario.storage)) {
      storage.set(name, createLocation(name, options as LocationOptions, { workDir, drillId: this.drillId }));
    }
    const primary = storage.get('primary')!;
    const spooled = this.definition.archive && !serverWrites(scenario.storage.primary as LocationOptions);
    const archive = spooled ? createSpool(scenario.target.region, { workDir, drillId: this.drillId }) : primary;
    if (spooled) storage.set(SPOOL, archive);
    const providerContext: ProviderContext = {
      exec,
      resources,
      workDir,
      log,
      runId: this.options.runId,
      ...(this.signal ? { signal: this.signal } : {}),
      saveLog: (name, text) => this.savedLogs.set(name, scrubSecrets(text)),
    };
    const provider = await resolveProvider({ name: scenario.target.provider, engine, version: scenario.target.version, image: scenario.target.image });
    this.journal.provider = provider.name;
    const shared = [...storage.values()].flatMap((location) => (location.directory ? [location.directory] : []));
    const setup = this.strategy.sourceSetup?.({ storage: primary, archive, engine }) ?? {};
    const { source, cacheKey: seedCacheKey } = await this.phase('provision', async () => {
      for (const location of storage.values()) {
        await location.open();
        resources.add('objects', `${location.name}: ${location.address}`, () => location.destroy(), {
          handle: location.directory
            ? { type: 'path', path: location.directory }
            : { type: 'object-prefix', storage: location.type, location: location.name, address: location.address, root: location.root, options: scenario.storage[location.name] as Record<string, unknown> },
        });
      }
      const instance = await provider.create(
        {
          name: 'source',
          engine,
          ...(scenario.target.version ? { version: scenario.target.version } : {}),
          ...(scenario.target.image ? { image: scenario.target.image } : {}),
          settings: { ...setup.settings, ...scenario.target.settings },
          shared,
          writable: setup.writable ?? [],
        },
        providerContext,
      );
      // A kept seeded directory goes in before the server first starts: started empty with the
      // strategy's archiving on, the server could archive WAL of a cluster that is then replaced.
      const cacheKey = scenario.target.dataset.cache ? await this.seedCacheKey(instance) : undefined;
      if (cacheKey && (await instance.fillFromCache(cacheKey))) this.journal.seedCache = { outcome: 'reused', key: cacheKey };
      else await instance.initialize();
      return { source: await instance.start(), cacheKey };
    });
    this.track(source);
    // The disk's own rate, so every restore's write rate is judged against this machine's floor.
    this.journal.calibration.diskWriteBytesPerSecond = await this.phase('calibrate', () => diskWriteRate(source, this.clock));
    this.journal.calibration.instanceReadyMs = source.readiness.waitedMs;
    this.journal.calibration.readinessPollMs = source.readiness.pollIntervalMs;
    this.journal.measurements.resolutionMs = source.readiness.pollIntervalMs;
    this.journal.storage = [...storage.values()].map((location) => ({ name: location.name, type: location.type, region: location.region, address: location.address }));
    const context: StrategyContext = {
      engine,
      provider,
      providerContext,
      source,
      storage: primary,
      archive,
      exec,
      log,
      workDir,
      phase: (name, fn) => this.phase(name, fn),
      region: scenario.target.region,
      createInstance: async (name, { settings, region = scenario.target.region } = {}) => {
        const created = await provider.create(
          {
            name: this.instanceName(name),
            engine,
            ...(scenario.target.version ? { version: scenario.target.version } : {}),
            ...(scenario.target.image ? { image: scenario.target.image } : {}),
            ...(settings ? { settings } : {}),
            shared,
          },
          providerContext,
        );
        this.createdInstances.add(created);
        if (this.measuring) this.restoreTarget = created;
        this.regions.set(created.name, region);
        return created;
      },
      captureSource: (captureOptions = {}) => this.openCapture('backup', context.source, captureOptions),
    };
    return { source, provider, storage, context, ...(seedCacheKey ? { seedCacheKey } : {}) };
  }

  /** A name not yet used in this drill: a second restore attempt is `restore-2`. */
  private instanceName(name: string): string {
    const taken = new Set([...this.createdInstances].map((instance) => instance.name));
    if (!taken.has(name)) return name;
    let index = 2;
    while (taken.has(`${name}-${index}`)) index++;
    return `${name}-${index}`;
  }

  /** Records an instance in the journal, and keeps its log when the drill ends with it still running. */
  private track(instance: StartedInstance): void {
    this.liveInstances.add(instance);
    this.journal.instances ??= [];
    const port = instance.localConnection.port;
    const record = this.journal.instances.find((known) => known.name === instance.name);
    if (!record) {
      const region = this.regions.get(instance.name) ?? this.scenario.target.region;
      this.journal.instances.push({ name: instance.name, provider: instance.provider, version: instance.version, location: instance.location, region, ports: [port] });
    } else if (!record.ports?.includes(port)) {
      // Started again (a second restore attempt): the runbook names every port it served on.
      record.ports = [...(record.ports ?? []), port];
    }
  }

  /**
   * What the seeded data directory depends on: the engine and its version, the scenario's server
   * settings (a page size must match the files), the database, the ledger's tables, and what the
   * dataset's load would produce (its statements, its files). Not the strategy's settings: the
   * seed's data does not depend on archiving, so every strategy of a matrix shares one copy.
   */
  private async seedCacheKey(instance: StoppedInstance): Promise<string> {
    const engine = this.engine!;
    const identity = await this.dataset.identity();
    const settings = Object.entries(this.scenario.target.settings).sort(([a], [b]) => a.localeCompare(b));
    const parts = { format: 1, engine: engine.name, version: instance.version, settings, database: engine.databaseName, ledger: engine.ledgerDdl(), dataset: identity };
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  /** Stops the source cleanly, runs `step` on its data directory, and starts it again (the handle changes; the drill's and the strategy's follow). */
  private async restartSource(provisioned: Provisioned, step: (stopped: StoppedInstance) => Promise<void>): Promise<void> {
    const stopped = await provisioned.source.stop();
    this.liveInstances.delete(provisioned.source);
    await step(stopped);
    const started = await stopped.start();
    provisioned.source = provisioned.context.source = started;
    this.track(started);
  }

  /** The dataset and the ledger in the source; every check and the fault's table proven usable before any load runs. */
  private async seed(provisioned: Provisioned): Promise<void> {
    const { source } = provisioned;
    const engine = this.engine!;
    const { scenario, dataset } = this;
    const database = { ...source.connection, database: engine.databaseName };
    const seedProbe = this.dataProbe(source);
    await this.phase(
      'seed',
      async () => {
        const cacheKey = provisioned.seedCacheKey;
        if (this.journal.seedCache?.outcome !== 'reused') {
          await withSession(engine, source, (session) => engine.createDatabase(session, engine.databaseName), source.connection.database);
          await withSession(engine, source, async (session) => {
            await dataset.load({ engine, instance: source, connection: database, session });
            for (const statement of engine.ledgerDdl()) await session.query(statement);
          });
          if (cacheKey) {
            await this.restartSource(provisioned, (stopped) => stopped.keepInCache(cacheKey));
            this.journal.seedCache = { outcome: 'kept', key: cacheKey };
          }
        }
        this.journal.versions.server = await withSession(engine, provisioned.source, (session) => engine.serverVersion(session));
      },
      // A seed of milliseconds for gigabytes needs saying why, wherever the phase is shown.
      `${dataset.describe()}${this.journal.seedCache?.outcome === 'reused' ? '; copied from the seeded-data cache as the source was created' : provisioned.seedCacheKey ? '; a copy kept in the seeded-data cache' : ''}`,
      seedProbe ? { probe: seedProbe } : {},
    );
    this.journal.versions.tools = await Promise.all(
      engine.reportedTools.map(async (name) => {
        const result = await provisioned.source.run(name, ['--version'], { allowFailure: true, quiet: true }).catch((error: unknown) => ({ exitCode: 1, stdout: '', stderr: errorMessage(error) }));
        const text = (result.stdout.trim() || result.stderr.trim()).split('\n')[0] ?? '';
        return result.exitCode === 0 ? { name, version: text } : { name, missing: text || 'not found' };
      }),
    );
    // A check or a fault that cannot work on this data is a scenario error, found now and not
    // after minutes of drill: the checks run (read-only) on the seeded source.
    await withSession(engine, provisioned.source, async (session) => {
      const table = typeof scenario.fault.table === 'string' ? scenario.fault.table : undefined;
      if (table && !(await engine.tableExists(session, table))) {
        throw new DrillSetupError(`the fault's table "${table}" does not exist in the dataset`, `tables: ${(await engine.listTables(session)).join(', ')}`);
      }
      for (const check of scenario.objectives.checks) {
        try {
          await engine.readOnlyValue(session, check.sql);
        } catch (error) {
          throw new DrillSetupError(`check "${check.name}" cannot run: ${errorMessage(error)}`, `fix its SQL in the scenario (it runs on the restored database; it was tried on the seeded source): ${check.sql}`);
        }
      }
    });
  }

  /** The workload running; the strategy prepared; every scheduled backup taken; off-site copies running. */
  private async backUp(provisioned: Provisioned): Promise<BackedUp> {
    const engine = this.engine!;
    const { scenario, clock, strategy } = this;
    const { context, source, storage } = provisioned;
    if (strategy.prepare) await this.phase('prepare', () => strategy.prepare!(context));

    // The spool's uploader first: off-site copies of primary copy what it uploaded.
    const spool = storage.get(SPOOL);
    const replicators: Replicator[] = [];
    if (spool) {
      const uploader = new Replicator(spool, storage.get('primary')!, (scenario.storage.primary as LocationOptions).spool.every, () => clock.now(), this.log);
      uploader.start();
      replicators.push(uploader);
    }
    for (const [name, options] of Object.entries(scenario.storage) as Array<[string, LocationOptions]>) {
      if (!options.copy) continue;
      const replicator = new Replicator(storage.get(options.copy.from)!, storage.get(name)!, options.copy.every, () => clock.now(), this.log);
      replicator.start();
      replicators.push(replicator);
    }

    const workload = new Workload({
      engine,
      connection: { ...source.connection, database: engine.databaseName },
      dataset: this.dataset,
      writers: scenario.workload.writers,
      rate: scenario.workload.rate === 'max' ? null : scenario.workload.rate,
      seed: scenario.workload.seed,
      now: () => clock.now(),
      log: this.log,
    });
    this.workload = workload;
    this.ledger = workload.ledger;
    await workload.start();
    const workloadStart = this.timeline.event('workload-start');
    this.journal.workload.startMs = workloadStart;
    await this.wait('warmup', scenario.workload.warmup);

    const backups: BackedUp['backups'] = [];
    const firstAt = clock.now();
    for (let index = 1; index <= scenario.backups.count; index++) {
      const due = firstAt + (index - 1) * scenario.backups.every;
      if (due > clock.now()) await this.wait('steady', due - clock.now());
      const startMs = this.timeline.event('backup-start', `backup ${index}`);
      // A later backup is expected to take about as long as the one before it: progress counts down to that.
      const previous = backups.at(-1)?.record.durationMs;
      const result = await this.phase(BACKUP_PHASE, () => strategy.backup(context), scenario.backups.count > 1 ? `backup ${index} of ${scenario.backups.count}` : undefined, previous ? { expectedMs: previous } : {});
      const endMs = this.timeline.event('backup-end', `backup ${index}`);
      for (const object of result.objects) {
        this.journal.artifacts.push({ name: scenario.backups.count > 1 ? `${object.name} (backup ${index})` : object.name, kind: 'backup', location: object.location, key: object.key, sizeBytes: object.sizeBytes, sha256: object.sha256 });
      }
      const record: BackupRecord = {
        strategy: scenario.strategy.name,
        index,
        startMs,
        endMs,
        durationMs: endMs - startMs,
        ...(result.consistentAt ? { consistentAt: result.consistentAt } : {}),
        sizeBytes: result.objects.reduce((sum, object) => sum + object.sizeBytes, 0),
      };
      backups.push({ result, record, location: 'primary' });
      if (scenario.backups.retention) await this.ownPhase('retention', () => this.prune(backups, scenario.backups.retention!, index, storage.get('primary')!));
    }
    this.journal.backups = backups.map((backup) => backup.record);
    this.journal.backup = backups[backups.length - 1]!.record;
    // What a restore brings back, in the terms a forecast scales by: the database's own size.
    this.journal.volume = {
      dataBytes: await withSession(engine, source, (session) => engine.databaseBytes(session)),
      logBytes: null,
      log: engine.logName,
    };
    // About what a restore writes again, for its progress; measured only for a progress display.
    const sourceProbe = this.dataProbe(context.source);
    if (sourceProbe) this.sourceBytes = (await sourceProbe())?.doneBytes;
    return { ...provisioned, workload, backups, replicators, stopSampling: this.sampleStrategy(context) };
  }

  /** The retention policy applied to the primary location after backup `after`: what it keeps stays a restore candidate. */
  private async prune(backups: BackedUp['backups'], policy: RetentionPolicy, after: number, location: StorageLocation): Promise<void> {
    const present = backups.filter((backup) => !backup.record.pruned);
    const origin = Date.parse(this.journal.startedAt);
    const result = await pruneBackups(
      location,
      present.map((backup) => ({
        index: backup.record.index!,
        takenAt: new Date(origin + backup.record.endMs),
        keys: backup.result.objects.map((object) => object.key),
        ...(backup.result.startPosition ? { startPosition: backup.result.startPosition } : {}),
        ...(backup.result.basedOn !== undefined ? { basedOn: backup.result.basedOn } : {}),
      })),
      policy,
      this.definition.archive,
    );
    for (const { backup } of result.removed) backups.find((candidate) => candidate.record.index === backup)!.record.pruned = true;
    const record = (this.journal.retention ??= { policy: result.policy, passes: [] });
    record.passes.push({ afterBackup: after, kept: result.kept, removed: result.removed, archiveRemoved: result.archiveRemoved });
  }

  /** Samples the strategy's figures every second until stopped; the last sample is taken as it stops. */
  private sampleStrategy(context: StrategyContext): () => Promise<void> {
    const sample = this.strategy.sample?.bind(this.strategy);
    if (!sample) return async () => undefined;
    const samples: NonNullable<Journal['strategySamples']> = (this.journal.strategySamples = []);
    const take = async () => {
      const values = await sample(context).catch(() => undefined);
      if (values) samples.push({ atMs: this.clock.now(), values });
    };
    let running = true;
    const loop = (async () => {
      while (running) {
        await take();
        await sleep(1000).catch(() => undefined);
      }
    })();
    let stopped: Promise<void> | undefined;
    return () =>
      (stopped ??= (async () => {
        running = false;
        await loop;
        await take();
      })());
  }

  /**
   * Captures the source as of now: the snapshot opens, the inventory is read and the tables are
   * pinned (DDL waits) before this resolves; the digests are read in the background.
   */
  private async openCapture(at: SourceCapture['at'], instance: StartedInstance, options: { importSnapshot?: string; exact?: boolean }): Promise<PendingCapture> {
    const engine = this.engine!;
    const snapshot = await engine.openSnapshot({ ...instance.connection, database: engine.databaseName }, options.importSnapshot ? { importSnapshot: options.importSnapshot } : {});
    try {
      const inventory = await snapshot.inventory();
      // Tables only: PostgreSQL cannot LOCK a materialized view, and a fault's DDL targets tables.
      await snapshot.pin(inventory.filter((object) => object.content && object.kind === 'table').map((object) => object.name));
      const done: Promise<SourceCapture> = snapshot
        .digests(inventory, { ledger: true, viewQueries: this.definition.logical })
        .then((tables) => ({ at, exact: options.exact ?? false, inventory, tables }))
        .finally(() => snapshot.close());
      // A capture that fails is reported where it is used, not as an unhandled rejection here.
      done.catch(() => undefined);
      if (at !== 'backup') this.captures[at] = done;
      return { done };
    } catch (error) {
      await snapshot.close();
      throw error;
    }
  }

  /** The incident injected at its moment, detected (after the delay, or by its own detection), the archive completed, latent faults applied. */
  private async injectFault(backedUp: BackedUp): Promise<Faulted> {
    const engine = this.engine!;
    const { scenario, clock, journal } = this;
    const { context, workload, storage } = backedUp;
    const handOver = this.options.handOver;
    if (handOver) handOver.briefed(await this.brief(backedUp));
    const faultDue = journal.workload.startMs! + (handOver?.faultAtMs ?? scenario.fault.at);
    if (faultDue > clock.now()) await this.wait('steady', faultDue - clock.now());
    if (this.options.hooks?.beforeFault) await this.ownPhase('hook', () => this.options.hooks!.beforeFault!(backedUp.backups.map((backup) => backup.result)));
    this.abortIfInterrupted();

    // The standby's lag as the fault strikes: what an asynchronous one will lose.
    await backedUp.stopSampling();
    // What each copy's origin holds as the fault strikes: a lost origin's un-copied files are named.
    for (const replicator of backedUp.replicators) await replicator.census();
    const source = context.source;
    const session = await engine.connect({ ...source.connection, database: engine.databaseName });
    const faultContext: FaultContext = {
      engine,
      source,
      session,
      storage,
      region: scenario.target.region,
      beside: this.strategy.beside?.() ?? [],
      log: this.log,
      exec: this.exec,
      workDir: context.workDir,
      capture: async () => {
        const { done } = await this.openCapture('fault', source, { exact: this.incident.logical });
        // A fault that takes the server must let the capture finish reading it first.
        if (!this.incident.logical) await done;
      },
    };
    const fault = await this.phase('fault', async () => {
      try {
        return await this.incident.inject(faultContext, scenario.fault as never);
      } finally {
        await session.close();
      }
    });
    const faultAtMs = this.timeline.event('fault', fault.description);
    this.target = recoveryTargetOf(scenario, fault.point);
    this.measuring = true;
    if (fault.source.state === 'running' && fault.source.instance) {
      context.source = fault.source.instance;
      this.track(fault.source.instance);
    }
    journal.fault = {
      kind: scenario.fault.kind,
      description: fault.description,
      atMs: faultAtMs,
      wallTime: clock.wall(faultAtMs),
      point: fault.point,
      detectAfterMs: scenario.fault.detectAfter,
      sourceAfter: fault.source.state,
      ...(fault.destroyedLocations ? { destroyedLocations: fault.destroyedLocations } : {}),
      ...(fault.notes ? { notes: fault.notes } : {}),
      ...(fault.damage ? { table: fault.damage.table, affectedRows: fault.damage.rows.rows, damageDigest: fault.damage.rows.digest } : {}),
    };
    if (handOver) {
      // From here on the team notices, decides and recovers; the application keeps writing.
      handOver.struck(fault.description, faultAtMs);
      return { ...backedUp, fault, faultAtMs };
    }

    await this.phase('detect', async () => {
      const detection = this.incident.detect
        ? await this.incident.detect(faultContext, fault, scenario.fault as never, scenario.fault.detectAfter)
        : await sleep(scenario.fault.detectAfter, this.signal).then(() => undefined);
      if (this.incident.detect) journal.fault!.detection = detection ?? `not noticed within ${formatDuration(scenario.fault.detectAfter)}`;
      await workload.stop();
    }, undefined, this.incident.detect ? {} : { expectedMs: scenario.fault.detectAfter });
    journal.fault.detectedAtMs = this.timeline.event('detected', journal.fault.detection);

    // A capture at the end only where the fault left the data readable and whole (not a corrupt page).
    if (this.target.kind === 'latest' && fault.source.state === 'running' && this.incident.logical) {
      await this.openCapture('latest', context.source, { exact: false });
    }
    await this.locate(context.source, fault);
    if (this.strategy.afterDetection) await this.phase('archive', () => this.strategy.afterDetection!(context));
    // The last uploads and copies, in order (a copy's last pass copies what the spool's last
    // upload brought), from every origin that survived: the operator waits for them.
    const destroyed = new Set(fault.destroyedLocations ?? []);
    const copies: CopyReport[] = [];
    const stopCopies = async () => {
      for (const replicator of backedUp.replicators) copies.push(await replicator.stop(!destroyed.has(replicator.from.name)));
    };
    if (backedUp.replicators.length > 0) await this.phase('upload', stopCopies);
    for (const copy of copies) {
      const record = journal.storage?.find((location) => location.name === copy.to);
      if (record) record.copy = { from: copy.from, everyMs: copy.everyMs, objects: copy.objects, bytes: copy.bytes, maxLagMs: copy.maxLagMs, behind: copy.behind };
    }
    for (const name of fault.destroyedLocations ?? []) {
      const record = journal.storage?.find((location) => location.name === name);
      if (record) record.destroyed = true;
    }
    return { ...backedUp, fault, faultAtMs };
  }

  /**
   * What a team recovering by hand needs: every instance (the source, and an empty one of the
   * same engine and version to restore into, made now so that provisioning is not their
   * exercise), every storage location and the backups in it, a scratch directory.
   */
  private async brief(backedUp: BackedUp): Promise<Briefing> {
    const engine = this.engine!;
    const { context, storage, workload } = backedUp;
    const spare = await this.phase('spare', async () => {
      const created = await context.createInstance('spare');
      await created.initialize();
      return created.start();
    });
    this.track(spare);
    const scratch = join(context.workDir, 'team');
    await mkdir(scratch, { recursive: true });
    this.resources.add('directory', scratch, () => removeScratch(scratch), { handle: { type: 'scratch', path: scratch }, remove: [`rm -rf ${scratch}`] });
    const describe = (instance: StartedInstance, role: string) => ({
      name: instance.name,
      role,
      connection: instance.connection,
      uri: engine.uri({ ...instance.connection, database: role === 'source' ? engine.databaseName : instance.connection.database }),
      location: instance.location,
      version: instance.version,
    });
    return {
      instances: [describe(context.source, 'source'), describe(spare, 'empty, to restore into')],
      storage: [...storage.values()].map((location) => ({
        name: location.name,
        type: location.type,
        region: location.region,
        address: location.address,
        backups: this.journal.artifacts
          .filter((artifact) => artifact.kind === 'backup' && artifact.location === location.name)
          .map((artifact) => ({ name: artifact.name, key: artifact.key, sizeBytes: artifact.sizeBytes, ...(location.directory ? { path: join(location.directory, artifact.key) } : {}) })),
      })),
      scratch,
      series: () => workload.series(),
      now: () => this.clock.now(),
      startedAtWallMs: this.clock.startedAtWall.getTime(),
    };
  }

  /**
   * A point-in-time restore before a bad DELETE or UPDATE needs the bad transaction's id, which
   * a responder does not know: they find it in the server's log. The drill takes that step as
   * they would (the source still runs), in the RTO, and records whether the transaction it
   * names is the fault's, so the runbook's step is one that was tried and would not mislead.
   */
  private async locate(source: StartedInstance, fault: FaultOutcome): Promise<void> {
    const change = this.incident.changes;
    const table = fault.damage?.table;
    const journal = this.journal;
    if (!change || !table || !this.definition.pointInTime || this.target.kind !== 'before-fault' || fault.source.state !== 'running') return;
    const engine = this.engine!;
    const located = await this.phase('locate', () => withSession(engine, source, (session) => engine.locateChanges(source, session, table, change)));
    const candidates = [...located.transactions].sort((a, b) => b.rows - a.rows).slice(0, 5);
    const found = candidates[0]?.transaction;
    journal.fault!.located = { change, candidates, ...(found ? { found } : {}), matches: found !== undefined && found === fault.point.transaction, searched: located.searched };
  }

  /** The location a restore reads from: primary, or the first copy that survived. */
  private restoreLocation(faulted: Faulted): StorageLocation | undefined {
    const destroyed = new Set(faulted.fault.destroyedLocations ?? []);
    const candidates = ['primary', ...(Object.entries(this.scenario.storage) as Array<[string, LocationOptions]>).filter(([, options]) => options.copy?.from === 'primary').map(([name]) => name)];
    const name = candidates.find((candidate) => !destroyed.has(candidate));
    return name ? faulted.storage.get(name) : undefined;
  }

  /**
   * Recovery as an operator would do it: a standby fails over; a killed server restarts (crash
   * recovery); otherwise the newest backup that passes its checks is restored, older ones tried
   * when it does not. What could not come back is reported as such, never as an error of firedrill.
   */
  private async recover(faulted: Faulted): Promise<Recovered> {
    const { scenario, journal, definition } = this;
    const { context, fault } = faulted;
    const method = scenario.recovery.method;
    const failover = definition.keeps === 'standby';
    // Only a fault that leaves the server able to start again is recovered by starting it (a
    // server that would not start on a corrupt page is not).
    const restart = !failover && this.incident.leaves === 'stopped' && fault.source.state === 'stopped' && (method === 'restart' || method === 'auto');
    const defects: string[] = [];

    if (restart && fault.source.state === 'stopped') {
      const stopped: StoppedInstance = fault.source.instance;
      this.timeline.event('restore-start', 'crash recovery');
      const instance = await this.phase('start', () => stopped.start());
      await this.phase('replay', () => instance.waitWritable());
      this.track(instance);
      this.restored = instance;
      const recovery = { method: 'restart the server: crash recovery from its own WAL or redo log', reached: true, point: 'latest' as const, detail: 'the same server, started again on its own data directory', restored: true };
      journal.recovery = { target: scenario.recovery.target, ...recovery };
      return { ...faulted, instance, connection: this.databaseOn(instance), recovery, backupUsed: undefined, defects };
    }

    const location = this.restoreLocation(faulted);
    // What the archive held once the source had shipped all it would, before anything breaks it.
    const archive = definition.archive;
    const archiveRecord = archive && location ? await this.ownPhase('archive-record', () => recordArchive(location, archive.prefix)) : undefined;
    for (const [index, latent] of scenario.latentFaults.entries()) {
      journal.latentFaults ??= [];
      if (!location) {
        journal.latentFaults[index] = { kind: latent.kind, description: 'not applied: no stored backup survived the fault' };
        continue;
      }
      const latentDefinition = faults[latent.kind] as LatentDefinition;
      const description = await this.ownPhase('backup-fault', () =>
        latentDefinition.inject(
          {
            engine: this.engine!,
            storage: new Map([...faulted.storage].filter(([name]) => !(fault.destroyedLocations ?? []).includes(name))),
            restoreFrom: location,
            backups: faulted.backups.map((backup) => ({ result: backup.result, location: location.name })),
            strategy: definition,
            incident: fault.point,
            log: this.log,
            exec: this.exec,
          },
          latent as never,
        ),
      );
      journal.latentFaults[index] = { kind: latent.kind, description };
    }
    if (this.options.hooks?.beforeRestore) {
      await this.ownPhase('hook', () => this.options.hooks!.beforeRestore!(context, fault, faulted.backups.map((backup) => backup.result)));
    }
    this.timeline.event('restore-start');
    // A standby needs no storage to fail over; backups do.
    if (!location && !failover) {
      const reason = `no backup survived: every location holding them (${(fault.destroyedLocations ?? []).join(', ')}) was destroyed with region "${scenario.target.region}"`;
      const recovery = { method: 'none', reached: false, point: 'latest' as const, detail: reason, restored: false };
      journal.recovery = { target: scenario.recovery.target, ...recovery };
      return { ...faulted, instance: undefined, connection: undefined, recovery, backupUsed: undefined, defects };
    }
    if (location) context.storage = location;
    const attempts: Array<{ backup: number; defect: string }> = [];
    // The archive as recorded, checked as a careful operator's tool does before replaying it.
    const archiveFound = archiveRecord && location ? await this.phase('verify-archive', () => checkArchive(location, archiveRecord)) : undefined;
    if (archive && archiveFound && location) {
      for (const name of archiveFound.missing) defects.push(`${archive.file} ${name} is missing from archive "${location.name}" (it was there when archiving ended)`);
      for (const name of archiveFound.changed) defects.push(`${archive.file} ${name} in archive "${location.name}" was changed after it was archived (its sha256 differs from the one recorded then)`);
    }
    // Newest first; with a standby there is nothing older to fall back on.
    // Backups the retention policy pruned are gone by design, not by a fault: they are not tried.
    const candidates = failover ? faulted.backups.slice(-1) : faulted.backups.filter((backup) => !backup.record.pruned).reverse();
    for (const candidate of candidates) {
      const before = new Set(this.createdInstances);
      const first = archive && candidate.result.startPosition ? archive.fileOf(candidate.result.startPosition) : undefined;
      let result: RecoverResult;
      try {
        result = await this.strategy.recover(context, { backup: candidate.result, target: this.target, faultPoint: fault.point });
        const lost = first ? archiveFound?.missing.filter((name) => name >= first) : undefined;
        if (lost?.length && this.target.kind === 'latest' && result.recovery.reached !== false) {
          // The archive ends early where a file of it is gone: replay stopped there, which looks like its end.
          result.recovery.reached = false;
          result.recovery.gap = { what: `${archive!.file} ${lost[0]}`, location: location!.name };
          result.recovery.detail = `${archive!.file} ${lost[0]} is missing from archive "${location!.name}", so replay ended before the end of what was archived; ${result.recovery.detail}`;
        }
      } catch (error) {
        if (!(error instanceof BackupDefect)) throw error;
        const defect = `backup ${candidate.record.index}: ${error.message}`;
        defects.push(defect);
        attempts.push({ backup: candidate.record.index!, defect: error.message });
        this.log.warn({ backup: candidate.record.index, defect: error.message }, 'backup cannot be restored');
        // What the failed attempt created goes before the next one starts.
        for (const created of this.createdInstances) if (!before.has(created)) await created.destroy().catch(() => undefined);
        continue;
      }
      this.track(result.instance);
      this.restored = result.instance;
      journal.backup = candidate.record;
      // The log the replay applied, as the strategy read it off the recovery: the sweep's model
      // fits the replay phase against it.
      if (journal.volume) journal.volume.logBytes = result.replayedBytes ?? null;
      const lag = failover ? journal.strategySamples?.at(-1)?.values : undefined;
      if (lag && (lag.lagBytes !== null || lag.lagMs !== null)) {
        result.recovery.detail += `; when the fault struck the standby was ${lag.lagBytes ?? '?'} bytes and ${formatDuration(lag.lagMs ?? null)} behind`;
      }
      const recovery = { ...result.recovery, restored: true, backupUsed: candidate.record.index!, ...(location && !failover ? { location: location.name } : {}), ...(attempts.length > 0 ? { attempts } : {}) };
      const gap = result.recovery.gap && `${result.recovery.gap.what} is missing from archive "${result.recovery.gap.location}"`;
      // Found by the archive check already, or only now by the replay stopping at it.
      if (gap && !defects.some((defect) => defect.startsWith(gap))) defects.push(gap);
      journal.recovery = { target: scenario.recovery.target, ...recovery };
      return { ...faulted, instance: result.instance, connection: this.databaseOn(result.instance), recovery, backupUsed: candidate, defects };
    }
    const recovery = {
      method: 'none',
      reached: false,
      point: 'latest' as const,
      detail: failover
        ? `no failover: ${attempts.map((attempt) => attempt.defect).join('; ')}`
        : `no backup could be restored: ${attempts.map((attempt) => `backup ${attempt.backup}: ${attempt.defect}`).join('; ')}`,
      restored: false,
      ...(location ? { location: location.name } : {}),
      attempts,
    };
    journal.recovery = { target: scenario.recovery.target, ...recovery };
    return { ...faulted, instance: undefined, connection: undefined, recovery, backupUsed: undefined, defects };
  }

  private databaseOn(instance: StartedInstance): ConnectionInfo {
    return { ...instance.connection, database: this.engine!.databaseName };
  }

  /**
   * The team recovers (a game day): firedrill waits, in a phase that counts in the RTO, for the
   * database they declare restored, or for the time to run out. What they restored and how is
   * theirs; what it holds is measured as any restore is.
   */
  private async handOver(faulted: Faulted, handOver: HandOver): Promise<Recovered> {
    const { journal, scenario } = this;
    this.timeline.event('restore-start', 'handed over to the team');
    const declared = await this.phase('team', () => handOver.restored());
    const detectedAtMs = handOver.detectedAtMs();
    if (detectedAtMs !== undefined) journal.fault!.detectedAtMs = detectedAtMs;
    if (!declared) {
      const recovery = { method: 'the team', reached: false, point: 'declared' as const, detail: `no database was declared restored within the game day's ${formatDuration(handOver.timeLimitMs)}`, restored: false };
      journal.recovery = { target: scenario.recovery.target, ...recovery };
      return { ...faulted, instance: undefined, connection: undefined, recovery, backupUsed: undefined, defects: [] };
    }
    // Whatever point the team chose: the ledger and the damage say what it holds.
    // Nobody asked a tool for a target, so none is said to be reached: what the database holds is judged (writes lost, damage undone).
    const recovery = { method: `the team's own recovery, declared restored on ${declared.name}`, reached: null, point: 'declared' as const, detail: `declared restored: ${declared.name}`, restored: true };
    journal.recovery = { target: scenario.recovery.target, ...recovery };
    return { ...faulted, instance: undefined, connection: declared.connection, recovery, backupUsed: undefined, defects: [] };
  }

  /**
   * The restored database serving again. Firedrill's own restore is probed with one write
   * (writer 0). A database the team declared restored is given the workload, as the application
   * reconnecting: service is back at the first write it acknowledges, and it keeps writing.
   */
  private async serviceBack(connection: ConnectionInfo): Promise<number | null> {
    const engine = this.engine!;
    const workload = this.workload;
    if (!this.options.handOver || !workload) {
      await this.phase('service', () => withConnection(engine, connection, (session) => engine.writeTransaction(session, 0, 1, null, [])));
      return this.timeline.event('service-restored');
    }
    const first = await this.phase('service', async () => {
      await workload.stop();
      await workload.resume(connection);
      return workload.firstResumedAck(FIRST_WRITE_TIMEOUT_MS, this.signal);
    });
    if (first === undefined) return null;
    this.timeline.event('writes-resumed', 'first write acknowledged by the restored database', first);
    return this.timeline.event('service-restored', undefined, first);
  }

  /** Service back, checks and the equality proof run, the ledger compared, the verdict given. */
  private async verify(recovered: Recovered): Promise<void> {
    const engine = this.engine!;
    const { scenario, journal, ledger, timeline } = this;
    const { instance, connection, fault, faultAtMs, recovery } = recovered;
    let serviceAt: number | null = null;
    let verifiedAt: number | null = null;
    let present: Array<{ writer: number; seq: number; serverTimeUs: number }> = [];
    let damage: DamageResult | undefined;
    let equality: EqualityRecord | undefined;

    let serviceReason: string | undefined;
    if (connection) {
      serviceAt = await this.serviceBack(connection);
      if (serviceAt === null) serviceReason = `the database declared restored acknowledged no write within ${formatDuration(FIRST_WRITE_TIMEOUT_MS)}: it does not serve the application`;
      // Filled: verification reads the restored data, it does not write it.
      this.restoreTarget = undefined;
      const capture = this.comparisonCapture(recovered);
      const verification = await this.phase('verify', () =>
        withConnection(engine, connection, async (session) => {
          const checks: CheckResult[] = (await engine.integrityChecks(session)).map(({ name, passed, value, detail }) => ({ name, passed, ...(value === undefined ? {} : { value }), detail }));
          for (const check of scenario.objectives.checks) {
            try {
              const value = await engine.readOnlyValue(session, check.sql);
              checks.push({ name: check.name, sql: check.sql, expect: String(check.expect), value: value ?? 'NULL', passed: meetsExpectation(value, check.expect) });
            } catch (error) {
              checks.push({ name: check.name, sql: check.sql, expect: String(check.expect), passed: false, detail: errorMessage(error) });
            }
          }
          // Neither the probe (writer 0) nor writes made after the restore: those are no part of it.
          const rows = (await engine.readLedger(session)).filter((row) => row.writer !== 0 && !this.workload?.resumedWrite(row));
          // The damaged rows against the restored table's, both in key order: read, not held.
          const damaged = fault.damage && (await this.assessDamage(fault.damage, rows, (await engine.tableExists(session, fault.damage.table)) ? engine.rowFingerprints(session, fault.damage.table) : null));
          const compared = scenario.objectives.equalToSource !== false ? await this.compare(connection, capture, recovery) : undefined;
          return { checks, rows, damaged, compared };
        }),
      );
      journal.checks = verification.checks;
      if (this.options.hooks?.afterRecovery && instance) await this.ownPhase('hook', () => this.options.hooks!.afterRecovery!(instance));
      present = verification.rows;
      damage = verification.damaged;
      equality = verification.compared;
      // A restore to a chosen time, or to wherever a team took it, has no snapshot of the source
      // at that instant: unless the scenario asks for the comparison, it is recorded as not
      // made, and not judged.
      if (equality?.notCompared && (recovery.point === 'time' || recovery.point === 'declared') && scenario.objectives.equalToSource === undefined) {
        journal.equality = equality;
        equality = undefined;
      }
      if (serviceAt !== null && verification.checks.every((check) => check.passed) && (!equality || equality.differences.length === 0) && !equality?.notCompared) {
        verifiedAt = timeline.event('verified');
      }
    } else if (scenario.objectives.equalToSource !== false) {
      equality = { differences: [], notCompared: 'nothing was restored to compare' };
    }
    if (equality) journal.equality = equality;

    const ledgerResult: LedgerResult = compareLedger({
      acked: ledger.acked,
      indeterminate: ledger.indeterminate,
      failed: ledger.failed,
      present,
      faultTimeUs: fault.point.serverTimeUs,
      targetTimeUs: this.target.kind === 'before-fault' ? fault.point.serverTimeUs : this.target.kind === 'time' ? Date.parse(this.target.time) * 1000 : null,
      // A drill stops the writes at detection; on a game day they go on while the team recovers.
      // The servers run on this machine's clock: the detection's wall time is their time.
      detectedTimeUs: this.options.handOver && journal.fault!.detectedAtMs !== undefined ? (this.clock.startedAtWall.getTime() + journal.fault!.detectedAtMs) * 1000 : null,
    });
    journal.ledger = ledgerResult;
    // Nothing restored: every damaged row is still missing.
    if (fault.damage && !damage) damage = await this.assessDamage(fault.damage, present, null);
    if (damage) journal.damage = damage;

    const rto = measureRto({ faultAtMs, serviceRestoredAtMs: serviceAt, verifiedAtMs: verifiedAt, phases: timeline.phases });
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
    const facts: RecoveryFacts = {
      restored: { passed: serviceAt !== null, ...(serviceAt !== null ? {} : { reason: serviceReason ?? recovery.detail }) },
      backups: { defects: recovered.defects },
      // A team's recovery had no target given to a tool: the damage and the writes lost judge it.
      recovery: recovery.point === 'declared' && recovery.restored ? undefined : { reached: recovery.reached, ...(recovery.reached === true ? {} : { reason: this.notReachedReason(recovery, ledgerResult) }) },
      equality: equality ? (equality.notCompared ? { notCompared: equality.notCompared } : { differences: equality.differences.map((difference) => difference.message) }) : undefined,
      advice: breachAdvice({
        strategy: scenario.strategy.name,
        pointInTime: this.definition.pointInTime,
        keeps: this.definition.keeps,
        pointInTimeStrategies: strategiesFor(scenario.target.engine)
          .filter((candidate) => candidate.pointInTime && candidate.keeps === 'backups')
          .map((candidate) => candidate.name),
        backups: { count: scenario.backups.count, everyMs: scenario.backups.every },
        detectedAfterMs: journal.fault!.detectedAtMs === undefined ? null : journal.fault!.detectedAtMs - journal.fault!.atMs,
        lost: ledgerResult.lost,
        lostToDetection: ledgerResult.lostToDetection,
        lostAfterDetection: ledgerResult.lostAfterDetection,
        breakdown: rto.breakdown,
      }),
    };
    const { objectives, passed } = judge(objectiveTargets(scenario, Boolean(fault.damage)), journal.measurements, journal.checks, facts);
    journal.objectives = objectives;
    journal.status = passed ? 'passed' : 'failed';
  }

  /** "WAL segment … missing from archive 'primary'; recovery stopped at …, 9.8 s before the target; 412 acknowledged writes lost". */
  private notReachedReason(recovery: Omit<RecoveryRecord, 'target'>, ledger: LedgerResult): string {
    const parts = [recovery.detail];
    const stop = recovery.stoppedAtUs ?? ledger.newestSurvivingUs;
    const targetUs = this.target.kind === 'before-fault' ? this.journal.fault?.point.serverTimeUs : this.target.kind === 'time' ? Date.parse(this.target.time) * 1000 : ledger.lastAckedBeforeFaultUs;
    if (stop !== null && stop !== undefined && targetUs !== undefined && targetUs !== null && targetUs > stop) parts.push(`${formatDuration((targetUs - stop) / 1000)} before the target`);
    parts.push(`${ledger.lost} acknowledged write${ledger.lost === 1 ? '' : 's'} lost`);
    return parts.join('; ');
  }

  /** The capture of the source the restored database must equal, for the point recovery reached. */
  private comparisonCapture({ recovery, backupUsed }: Recovered): Promise<SourceCapture> | undefined {
    const point = recovery.point;
    if (point === 'fault') return this.captures.fault;
    if (point === 'backup') return backupUsed?.result.capture?.done;
    if (point === 'latest' || point === 'failover') return this.captures.latest ?? this.captures.fault;
    return undefined;
  }

  /** Whether the rows the fault damaged are back as they were, in `restored` (null: the table is not there). */
  private assessDamage(damage: NonNullable<FaultOutcome['damage']>, present: ReadonlyArray<{ writer: number; seq: number }>, restored: KeyOrderedRows | null): Promise<DamageResult> {
    const lost = missingWrites(this.ledger.acked, present);
    return assessDamage({ table: damage.table, before: damage.rows.read(), after: restored, createdByLostWrites: Ledger.refsOf(lost) });
  }

  /** The restored database's inventory and digests, compared with the capture: every difference named. */
  private async compare(connection: ConnectionInfo, capture: Promise<SourceCapture> | undefined, recovery: Omit<RecoveryRecord, 'target'>): Promise<EqualityRecord> {
    if (!capture) {
      return {
        differences: [],
        notCompared:
          recovery.point === 'time'
            ? 'a restore to a chosen time has no source snapshot at that instant to compare with'
            : recovery.point === 'declared'
              ? "the team chose the restore's point: no snapshot of the source was taken at it"
              : 'no snapshot of the source was taken for this recovery point',
      };
    }
    const source = await capture;
    const engine = this.engine!;
    const snapshot = await engine.openSnapshot(connection);
    try {
      const inventory = await snapshot.inventory();
      const tables = await snapshot.digests(inventory, { ledger: true, viewQueries: false });
      // Exact only when the restore is the capture's instant: a point-in-time restore to the fault, a dump's snapshot.
      const exact = source.exact && recovery.reached === true && recovery.point === source.at;
      const result = compareWithSource(source, { inventory, tables }, { mode: exact ? 'exact' : 'without workload rows', refreshedViews: this.definition.logical });
      return { against: result.against, mode: result.mode, objects: result.objects, tables: result.tables, rows: result.rows, inventory: result.inventory, differences: result.differences };
    } finally {
      await snapshot.close();
    }
  }

  /** Stops what runs, keeps the logs, releases everything (or detaches it with --keep), writes the journal. */
  /**
   * The application reconnecting to the restored database once service is back: the workload
   * writes to it for `workload.resume`, so the timeline shows the writes coming back after the
   * outage. It runs after the verdict, so these writes are no part of it, and is firedrill's own
   * time, not the RTO. A restored database that takes no writes is said so, not judged.
   */
  private async resumeWrites(recovered: Recovered): Promise<void> {
    const { workload, scenario, journal } = this;
    const connection = recovered.connection;
    // A game day's workload writes to the restored database already.
    if (!workload || workload.resumed || !connection || scenario.workload.resume <= 0 || journal.measurements.rtoServiceMs === null) return;
    await this.ownPhase('resume', async () => {
      await workload.resume(connection);
      try {
        await sleep(scenario.workload.resume, this.signal);
      } finally {
        await workload.stop();
      }
    });
    // Set by the resume above (the check before it narrowed the field to empty).
    const first = (workload.resumed as Workload['resumed'])?.firstAckMs;
    if (first !== undefined) this.timeline.event('writes-resumed', `first write acknowledged by the restored database`, first);
  }

  private async finish(backedUp: BackedUp | undefined): Promise<void> {
    const { journal, workload } = this;
    await workload?.stop().catch(() => undefined);
    await backedUp?.stopSampling().catch(() => undefined);
    await Promise.all((backedUp?.replicators ?? []).map((replicator) => replicator.stop(false).catch(() => undefined)));
    if (workload) {
      journal.workload = {
        ...journal.workload,
        endMs: workload.stoppedAtMs,
        acked: this.ledger.acked.length,
        failed: this.ledger.failed,
        indeterminate: this.ledger.indeterminate.length,
        series: workload.series(),
        ...(workload.resumed?.endMs !== undefined ? { resumed: { ...workload.resumed, endMs: workload.resumed.endMs } } : {}),
      };
      if (journal.workload.startMs !== undefined) {
        const { startMs, targetRate, series } = journal.workload;
        // The load as the scenario meant it is the one before the fault began: a fault's statement
        // can run for minutes (a DELETE of every row, its cascade), and the barrier holds the
        // writers back until it commits.
        const faultPhase = journal.phases.find((phase) => phase.name === 'fault');
        const until = faultPhase?.startMs ?? workload.stoppedAtMs ?? startMs;
        const achieved = throughputBetween(series, startMs, startMs, until);
        if (achieved !== null) journal.workload.achievedRate = achieved;
        // Judged on a typical second, not the mean: a backup's commit lock is the backup's cost
        // (its throughput during the backup says so), not a machine too slow for the rate.
        const typical = typicalThroughput(series, startMs, startMs, until) ?? achieved;
        if (targetRate !== null && typical !== null && typical < targetRate * SHORTFALL) {
          journal.workload.shortfall = `the workload wrote ${typical.toFixed(1)} writes/s in a typical second before the fault (the median) of the ${targetRate} asked for (${((typical / targetRate) * 100).toFixed(0)} %): this machine or server could not write faster with ${journal.workload.writers} writer(s); lower workload.rate, or add writers, so the figures describe the load you meant`;
          this.log.warn({ typical, achieved, targetRate }, 'workload below its target rate');
        }
        // A statement's run, up to its commit; a fault that takes the server is an outage instead.
        const during = faultPhase && this.incident.logical && faultPhase.durationMs >= SLOW_FAULT_MS ? throughputBetween(series, startMs, faultPhase.startMs, faultPhase.endMs) : null;
        if (faultPhase && achieved !== null && during !== null && during < achieved * SHORTFALL) {
          journal.workload.duringFault = { durationMs: faultPhase.durationMs, rate: during };
        }
      }
      if (journal.backup && journal.workload.startMs !== undefined) {
        const series = journal.workload.series;
        journal.backup.throughputBefore = throughputBetween(series, journal.workload.startMs, journal.workload.startMs, journal.backup.startMs) ?? undefined;
        journal.backup.throughputDuring = throughputBetween(series, journal.workload.startMs, journal.backup.startMs, journal.backup.endMs) ?? undefined;
        journal.calibration.baselineThroughput = journal.backup.throughputBefore;
        // A paced workload keeps its rate through a backup that only slows its writes; their latency shows that cost.
        journal.backup.latencyP95Before = workload.latencyPercentile(journal.workload.startMs, journal.backup.startMs, 0.95) ?? undefined;
        journal.backup.latencyP95During = workload.latencyPercentile(journal.backup.startMs, journal.backup.endMs, 0.95) ?? undefined;
      }
    }
    if (this.options.keep) {
      // Kept servers are not torn down, so their logs are read now.
      for (const instance of this.liveInstances) {
        const log = await instance.serverLog().catch(() => '');
        if (log) this.savedLogs.set(instance.name, scrubSecrets(log));
      }
    }
    await this.phase('teardown', async () => {
      await this.resources[Symbol.asyncDispose]();
      if (this.resources.failures.length > 0) {
        throw new Error(`could not remove ${this.resources.failures.map((failure) => `${failure.where} (${failure.message})`).join('; ')}; run \`firedrill cleanup\``);
      }
    }).catch(() => undefined);
    if (this.resources.failures.length > 0) journal.leftovers = [...this.resources.failures];
    // Server logs outlive the instances: kept beside the journal, scrubbed of secrets.
    for (const [name, text] of this.savedLogs) {
      const file = `${name}-server.log`;
      await writeFile(join(this.dir, file), text);
      journal.artifacts.push({ name: `${name} server log`, kind: 'log', location: 'report', key: file, sizeBytes: Buffer.byteLength(text) });
    }
    if (this.options.keep) journal.kept = this.resources.list();
    // An interruption anywhere, even during verify or teardown, is the drill's status.
    if (this.signal?.aborted && journal.status !== 'interrupted') {
      journal.status = 'interrupted';
      journal.errors.push({ phase: this.timeline.current ?? 'teardown', message: 'interrupted before the drill finished: its figures are not a measurement' });
    }
    if (this.options.handOver) journal.gameday = this.options.handOver.record();
    journal.finishedAt = new Date().toISOString();
    journal.durationMs = this.clock.now();
    await this.writeJournal(journal);
    this.log.flush?.();
  }
}

/** Written with fsync to the data directory's filesystem to calibrate against: enough to get past the page cache's first gulp. */
const CALIBRATION_BYTES = 128 * 2 ** 20;

/**
 * The sequential write rate of the filesystem the instance's data lives on, with fsync (`dd
 * conv=fsync`, beside the server: in its container on docker): the floor a restore's own
 * write rate is compared with. Quiet: firedrill's measurement, not a step of any runbook.
 */
async function diskWriteRate(instance: StartedInstance, clock: DrillClock): Promise<number> {
  const file = join(instance.paths.scratch, 'firedrill-calibrate');
  const started = clock.now();
  await instance.run('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${CALIBRATION_BYTES / 2 ** 20}`, 'conv=fsync'], { quiet: true });
  const ms = clock.now() - started;
  await instance.run('rm', ['-f', file], { quiet: true });
  return Math.round(CALIBRATION_BYTES / (ms / 1000));
}

/** The bytes of the archived WAL or binlog from `first` (the restored backup's first file) on: what recovery replays at most. */
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
