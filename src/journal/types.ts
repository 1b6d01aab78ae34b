import type { CommandRecord } from '../util/exec.js';
import type { ResourceRecord } from '../util/resources.js';

/**
 * The complete record of one drill. Reporters read journals and nothing else, so every
 * number a report shows must be here. Times are milliseconds on the drill's monotonic clock
 * (`*Ms`, from the drill's start) unless named otherwise; `serverTimeUs` values are the
 * database server's clock in microseconds since the epoch.
 */
export interface Journal {
  formatVersion: 1;
  /** The run this drill belonged to (one `firedrill run` invocation). */
  runId: string;
  drillId: string;
  status: DrillStatus;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  scenario: {
    name: string;
    description?: string;
    file?: string;
    /** sha256 of the scenario as run (normalized JSON). */
    hash: string;
    /** The scenario as run, with defaults applied. */
    spec: unknown;
  };
  engine: string;
  provider: string;
  strategy: string;
  faultKind: string;
  versions: {
    firedrill: string;
    node: string;
    server?: string;
    tools: Array<{ name: string; version?: string; missing?: string }>;
  };
  host: { hostname: string; platform: string; arch: string; cpus: number; memoryMb: number };
  calibration: {
    /** Time from spawning the source server to its first answered query. */
    instanceReadyMs?: number;
    /** Poll interval of readiness waits: the resolution of RTO figures. */
    readinessPollMs?: number;
    /** Workload throughput before the backup started (writes/s). */
    baselineThroughput?: number;
    /** Sequential write rate of the data directory's filesystem with fsync, bytes/s: the floor a restore is measured against. */
    diskWriteBytesPerSecond?: number;
  };
  phases: PhaseRecord[];
  events: EventRecord[];
  workload: WorkloadSummary;
  /** The backup the restore used (or, when none could be, the newest taken). */
  backup?: BackupRecord;
  /** Every backup taken, oldest first. */
  backups?: BackupRecord[];
  retention?: RetentionRecord;
  /** Where backups were kept, and how far behind each off-site copy was. */
  storage?: StorageRecord[];
  /** The instances of the drill: where they ran, which version. */
  instances?: InstanceRecord[];
  fault?: FaultRecord;
  /** What the strategy sampled every second while the workload ran (a standby's lag in bytes and ms); the last one just before the fault. */
  strategySamples?: Array<{ atMs: number; values: Record<string, number | null> }>;
  /** Faults found in the backups when restoring (a WAL gap, a flipped byte). */
  latentFaults?: Array<{ kind: string; description: string }>;
  recovery?: RecoveryRecord;
  /** The restored database compared with the source at the recovery point. */
  equality?: EqualityRecord;
  ledger?: LedgerResult;
  damage?: DamageResult;
  measurements: Measurements;
  objectives: ObjectiveResult[];
  checks: CheckResult[];
  artifacts: ArtifactRecord[];
  commands: CommandRecord[];
  errors: ErrorRecord[];
  /** Resources left running or on disk because of --keep, with where to find them. */
  kept?: ResourceRecord[];
  /** Resources teardown could not remove (`firedrill cleanup` finds them). */
  leftovers?: Array<{ where: string; message: string }>;
  /** Set when the drill ran as one entry of a comparison (`firedrill compare`, or a scenario with `strategies:`). */
  comparison?: ComparisonEntryRecord;
  /**
   * Earlier drills of this scenario from the reports folder's history.jsonl, copied in at run
   * time so that reports, which read journals only, can show the trend.
   */
  history?: DrillHistory;
  /** Set when the drill ran as one size of a sweep (`sweep:` in the scenario, or `--sizes`); sweep.html is rebuilt from these. */
  sweep?: SweepEntryRecord;
  /** The seeded-data cache (`dataset.cache`): the source started from a kept copy (`reused`), or was seeded and a copy kept (`kept`). */
  seedCache?: { outcome: 'reused' | 'kept'; key: string };
  /** What the recovery had to bring back: the database's size at the fault, and the WAL or binlog it replayed (null: none): the stretch recovery read and applied, from the backup's position to where it stopped, not the archive's whole files. */
  volume?: { dataBytes: number; logBytes: number | null; /** What the engine's log is called (`WAL`, `binlog`); absent in older journals. */ log?: string };
  /** The restore's write rate (data ÷ its fetch and restore phases), and its share of the disk's own rate with fsync (calibration). */
  restoreThroughput?: { bytes: number; ms: number; bytesPerSecond: number; efficiency: number | null };
  /** The log replayed ÷ the replay phase: the server's replay rate in this restore. */
  replayThroughput?: { bytes: number; ms: number; bytesPerSecond: number };
  /** Set when people recovered, not firedrill (`firedrill gameday`): their marks, commands and the runbook they had. */
  gameday?: GamedayRecord;
}

