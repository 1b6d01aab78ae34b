/**
 * `npm run smoke:s3`: the opt-in check of the s3 storage type against a real endpoint (AWS,
 * MinIO from docker-compose.yml, R2, …), which the suite's s3rver cannot stand in for. It runs a
 * pg-dump drill and a mariabackup drill with encryption into the bucket, and checks that both
 * pass and that nothing of them is left under the prefix. Configured by the environment:
 *
 *   FIREDRILL_S3_BUCKET      the bucket (required; it must exist)
 *   FIREDRILL_S3_PREFIX      key prefix for the drills (default firedrill-smoke)
 *   AWS_ENDPOINT_URL_S3      an S3-compatible endpoint (unset for AWS)
 *   FIREDRILL_S3_PATH_STYLE  "true" for path-style addressing (MinIO)
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION or AWS_PROFILE: the standard chain
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrill } from '../src/runner/drill.js';
import { parseScenario } from '../src/scenario/loader.js';
import { storageTypes } from '../src/storage/index.js';

const bucket = process.env.FIREDRILL_S3_BUCKET;
if (!bucket) {
  process.stderr.write('smoke:s3: set FIREDRILL_S3_BUCKET (and AWS_ENDPOINT_URL_S3 for a server other than AWS, and credentials); nothing was run\n');
  process.exit(2);
}
const prefix = process.env.FIREDRILL_S3_PREFIX ?? 'firedrill-smoke';
const pathStyle = process.env.FIREDRILL_S3_PATH_STYLE === 'true';
process.env.FIREDRILL_SMOKE_KEY = randomBytes(32).toString('hex');

const drills = [
  ['postgres', 'pg-dump', ''],
  ['mariadb', 'mariabackup', ', encryption: { keyEnv: FIREDRILL_SMOKE_KEY }'],
] as const;

let failed = 0;
for (const [engine, strategy, extra] of drills) {
  const yaml = `name: smoke-s3-${strategy}
target: { engine: ${engine}, dataset: { builtin: shop, scale: 0.2 } }
storage:
  primary: { type: s3, bucket: ${bucket}, prefix: ${prefix}, pathStyle: ${pathStyle}${extra} }
workload: { writers: 2, rate: 100, warmup: 1s }
strategy: ${strategy}
fault: { kind: bad-delete, table: orders, at: 4s, detectAfter: 1s }
`;
  const runDir = await mkdtemp(join(tmpdir(), 'firedrill-smoke-'));
  try {
    const scenario = await parseScenario(yaml, join(process.cwd(), 'scenarios', 'smoke.yaml'));
    const { journal } = await runDrill(scenario, { runId: 'smoke', runDir });
    // The drill's own prefix is gone: what is left under the whole smoke prefix.
    const remaining = (await storageTypes.s3.reopen('check', scenario.storage.primary as never, prefix).list('')).length;
    const ok = journal.status === 'passed' && remaining === 0;
    failed += ok ? 0 : 1;
    process.stdout.write(`${ok ? 'ok ' : 'FAIL'}  ${strategy} into s3://${bucket}/${prefix}: ${journal.status}${journal.errors.length ? ` (${journal.errors.map((error) => error.message).join('; ')})` : ''}; RTO ${journal.measurements.rtoServiceMs ?? '—'} ms\n`);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}
process.exitCode = failed > 0 ? 1 : 0;
