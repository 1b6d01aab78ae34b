import { z } from 'zod';

/**
 * What `--json` prints, for every command: one document on stdout, `formatVersion` and
 * `command` first, `exitCode` as the process exits with. Published as a JSON Schema
 * (schema/result.schema.json, `firedrill schema --result`) beside the scenario schema; a
 * change that breaks a reader raises `formatVersion`.
 */
export const RESULT_FORMAT_VERSION = 1;

const base = { formatVersion: z.literal(RESULT_FORMAT_VERSION), exitCode: z.int().describe('The exit code: 0 passed, 1 an objective breached, 2 could not run, 130 interrupted') };

const problem = z.object({
  file: z.string(),
  line: z.int().optional().describe('Absent when the value came from a flag and the file has no such field'),
  column: z.int().optional(),
  field: z.string().describe('Dotted path of the field (fault.kind); empty for the file as a whole'),
  message: z.string(),
  hint: z.string().optional(),
});

const shard = z.object({ index: z.int().describe('This shard, from 1'), total: z.int().describe('How many shards the plan was split into') }).describe('--shard i/n: the part of the plan this run took');

const objective = z.object({ name: z.string(), target: z.string(), measured: z.string(), passed: z.boolean(), reason: z.string().optional() });

const drill = z.object({
  dir: z.string().describe('The drill\'s report folder: journal.json, report.html, firedrill.log'),
  status: z.enum(['passed', 'failed', 'error', 'interrupted']),
  scenario: z.string(),
  strategy: z.string(),
  comparison: z.object({ label: z.string(), index: z.int(), repetition: z.int(), repetitions: z.int() }).optional(),
  measurements: z
    .object({
      rtoServiceMs: z.number().nullable(),
      rtoVerifiedMs: z.number().nullable(),
      rtoBreakdown: z.record(z.string(), z.number()).describe('Time per phase inside the RTO, ms'),
      resolutionMs: z.number().nullable().describe('The finest time any RTO figure can tell apart'),
      dataLossMs: z.number().nullable(),
      lostWrites: z.number().nullable(),
      lostToDetection: z.number().nullable(),
      damageUndone: z.boolean().nullable(),
    })
    .describe('The figures the drill measured; null where it could not'),
  objectives: z.array(objective),
  errors: z.array(z.object({ phase: z.string(), message: z.string(), hint: z.string().optional() })),
});

