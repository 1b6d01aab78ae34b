import { z } from 'zod';
import type { EngineName } from '../engines/engine.js';
import { engines } from '../engines/index.js';
import { faults } from '../faults/index.js';
import { providers } from '../providers/index.js';
import { strategies } from '../strategies/index.js';
import { retentionPolicy } from '../retention/policy.js';
import { HOME_REGION, storageTypes } from '../storage/index.js';
import { duration, parseDuration } from '../util/duration.js';
import { parseBytes } from '../util/size.js';
import { SHOP_BYTES_PER_SCALE, SHOP_MAX_SCALE, ShopDataset } from '../datasets/shop.js';

export { duration };

const MAX_SIZE = `${Math.floor((SHOP_MAX_SCALE * SHOP_BYTES_PER_SCALE) / 1e9)}GB`;

/** What a transform reports a bad value to. */
interface Issues {
  addIssue(issue: { code: 'custom'; path?: PropertyKey[]; message: string }): void;
}

/** Bytes from `800GB`, `1.5GiB` or a number of bytes; an issue at `path` when it is none of them. */
function bytesOf(value: string | number, issues: Issues, path: PropertyKey[] = []): number | undefined {
  const bytes = typeof value === 'number' ? value : parseBytes(value);
  if (bytes !== undefined && bytes > 0) return bytes;
  issues.addIssue({ code: 'custom', path, message: `"${value}" is not a size; write it like 500MB, 2GB or 1.5GiB` });
  return undefined;
}

/** The built-in dataset's scale that takes about `value` on disk; an issue when it is not a size, or more than the dataset makes. */
function shopScaleOf(value: string | number, issues: Issues, path: PropertyKey[]): { scale: number; size: number } | undefined {
  const bytes = bytesOf(value, issues, path);
  if (bytes === undefined) return undefined;
  const scale = ShopDataset.scaleFor(bytes);
  if (scale <= SHOP_MAX_SCALE) return { scale, size: bytes };
  issues.addIssue({ code: 'custom', path, message: `${value} is more than the built-in dataset makes (at most ${MAX_SIZE}); load your own data with files: [...]` });
  return undefined;
}

const seedCache = z
  .boolean()
  .default(false)
  .describe(
    'Keep the seeded data directory in the cache (FIREDRILL_CACHE_DIR) and start later drills of the same engine, version, server settings and dataset from a copy of it instead of loading again; `firedrill cleanup --cache` drops it',
  );

/**
 * Fields that say one thing two ways: the built-in dataset and a sweep take a size or a scale.
 * A `--set` of one replaces the other where the file gives it (a scenario of `scale: 0.5` run
 * with `--set target.dataset.size=1GB` is that scenario at 1 GB).
 */
export const SCENARIO_ALTERNATIVES = [['size', 'scale']] as const;

const builtinDataset = z
  .strictObject({
    builtin: z.enum(['shop']).describe('Built-in generated dataset'),
    scale: z.number().positive().max(SHOP_MAX_SCALE).optional().describe('Size factor: 1 = 10,000 orders, about 3.2 MB on disk (default 1)'),
    size: z
      .union([z.string(), z.number().positive()])
      .optional()
      .describe(`Instead of scale: the size on disk, like 500MB or 2GB (at most ${MAX_SIZE}); becomes the scale that takes about this much`),
    cache: seedCache,
  })
  .transform(({ size, ...dataset }, context) => {
    if (size === undefined) return { ...dataset, scale: dataset.scale ?? 1 };
    if (dataset.scale !== undefined) {
      context.addIssue({ code: 'custom', path: ['size'], message: 'give scale or size, not both' });
      return z.NEVER;
    }
    const sized = shopScaleOf(size, context, ['size']);
    return sized ? { ...dataset, ...sized } : z.NEVER;
  });

const fileDataset = z.strictObject({
  files: z.array(z.string().min(1)).min(1).describe('SQL files loaded in order with the engine client (paths relative to the scenario file)'),
  cache: seedCache,
});