/** A moment the team marked: from the game day's page, or from the shell (`firedrill gameday mark`). */
export interface GamedayMark {
  atMs: number;
  label: string;
  from: 'page' | 'shell' | 'firedrill';
}

/** A command the team ran through `firedrill gameday exec`: what, when, and how it ended. */
export interface GamedayCommand {
  command: string;
  startedAtMs: number;
  durationMs: number;
  exitCode: number | null;
  signal?: string;
  /** The runbook step it was run as (`--step N`, or matched by its shape), 1-based. */
  step?: number;
}

/** A step of the runbook the team had, and what became of it in the rehearsal. */
export interface GamedayRunbookStep {
  /** The step as the runbook gives it, with `${NAME}` parameters. */
  command: string;
  phase: string;
  /** How long it took in the drill the runbook comes from. */
  drillMs: number;
  /** ran: a command run as this step exited 0; failed: every one failed; not-run: none was run as it. */
  outcome: 'ran' | 'failed' | 'not-run';
}

export interface GamedayRecord {
  /** Whether the team was told when the fault struck, or had to notice it. */
  announced: boolean;
  /** For a hidden fault: the window it was drawn in, ms after the workload started. */
  window?: { fromMs: number; toMs: number };
  timeLimitMs: number;
  /** How the game day ended: the team declared a database restored, the time ran out, or it was stopped. */
  ended: 'declared' | 'time-limit' | 'interrupted';
  marks: GamedayMark[];
  commands: GamedayCommand[];
  /** The runbook of the newest passing drill of the scenario, if there is one, and what the team did with it. */
  runbook?: {
    /** The journal it comes from (the reports folder's path) and when that drill ran. */
    from: string;
    drillAt: string;
    /** What the procedure did in that drill: service back this long after the fault (its RTO), or null. */
    drillRtoServiceMs: number | null;
    withheld: boolean;
    /** When the team asked to see it (a withheld runbook). */
    openedAtMs?: number;
    steps: GamedayRunbookStep[];
  };
  /** What the team declared restored, and when. */
  restored?: { name: string; declaredAtMs: number };
}

/** Where a drill sits in a sweep of sizes. */
export interface SweepEntryRecord {
  /** The size as the scenario gave it: `256MB`, `scale 4`. */
  label: string;
  index: number;
  count: number;
  /** The built-in dataset's scale at this size. */
  scale: number;
}

/** Where a drill sits in a comparison; the comparison report is rebuilt from these alone. */
export interface ComparisonEntryRecord {
  /** The entry's name: the strategy, or `pg-dump (jobs=4)` when a strategy is listed with different options. */
  label: string;
  /** Position of the entry in the list as given; reports keep that order. */
  index: number;
  /** 1-based repetition (`--repeat`), and how many were asked for. */
  repetition: number;
  repetitions: number;
}

/** The slice of history.jsonl a drill report shows. */
export interface DrillHistory {
  /** Earlier drills of the same scenario name with the same strategy, oldest first (the newest few only). */
  entries: HistoryEntry[];
  /** The newest passing drill of this scenario (any strategy) before this run; null if none is on record. */
  lastPassed: { at: string; runId: string; strategy: string } | null;
}

/** One line of `<reports>/history.jsonl`: the figures of one drill, compact enough to keep forever. */
export interface HistoryEntry {
  /** When the drill started, ISO. */
  at: string;
  runId: string;
  drillId: string;
  scenario: string;
  /** sha256 of the scenario as run: a change says the scenario (dataset, load, fault) changed. */
  scenarioHash: string;
  strategy: string;
  engine: string;
  status: DrillStatus;
  rtoServiceMs: number | null;
  rtoVerifiedMs: number | null;
  dataLossMs: number | null;
  lostWrites: number | null;
  backupSizeBytes: number | null;
  backupDurationMs: number | null;
  /** What the source database held (`built-in shop, scale 1 (… 10000 orders)`), when the seed phase ran. */
  dataset?: string;
}

/** passed: every objective met · failed: an objective breached · error: could not run · interrupted. */
export type DrillStatus = 'passed' | 'failed' | 'error' | 'interrupted';

export interface PhaseRecord {
  /** provision, seed, prepare, workload-warmup, backup, fault, detect, fetch, restore, start, replay, service, verify, teardown */
  name: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  ok: boolean;
  detail?: string;
  /** firedrill's own work inside the recovery window (a latent fault injected, the archive recorded, a test's hook): not part of the RTO. */
  notCounted?: true;
}