export const resultSchema = z.discriminatedUnion('command', [
  z.object({
    ...base,
    command: z.enum(['run', 'compare', 'gameday']).describe('gameday: one drill, recovered by people'),
    runDir: z.string().optional().describe('The run\'s report folder; absent when nothing ran'),
    shard: shard.optional(),
    drills: z.array(drill),
    comparisons: z.array(z.record(z.string(), z.unknown())).describe('As in compare.json (its own formatVersion)'),
    problems: z.array(problem).optional().describe('Why nothing ran: the scenarios\' errors'),
    planned: z
      .array(z.object({ drillId: z.string(), scenario: z.string(), strategy: z.string().describe('The strategy, or its label in a comparison'), file: z.string() }))
      .optional()
      .describe('--dry-run: the drills the run would run, in order (of its shard, with --shard)'),
  }),
  z.object({
    ...base,
    command: z.literal('gameday-done'),
    status: z.enum(['passed', 'failed', 'error', 'interrupted']).describe("The game day's verdict on the database declared restored"),
    headline: z.string(),
    report: z.string().optional().describe("The game day's HTML report"),
  }),
  z.object({
    ...base,
    command: z.literal('validate'),
    scenarios: z.array(z.object({ file: z.string(), name: z.string(), engine: z.string(), strategies: z.array(z.string()), faults: z.array(z.string()) })),
    problems: z.array(problem),
  }),
  z.object({
    ...base,
    command: z.literal('list'),
    strategies: z.array(z.object({ name: z.string(), summary: z.string(), engines: z.array(z.string()), pointInTime: z.boolean(), keeps: z.enum(['backups', 'standby']) })),
    faults: z.array(z.object({ kind: z.string(), summary: z.string(), role: z.enum(['incident', 'latent']) })),
    engines: z.array(z.string()),
  }),
  z.object({
    ...base,
    command: z.literal('doctor'),
    checks: z.array(z.object({ what: z.string(), ok: z.boolean(), detail: z.string(), fix: z.string().optional() })),
    usable: z.array(z.string()).describe('Engines a drill can run here, with the provider: postgres (local)'),
    leftovers: z.array(z.object({ runId: z.string(), kind: z.string(), where: z.string() })),
  }),
  z.object({
    ...base,
    command: z.literal('report'),
    files: z.array(z.string()),
    errors: z.array(z.object({ reporter: z.string(), message: z.string() })),
    runs: z
      .array(z.object({ runId: z.string(), dir: z.string().describe('The folder holding the run\'s drill folders'), shard: shard.optional(), drills: z.array(z.string()).describe('Drill ids of its journals read') }))
      .describe('The runs whose journals were read: several when shards were merged'),
    missing: z.array(z.object({ drillId: z.string(), reason: z.string() })).describe('Drills the runs planned (run.json) that no journal read is of: a shard not given, a run stopped before them; exit code 2 when any'),
  }),
  z.object({
    ...base,
    command: z.literal('runbook'),
    file: z.string().describe('The Markdown file written'),
    scenario: z.string(),
    version: z.int().describe('Goes up when the procedure changed since the file was last written'),
    changed: z.boolean(),
    lastPassingDrill: z.string().describe('When the drill the procedure is taken from finished (ISO)'),
    journal: z.string(),
    parameters: z.array(z.object({ name: z.string(), value: z.string().describe('The value given with --param, or ${NAME}') })),
  }),
  z.object({
    ...base,
    command: z.literal('evidence'),
    dir: z.string().describe("The bundle's folder (open index.html)"),
    archive: z.string().describe('The same bundle as one .tar.gz'),
    fingerprint: z.string().describe("sha256 (hex) of the signing key's public half, DER: publish it for auditors to compare"),
    files: z.int().describe('Files in the manifest'),
    drills: z.array(z.object({ runId: z.string(), drillId: z.string(), scenario: z.string(), strategy: z.string(), status: z.enum(['passed', 'failed', 'error', 'interrupted']), dir: z.string().describe('Its folder in the bundle') })),
    controls: z.array(z.object({ id: z.string(), drills: z.int(), passed: z.int() })).describe('Per control, the drills in the bundle that evidence it'),
    missing: z.array(z.object({ drillId: z.string(), reason: z.string() })).describe("Drills the bundled runs planned (run.json) that are not in the bundle; the index names them"),
    history: z.int().describe('History entries included'),
  }),
  z.object({
    ...base,
    command: z.literal('evidence verify'),
    bundle: z.string(),
    intact: z.boolean().describe('Every file as signed, none missing or added, the signature verified; exit code 0, else 1'),
    fingerprint: z.string().nullable().describe('The key the signature was checked with: --public-key, else the one in the bundle'),
    keySource: z.enum(['given', 'bundle']).nullable(),
    files: z.int().describe('Files the manifest lists'),
    createdAt: z.string().optional().describe('When the bundle was made, as its manifest says'),
    problems: z.array(z.object({ file: z.string().describe("Relative to the bundle's folder, or the archive"), problem: z.string() })),
  }),
  z.object({
    ...base,
    command: z.literal('evidence keygen'),
    privateKey: z.string(),
    publicKey: z.string(),
    fingerprint: z.string(),
  }),
  z.object({
    ...base,
    command: z.literal('verify'),
    name: z.string().describe('The source verified'),
    kind: z.string().describe('What the backup was found to be'),
    status: z.enum(['passed', 'failed', 'error']),
    restoreMs: z.number().nullable().describe('Fetch to a restored server answering queries'),
    dataAgeMs: z.number().nullable().describe('Age of the newest data (the freshness query, or the backup\'s time)'),
    findings: z.array(z.object({ code: z.string(), message: z.string(), ignored: z.string().optional().describe('The written reason it is accepted') })),
    errors: z.array(z.object({ phase: z.string(), message: z.string(), hint: z.string().optional() })),
    dir: z.string().describe('The folder of the verification\'s record and reports'),
    delivered: z
      .array(z.object({ sink: z.string(), target: z.string().describe('Where, with any secret left out'), status: z.enum(['sent', 'skipped', 'failed']), reason: z.string().optional(), attempts: z.int().optional(), httpStatus: z.int().optional() }))
      .describe('Each notification and metrics target, and what became of it: never a change of the verdict'),
    lastVerified: z.string().optional().describe('When this source last verified (this run, if it did)'),
  }),
]);

export type CommandResult = z.infer<typeof resultSchema>;

export const resultJsonSchema = () => z.toJSONSchema(resultSchema, { io: 'output' });

/** The document `--json` prints, `formatVersion` first, checked against its own schema: a result that does not match it is firedrill's bug. */
export function resultJson(result: DistributiveOmit<CommandResult, 'formatVersion'>): string {
  return JSON.stringify(resultSchema.parse({ formatVersion: RESULT_FORMAT_VERSION, ...result }), null, 2);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