const target = z.strictObject({
  engine: z.enum(Object.keys(engines) as [EngineName, ...EngineName[]]).describe('Database engine'),
  // Quote versions in YAML ("10.10"): a bare 10.10 is the number 10.1.
  version: z.union([z.string(), z.number()]).transform(String).optional().describe('Engine version, e.g. "15" or "10.11" (quoted); default: the newest installed (local) or the engine\'s pinned default (docker)'),
  provider: z
    .enum(['auto', ...Object.keys(providers)] as [string, ...string[]])
    .default('auto')
    .describe('Where instances run: local = binaries on this machine, docker = containers, auto = local when the version is installed, else docker'),
  image: z.string().min(1).optional().describe('Container image for the docker provider (default: the official image of the engine and version, e.g. postgres:16)'),
  region: z.string().regex(/^[\w-]+$/).default(HOME_REGION).describe('The region the source runs in (a region-loss fault takes it and the storage there)'),
  settings: z
    .record(z.string().regex(/^[\w.-]+$/), z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .default({})
    .describe('Server settings of the source, e.g. { synchronous_commit: "off" } or { innodb_flush_log_at_trx_commit: 2 }'),
  dataset: z.union([builtinDataset, fileDataset]).prefault({ builtin: 'shop' }).describe('What the source database holds'),
});

const workload = z.strictObject({
  writers: z.number().int().min(1).max(64).default(4).describe('Concurrent writer connections'),
  rate: z
    .union([z.number().positive(), z.literal('max')], { error: 'expected a number of writes per second, or "max" for as fast as possible' })
    .default(200)
    .describe('Total writes per second across writers, or "max"'),
  warmup: duration.prefault('2s').describe('Load before the backup starts'),
  resume: duration
    .prefault('2s')
    .describe('After the verdict, how long the workload writes to the restored database, as an application reconnecting would, so the timeline shows writes resuming (0s: not at all)'),
  seed: z.number().int().default(42).describe('Seed of the generated data and load'),
  statements: z.array(z.string().min(1)).default([]).describe('Business statements per write for file datasets: {id} {writer} {seq} {random}'),
});

const incidentTiming = {
  at: duration.prefault('10s').describe('Time after the workload starts (the fault waits for the backups to finish)'),
  detectAfter: duration.prefault('3s').describe('How long the workload keeps writing after the fault before it is noticed (a fault with its own detection notices sooner)'),
};

/** One fault: an incident (with its timing), or a latent fault in the backups (found when restoring). */
const oneFault = z.discriminatedUnion(
  'kind',
  Object.values(faults).map((fault) =>
    fault.params.extend({ kind: z.literal(fault.kind), ...(fault.role === 'incident' ? incidentTiming : {}) }),
  ) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

const faultSchema = z
  .union([oneFault, z.array(oneFault).min(1)])
  .describe('The incident, or a list: one incident plus latent faults in the backups (wal-gap, corrupt-backup, ...) found when restoring');

const strategySchema = z.union([
  z.string(),
  z.looseObject({ name: z.string() }),
]).describe(`Strategy name, or { name, ...options }. Known: ${Object.keys(strategies).join(', ')}`);

const storageLocation = z.discriminatedUnion(
  'type',
  Object.values(storageTypes).map((type) => type.options) as unknown as [z.ZodObject, ...z.ZodObject[]],
);

export const expectation = z
  .union([z.number(), z.string(), z.boolean()])
  .describe('Expected value: a number or string (equals), or a comparison like ">= 16044", "!= 0"');

/** SQL run on a restored database, each returning one value judged against its expectation: a drill's checks, a verification's smoke queries. */
export const sqlChecks = z
  .array(z.strictObject({ name: z.string().min(1), sql: z.string().min(1), expect: expectation }))
  .default([])
  .describe('SQL run on the restored database; each returns one value');

const objectives = z.strictObject({
  rto: z
    .union([duration, z.strictObject({ service: duration.optional(), verified: duration.optional() })])
    .optional()
    .describe('Recovery time objective; a single duration applies to RTO (verified)'),
  rpo: z
    .union([duration, z.strictObject({ dataLoss: duration.optional(), lostWrites: z.number().int().min(0).optional() })])
    .optional()
    .describe('Recovery point objective; a single duration is the maximum data loss in time'),
  damageUndone: z.boolean().optional().describe('The fault\'s damage must be undone (default: true when the fault tracks a table and recovery.target is before-fault)'),
  equalToSource: z
    .boolean()
    .optional()
    .describe(
      'The restored database must equal the source at the recovery point: schema inventory and per-table content digests (default: judged wherever the drill holds a snapshot of the source at that point, which a restore to a chosen time does not)',
    ),
  checks: sqlChecks,
});

/** `2s before the fault`: a recovery target time relative to the fault's point. */
export const RELATIVE_TARGET = /^(\S+) before the fault$/;

const recovery = z.strictObject({
  target: z
    .union([
      z.enum(['before-fault', 'latest']),
      z.iso.datetime({ offset: true }),
      z.string().refine((value) => parseDuration(RELATIVE_TARGET.exec(value)?.[1] ?? '') !== undefined),
    ], { error: 'expected before-fault, latest, a time before the fault like "2s before the fault", or an ISO 8601 time with a zone, like 2026-11-21T13:45:00Z' })
    .optional()
    .describe(
      'before-fault (just before the fault\'s transaction), latest, "<duration> before the fault" (a time picked the way a person picks one from monitoring), or an ISO timestamp; default: before-fault for a logical fault, latest for a lost server',
    ),
  method: z
    .enum(['auto', 'restart', 'restore'])
    .default('auto')
    .describe('restart: crash recovery of the same server (a killed server); restore: from backups; auto: a standby fails over, a killed server restarts, anything else restores'),
});

const backups = z.strictObject({
  count: z.number().int().min(1).max(20).default(1).describe('Backups taken during the workload'),
  every: duration.prefault('5s').describe('Time between the starts of scheduled backups'),
  retention: retentionPolicy.optional().describe('Prune the primary location after each backup, as a backup tool\'s expire does: the backups no rule keeps, and archived WAL/binlogs older than the oldest kept backup needs'),
});

/** A size in bytes: `800GB`, `1.5GiB`, or a number of bytes. */
const byteSize = z.union([z.string(), z.number().positive()]).transform((value, context) => bytesOf(value, context) ?? z.NEVER);

const TWO_SIZES = 'a sweep needs 2 sizes or more: a line is fitted through them';

/** The sizes a sweep runs the drill at: each a point with its label (`256MB`, `scale 4`) and the built-in dataset's scale. */
const sweep = z
  .strictObject({
    size: z.array(z.union([z.string(), z.number().positive()])).min(2, TWO_SIZES).optional().describe('Sizes of the built-in dataset on disk, like [256MB, 1GB, 4GB]: the drill runs once at each'),
    scale: z.array(z.number().positive().max(SHOP_MAX_SCALE)).min(2, TWO_SIZES).optional().describe('Instead of size: scales of the built-in dataset, like [1, 4, 16]'),
  })
  .transform(({ size, scale }, context) => {
    if ((size === undefined) === (scale === undefined)) {
      context.addIssue({ code: 'custom', message: 'give the sizes to sweep as size: [256MB, 1GB, …] or as scale: [1, 4, …], one of the two' });
      return z.NEVER;
    }
    if (scale) return scale.map((value) => ({ label: `scale ${value}`, scale: value }));
    const points = size!.map((value, index) => {
      const sized = shopScaleOf(value, context, ['size', index]);
      return sized && { label: String(value), ...sized };
    });
    return points.every((point) => point !== undefined) ? points : z.NEVER;
  });

/** Where the sweep's model forecasts the RTO: production's size, its log volume, its backup interval. */
const forecastSchema = z.strictObject({
  size: byteSize.describe('The size of the production database, like 800GB'),
  logPerHour: byteSize.optional().describe('WAL or binlog production writes per hour, like 20GB (default: none; the forecast then replays no log)'),
  backupEvery: duration.optional().describe('Time between production\'s base backups, like 24h: a fault just before the next one replays this long of log (default 24h)'),
});

/** The scenario file. JSON Schema for editors is generated from this (`firedrill schema`). */
export const scenarioSchema = z.strictObject({
  $schema: z.string().optional(),
  name: z.string().regex(/^[\w.-]+$/, 'use letters, digits, dot, dash and underscore').describe('Scenario name (used in report paths)'),
  description: z.string().optional(),
  target,
  workload: workload.prefault({}),
  // One of the two is required (the loader says so with a hint; JSON Schema via oneOf below).
  strategy: strategySchema.optional(),
  strategies: z
    .array(strategySchema)
    .min(1)
    .optional()
    .describe('Instead of strategy: several strategies, each run on the same drill and set side by side in compare.html'),
  storage: z.record(z.string().regex(/^[\w-]+$/), storageLocation).prefault({ primary: { type: 'local' } }).describe('Named backup locations; the strategy stores into "primary", copies go where a location says copy: { from: primary }'),
  backups: backups.prefault({}),
  fault: faultSchema,
  recovery: recovery.prefault({}),
  objectives: objectives.prefault({}),
  sweep: sweep.optional().describe('Run the drill at several sizes of the built-in dataset and fit RTO per phase against data and log size (sweep.html)'),
  forecast: forecastSchema.optional().describe("With a sweep: the RTO the sweep's model forecasts at production's size, worst case at the end of a backup interval; a forecast, never a measurement"),
});

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ParsedScenario = z.output<typeof scenarioSchema>;

/** The JSON Schema of scenario files, for editors: zod's, plus "exactly one of strategy and strategies". */
export const scenarioJsonSchema = () => ({
  ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
  oneOf: [{ required: ['strategy'] }, { required: ['strategies'] }],
});
