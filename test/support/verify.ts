import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { S3RVER_CREDENTIALS } from '../../scripts/s3rver.js';
import { localProvider } from '../../src/providers/local/local-provider.js';
import type { StartedInstance } from '../../src/providers/provider.js';
import type { StorageLocation } from '../../src/storage/storage.js';
import type { StrategyContext } from '../../src/strategies/strategy.js';
import type { CommandRunner } from '../../src/util/exec.js';
import { ResourceStack } from '../../src/util/resources.js';
import type { VerificationSummary } from '../../src/verify/summary.js';
import { inBatches } from '../../src/verify/verify.js';

/** A verification's summary for the alert tests: one that passed, restored in 1.5 s, with what the test changes. */
export function verificationSummary(overrides: Partial<VerificationSummary> = {}): VerificationSummary {
  return {
    source: 's3://backups/orders/',
    kind: 'pg-custom-dump',
    status: 'passed',
    startedAt: '2026-01-10T02:00:00.000Z',
    finishedAt: '2026-01-10T02:01:00.000Z',
    restoreMs: 1_500,
    findings: [],
    ...overrides,
  };
}

/**
 * What firedrill's own strategies need of a drill to take a backup of `source` into `storage`:
 * enough of a StrategyContext for `prepare`, `backup` and `afterDetection`, so a verification
 * test takes its backup with the strategy's own code and none of a drill's load or timing.
 */
export function backupContext(source: StartedInstance, storage: StorageLocation, exec: CommandRunner): StrategyContext {
  const log = pino({ level: 'silent' });
  const refused = (what: string) => () => Promise.reject(new Error(`a verification test's backup context has no ${what}`));
  return {
    engine: source.engine,
    provider: localProvider,
    providerContext: { exec, resources: new ResourceStack(), workDir: storage.root, log, runId: 'verify-test', saveLog: () => undefined },
    source,
    storage,
    archive: storage,
    exec,
    log,
    workDir: storage.root,
    phase: (_name, fn) => fn(),
    region: 'local',
    createInstance: refused('other instances'),
    captureSource: refused('source capture'),
  };
}

/** A client of the test's S3 server, as a team's uploads would reach the bucket. */
export function bucketClient(endpoint: string): S3Client {
  return new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: S3RVER_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: S3RVER_CREDENTIALS.AWS_SECRET_ACCESS_KEY } });
}

/** Every file under `dir` uploaded below `prefix` (which ends in "/"), its path below the directory its key below the prefix. */
export async function uploadTree(client: S3Client, bucket: string, prefix: string, dir: string): Promise<void> {
  const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  // A base backup is a thousand small files: sixteen uploads in flight, each starting as one ends.
  await inBatches(files, async (file) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}${relative(dir, file)}`, Body: await readFile(file) })), 16);
}

type Listed = [key: string | undefined, size: number | undefined, etag: string | undefined];

/** The bucket's every object as a listing shows it (key, size, ETag): what a verification that only reads leaves as it was. */
export async function bucketListing(client: S3Client, bucket: string): Promise<Listed[]> {
  const objects: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    objects.push(...(page.Contents ?? []).map((object): Listed => [object.Key, object.Size, object.ETag]));
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}