export interface EventRecord {
  /** workload-start, backup-start, backup-end, fault, detected, restore-start, service-restored, verified */
  name: string;
  atMs: number;
  detail?: string;
}

export interface SeriesPoint {
  /** Seconds since the workload started (bucket start). */
  t: number;
  acked: number;
  failed: number;
  indeterminate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
}

export interface WorkloadSummary {
  writers: number;
  /** Target total rate (writes/s), or null for as fast as possible. */
  targetRate: number | null;
  startMs?: number;
  endMs?: number;
  acked: number;
  failed: number;
  indeterminate: number;
  series: SeriesPoint[];
  /** The writes to the restored database after the verdict (`workload.resume`): not in the ledger, not judged; the timeline shows them. */
  resumed?: { startMs: number; endMs: number; acked: number; failed: number; indeterminate: number; firstAckMs?: number };
  /** Acknowledged writes per second from the workload's start to the fault's start (or the workload's end). */
  achievedRate?: number;
  /** Said when a paced workload's typical second before the fault (the median) fell short of its target by more than a tenth: the load the drill claims is not the load it ran. */
  shortfall?: string;
  /**
   * A fault that ran for seconds (a statement, up to its commit) while the writers reached less
   * than nine tenths of `achievedRate`: how long it ran, and their rate meanwhile. The drill's
   * barrier holds writes out of the fault's transaction, so a long fault pauses the workload.
   */
  duringFault?: { durationMs: number; rate: number };
}

export interface BackupRecord {
  strategy: string;
  /** 1 for the first backup of the drill. */
  index?: number;
  startMs: number;
  endMs: number;
  durationMs: number;
  /** The instant the backup is consistent with, when the strategy knows it. */
  consistentAt?: { serverTimeUs?: number; position?: string; detail?: string };
  sizeBytes: number;
  /** Throughput of the workload during the backup vs before it (writes/s). */
  throughputDuring?: number;
  throughputBefore?: number;
  /** p95 latency of the workload's writes during the backup vs before it (ms): the cost a paced workload shows. */
  latencyP95During?: number;
  latencyP95Before?: number;
  /** Deleted by the scenario's retention policy after a later backup: not a candidate for the restore. */
  pruned?: boolean;
}

/** What the retention policy pruned after each backup, and what it kept. */
export interface RetentionRecord {
  policy: string;
  passes: Array<{ afterBackup: number; kept: Array<{ backup: number; rules: string[] }>; removed: Array<{ backup: number; keys: string[] }>; archiveRemoved: string[] }>;
}

export interface StorageRecord {
  name: string;
  type: string;
  region: string;
  address: string;
  /** For an off-site copy: what it copied from, and how it kept up. */
  copy?: { from: string; everyMs: number; objects: number; bytes: number; maxLagMs: number | null; behind: string[] };
  /** Destroyed by the fault (a region loss). */
  destroyed?: boolean;
}

export interface InstanceRecord {
  name: string;
  provider: string;
  version: string;
  location: string;
  /** The region it ran in (what a region loss takes). */
  region: string;
  /** The ports its server listened on beside it (the ones its tools' commands name), one per start on a new port. */
  ports?: number[];
}

export interface EqualityRecord {
  /** Compared with the source: just before the fault, at the backup's instant, or at the end. */
  against?: 'fault' | 'backup' | 'latest';
  /** `exact`: every row; `without workload rows`: the workload's rows are the ledger's to account for. */
  mode?: 'exact' | 'without workload rows';
  objects?: number;
  tables?: number;
  rows?: number;
  /** Objects per kind in the source's inventory. */
  inventory?: Record<string, number>;
  differences: Array<{ object: string; message: string }>;
  /** Why no comparison was made (no restore, a time target). */
  notCompared?: string;
}

export interface FaultRecord {
  kind: string;
  description: string;
  atMs: number;
  /** The server after the fault: serving, stopped (could restart), or gone. */
  sourceAfter?: 'running' | 'stopped' | 'gone';
  /** How the fault was noticed, when the fault detects itself (a checksum failure on read). */
  detection?: string;
  /** Storage locations the fault destroyed. */
  destroyedLocations?: string[];
  /** What the figures mean, in words (what a crash costs with these durability settings). */
  notes?: string[];
  /** Wall time of the fault's commit, ISO. */
  wallTime: string;
  point: { serverTimeUs: number; position?: string; transaction?: string };
  detectedAtMs?: number;
  detectAfterMs: number;
  table?: string;
  affectedRows?: number;
  /** sha256 of the affected rows' fingerprints (the rows themselves are not journaled). */
  damageDigest?: string;
  /** The responder's step that names the bad transaction from the server's log, as the drill ran it. */
  located?: LocatedRecord;
}

/** What the locate step found: the transactions that changed the table, and the one a responder would pick. */
export interface LocatedRecord {
  change: 'delete' | 'update';
  /** The transactions that made that change to the table, most rows first (at most five). */
  candidates: Array<{ transaction: string; rows: number; position: string; committed: string }>;
  /** The one with the most rows: what the runbook's step names. */
  found?: string;
  /** Whether it is the fault's own transaction; false means the step would mislead a responder. */
  matches: boolean;
  /** The stretch of the server's log the step read, with its positions (`pg_wal from 0/57000000 to 0/8AD62450`). */
  searched: string;
}

export interface RecoveryRecord {
  /** before-fault, latest, or an ISO time. */
  target: string;
  /** How the strategy expressed it (`recovery_target_xid=1234 (exclusive)`, `end of backup`). */
  method: string;
  /** Whether recovery reached the target; false when it stopped early (missing WAL, ...). */
  reached: boolean | null;
  detail: string;
  /** The point the restored database is at: just before the fault, a backup's instant, the latest archived, a time, a failed-over standby's, or wherever a team's own recovery (a game day) took it. */
  point?: 'fault' | 'backup' | 'latest' | 'time' | 'failover' | 'declared';
  /** The first file missing from the archive, and where. */
  gap?: { what: string; location: string };
  /** The last commit recovery replayed, server µs, when the server tells it. */
  stoppedAtUs?: number;
  /** A database came back at all. */
  restored?: boolean;
  /** Which backup was restored (1 = the first taken), and the ones tried before it and why they failed. */
  backupUsed?: number;
  attempts?: Array<{ backup: number; defect: string }>;
  /** The storage location the restore read from. */
  location?: string;
}

export interface LedgerResult {
  acked: number;
  indeterminate: number;
  failed: number;
  present: number;
  ackedBeforeFault: number;
  ackedAfterFault: number;
  /** Acknowledged writes missing after the restore. */
  lost: number;
  lostBeforeFault: number;
  /** Lost writes acknowledged between the fault and its detection: the cost of slow detection. */
  lostToDetection: number;
  /**
   * Lost writes acknowledged after the detection, while the application kept writing until
   * service moved to the restored database (a game day); 0 where the writes stop at detection.
   */
  lostAfterDetection: number;
  /** Indeterminate writes (timeout, cut connection) found present. */
  recovered: number;
  /** Rows present that were never acknowledged, or that postdate the recovery target. */
  unexpected: number;
  /** Commit time of the last write acknowledged before the fault minus that of the newest surviving one. */
  dataLossMs: number | null;
  lastAckedBeforeFaultUs: number | null;
  newestSurvivingUs: number | null;
  /** Up to 20 lost writes, for the report. */
  lostSample: Array<{ writer: number; seq: number; serverTimeUs: number }>;
}

export interface DamageResult {
  table: string;
  /** Rows the fault deleted, changed, or took away with the table. */
  affectedRows: number;
  /** Of those, rows back with their content as before the fault. */
  restoredRows: number;
  missingRows: number;
  /** Missing rows created by writes the ledger counts as lost (already in the RPO). */
  explainedByLostWrites: number;
  tablePresent: boolean;
  undone: boolean;
}

export interface Measurements {
  /** Fault → first write acknowledged by the restored database. */
  rtoServiceMs: number | null;
  /** Fault → every check passed. */
  rtoVerifiedMs: number | null;
  /** Where the time went: detect, fetch, restore, start, replay, service, verify. */
  rtoBreakdown: Record<string, number>;
  /** The finest time any RTO figure can tell apart (readiness poll interval). */
  resolutionMs: number | null;
  dataLossMs: number | null;
  lostWrites: number | null;
  lostToDetection: number | null;
  damageUndone: boolean | null;
}

export interface ObjectiveResult {
  name: string;
  /** Human form: `≤ 60.00 s`. */
  target: string;
  measured: string;
  targetValue: number | boolean | null;
  measuredValue: number | boolean | null;
  unit: 'ms' | 'rows' | 'bool' | 'value';
  passed: boolean;
  /** Why it failed when it could not be measured. */
  reason?: string;
  /** The measurement in full when `measured` sums it up (a check's row count per table). */
  detail?: string;
}

export interface CheckResult {
  name: string;
  sql?: string;
  expect?: string;
  value?: string;
  passed: boolean;
  detail?: string;
}

export interface ArtifactRecord {
  name: string;
  kind: 'backup' | 'wal' | 'log' | 'journal' | 'report' | 'other';
  location: string;
  key: string;
  sizeBytes: number;
  sha256?: string;
  durationMs?: number;
}

export interface ErrorRecord {
  phase: string;
  message: string;
  hint?: string;
}
