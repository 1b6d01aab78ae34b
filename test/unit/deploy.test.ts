import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as batchV1 from 'kubernetes-models/batch/v1';
import type { ICronJob } from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import type { IContainer, IEnvVar, IPodSpec } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

/**
 * deploy/kubernetes/ and the example workflows are never run by the suite (no cluster, no
 * GitHub): these tests are what keeps them valid. Every manifest is validated offline against
 * the Kubernetes API's schemas (kubernetes-models: ajv validators generated from the API's
 * OpenAPI document), and what the verification setup depends on is asserted field by field,
 * because the schemas accept a manifest that is valid but wrong (Allow instead of Forbid, no
 * deadline, a credential written inline).
 */

const root = join(import.meta.dirname, '..', '..');
const deployDir = join(root, 'deploy', 'kubernetes');
const examplesDir = join(root, 'examples');

interface Manifest {
  file: string;
  doc: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } & Record<string, unknown>;
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: never): { validate(): void };
}

/** Every kind of the API groups the manifests may use, by `apiVersion/kind`. */
const models = new Map<string, ModelClass>();
for (const group of [coreV1, batchV1, networkingV1] as Array<Record<string, unknown>>) {
  for (const value of Object.values(group)) {
    const model = value as Partial<ModelClass>;
    if (typeof value === 'function' && typeof model.apiVersion === 'string' && typeof model.kind === 'string') models.set(`${model.apiVersion}/${model.kind}`, value as ModelClass);
  }
}

function manifests(): Manifest[] {
  const files = readdirSync(deployDir).filter((name) => /\.ya?ml$/.test(name)).sort();
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(deployDir, file), 'utf8')).flatMap((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
      const doc = document.toJS() as Manifest['doc'] | null;
      return doc === null ? [] : [{ file, doc }];
    }),
  );
}

/** What the API server's schema says is wrong with a document: [] when it validates. */
function schemaProblems({ file, doc }: Manifest): string[] {
  const model = models.get(`${doc.apiVersion}/${doc.kind}`);
  if (!model) return [`${file}: no schema for ${doc.apiVersion} ${doc.kind} (add its API group to the test's models)`];
  try {
    new model(structuredClone(doc) as never).validate();
    return [];
  } catch (error) {
    return [`${file} (${doc.kind} ${doc.metadata?.name}): ${(error as Error).message}`];
  }
}

/** Names of environment variables that hold credentials, whatever the service. */
const CREDENTIAL_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|WEBHOOK|PRIVATE|(^|_)KEY(_|$)|ACCESS_KEY/i;
/** Values that are credentials, written inline: AWS key ids, Slack webhooks, PEM keys, URLs with a password. */
const CREDENTIAL_VALUE = [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, /hooks\.slack\.com\/(services|workflows)\//, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i];

function envProblems(container: IContainer): string[] {
  const problems: string[] = [];
  for (const variable of container.env ?? ([] as IEnvVar[])) {
    if (!CREDENTIAL_NAME.test(variable.name)) continue;
    if (variable.value !== undefined) problems.push(`env ${variable.name} of container ${container.name} is written inline: take it from a Secret (valueFrom.secretKeyRef)`);
    else if (!variable.valueFrom?.secretKeyRef) problems.push(`env ${variable.name} of container ${container.name} does not come from a Secret (valueFrom.secretKeyRef)`);
  }
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) problems.push(`container ${container.name} takes env from ConfigMap ${source.configMapRef.name}: a credential in it would be readable by anyone who can read ConfigMaps`);
  }
  return problems;
}

/** Every `$(NAME)` in command and args must be a variable of the container's env: Kubernetes leaves an unknown one as it is, and the flag gets the literal text. */
function expansionProblems(container: IContainer): string[] {
  const defined = new Set((container.env ?? []).map((variable) => variable.name));
  const used = [...(container.command ?? []), ...(container.args ?? [])].flatMap((arg) => [...arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((match) => match[1]!));
  return used.filter((name) => !defined.has(name)).map((name) => `container ${container.name} uses $(${name}), which its env does not define`);
}

/** What the verification CronJob must have, beyond being valid: [] when it has all of it. */
function cronJobProblems(cronJob: ICronJob): string[] {
  const problems: string[] = [];
  const spec = cronJob.spec;
  const job = spec?.jobTemplate.spec;
  const pod: IPodSpec | undefined = job?.template.spec;
  if (spec?.concurrencyPolicy !== 'Forbid') problems.push(`concurrencyPolicy is ${spec?.concurrencyPolicy}, not Forbid: two verifications could overlap`);
  if (!(typeof spec?.startingDeadlineSeconds === 'number' && spec.startingDeadlineSeconds > 0)) problems.push('startingDeadlineSeconds is not set');
  if (spec?.successfulJobsHistoryLimit === undefined || spec.failedJobsHistoryLimit === undefined) problems.push('successfulJobsHistoryLimit and failedJobsHistoryLimit must both be set');
  if (!(typeof job?.activeDeadlineSeconds === 'number' && job.activeDeadlineSeconds > 0)) problems.push('the Job has no activeDeadlineSeconds: a stuck restore would run forever');
  if (!(typeof job?.backoffLimit === 'number' && job.backoffLimit <= 2)) problems.push(`backoffLimit is ${job?.backoffLimit}: keep it small (a failed check fails again)`);
  if (!pod) return [...problems, 'the CronJob has no pod spec'];
  if (pod.automountServiceAccountToken !== false) problems.push('the pod spec does not set automountServiceAccountToken: false');
  if (!pod.serviceAccountName || pod.serviceAccountName === 'default') problems.push('the pod runs as the default ServiceAccount');
  if (pod.securityContext?.runAsNonRoot !== true) problems.push('the pod does not set runAsNonRoot: true');
  const sizedEmptyDirs = new Set((pod.volumes ?? []).filter((volume) => volume.emptyDir && volume.emptyDir.sizeLimit !== undefined && volume.emptyDir.medium !== 'Memory').map((volume) => volume.name));
  for (const container of pod.containers) {
    problems.push(...envProblems(container), ...expansionProblems(container));
    if (!container.resources?.requests || !container.resources.limits) problems.push(`container ${container.name} has no resource requests and limits`);
    if (container.securityContext?.allowPrivilegeEscalation !== false) problems.push(`container ${container.name} does not set allowPrivilegeEscalation: false`);
    if (container.securityContext?.privileged) problems.push(`container ${container.name} is privileged`);
    const mounted = (container.volumeMounts ?? []).filter((mount) => sizedEmptyDirs.has(mount.name));
    if (mounted.length === 0) problems.push(`container ${container.name} mounts no emptyDir with a sizeLimit`);
    // Where firedrill restores (TMPDIR, each server's data directory) and keeps its template cache.
    const env = new Map((container.env ?? []).map((variable) => [variable.name, variable.value]));
    for (const name of ['TMPDIR', 'FIREDRILL_CACHE_DIR']) {
      const path = env.get(name);
      if (!path || !mounted.some((mount) => path === mount.mountPath || path.startsWith(`${mount.mountPath.replace(/\/$/, '')}/`))) problems.push(`${name} (${path}) is not on a size-limited emptyDir the container mounts`);
    }
  }
  return problems;
}

function cronJob(all: Manifest[]): ICronJob {
  const found = all.filter((manifest) => manifest.doc.kind === 'CronJob');
  expect(found.map((manifest) => manifest.file)).toEqual(['firedrill-verify-cronjob.yaml']);
  return found[0]!.doc as unknown as ICronJob;
}

/** Every string in a parsed document, with where it is. */
function strings(value: unknown, path = ''): Array<[string, string]> {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${path}[${index}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => strings(item, path ? `${path}.${key}` : key));
  return [];
}

describe('deploy/kubernetes', () => {
  const all = manifests();

  it('has the manifests the README names, each one valid against the Kubernetes API schemas', () => {
    expect(all.map(({ file, doc }) => `${file}: ${doc.kind}/${doc.metadata?.name}`)).toEqual([
      'firedrill-verify-cronjob.yaml: CronJob/firedrill-verify',
      'namespace.yaml: Namespace/firedrill',
      'networkpolicy.yaml: NetworkPolicy/firedrill-verify-no-ingress',
      'serviceaccount.yaml: ServiceAccount/firedrill-verify',
      'verify-configmap.yaml: ConfigMap/firedrill-verify',
    ]);
    expect(all.flatMap(schemaProblems)).toEqual([]);
    // Namespaced objects land in the namespace the README applies first.
    expect(all.filter(({ doc }) => doc.kind !== 'Namespace' && doc.metadata?.namespace !== 'firedrill').map(({ file }) => file)).toEqual([]);
  });

  it('the CronJob never overlaps, ends, mounts no token, restores onto a size-limited emptyDir and takes every credential from a Secret', () => {
    expect(cronJobProblems(cronJob(all))).toEqual([]);
  });

  it('the CronJob refers to what the other manifests define: its ServiceAccount (no token either) and the ConfigMap with verify.yaml', () => {
    const pod = cronJob(all).spec!.jobTemplate.spec!.template.spec!;
    const account = all.find(({ doc }) => doc.kind === 'ServiceAccount' && doc.metadata?.name === pod.serviceAccountName);
    expect(account?.doc.automountServiceAccountToken).toBe(false);
    const configMapName = pod.volumes?.find((volume) => volume.configMap)?.configMap?.name;
    const configMap = all.find(({ doc }) => doc.kind === 'ConfigMap' && doc.metadata?.name === configMapName)?.doc as { data?: Record<string, string> } | undefined;
    expect(Object.keys(configMap?.data ?? {})).toEqual(['verify.yaml']);
    expect(() => parse(configMap!.data!['verify.yaml']!)).not.toThrow();
  });

  it('runs as the user the Dockerfile creates, in a bookworm-slim image with Node.js 20, both servers and the guarded package', () => {
    const dockerfile = readFileSync(join(deployDir, 'Dockerfile'), 'utf8');
    const uid = /^USER (\d+)(:\d+)?$/m.exec(dockerfile)?.[1];
    expect(uid, 'the Dockerfile ends with a numeric USER').toBeDefined();
    expect(dockerfile).toMatch(new RegExp(`useradd [^\\n]*--uid ${uid} `));
    expect(cronJob(all).spec!.jobTemplate.spec!.template.spec!.securityContext?.runAsUser).toBe(Number(uid));
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/apt-get install [^\n]*\bpostgresql\b[^\n]*\bmariadb-server\b/);
    expect(dockerfile).toMatch(/ARG FIREDRILL_PACKAGE="github:OWNER\/firedrill#[^"]+"/);
    expect(dockerfile).toMatch(/\*OWNER\*\)/);
  });

  it('writes no credential anywhere, and holds no Secret object', () => {
    expect(all.filter(({ doc }) => doc.kind === 'Secret').map(({ file }) => file)).toEqual([]);
    const inline = all.flatMap(({ file, doc }) => strings(doc).filter(([, value]) => CREDENTIAL_VALUE.some((pattern) => pattern.test(value))).map(([path]) => `${file}: ${path}`));
    expect(inline).toEqual([]);
  });

  // The checks above are only worth something if they fail on a broken manifest.
  it('fails a broken CronJob: a schema violation, and valid but wrong fields', () => {
    const original = all.find(({ doc }) => doc.kind === 'CronJob')!;
    const broken = (change: (doc: ICronJob) => void): Manifest => {
      const doc = structuredClone(original.doc) as unknown as ICronJob;
      change(doc);
      return { file: original.file, doc: doc as unknown as Manifest['doc'] };
    };
    const pod = (doc: ICronJob) => doc.spec!.jobTemplate.spec!.template.spec!;

    const sometimes = broken((doc) => {
      (doc.spec as { concurrencyPolicy: string }).concurrencyPolicy = 'Sometimes';
    });
    expect(schemaProblems(sometimes).join('\n')).toContain('concurrencyPolicy must be equal to one of the allowed values');
    expect(cronJobProblems(sometimes.doc as unknown as ICronJob)).toContain('concurrencyPolicy is Sometimes, not Forbid: two verifications could overlap');
    expect(schemaProblems(broken((doc) => ((doc.spec!.jobTemplate.spec as { activeDeadlineSeconds: unknown }).activeDeadlineSeconds = '3h'))).join('\n')).toContain('activeDeadlineSeconds must be integer');

    const cases: Array<[string, (doc: ICronJob) => void]> = [
      ['concurrencyPolicy is Allow, not Forbid: two verifications could overlap', (doc) => (doc.spec!.concurrencyPolicy = 'Allow')],
      ['the Job has no activeDeadlineSeconds: a stuck restore would run forever', (doc) => delete doc.spec!.jobTemplate.spec!.activeDeadlineSeconds],
      ['the pod spec does not set automountServiceAccountToken: false', (doc) => delete pod(doc).automountServiceAccountToken],
      ['container verify mounts no emptyDir with a sizeLimit', (doc) => pod(doc).volumes!.forEach((volume) => delete volume.emptyDir?.sizeLimit)],
      ['TMPDIR (/tmp) is not on a size-limited emptyDir the container mounts', (doc) => (pod(doc).containers[0]!.env!.find((variable) => variable.name === 'TMPDIR')!.value = '/tmp')],
      [
        'env AWS_SECRET_ACCESS_KEY of container verify is written inline: take it from a Secret (valueFrom.secretKeyRef)',
        (doc) => {
          const variable = pod(doc).containers[0]!.env!.find((item) => item.name === 'AWS_SECRET_ACCESS_KEY')!;
          delete variable.valueFrom;
          variable.value = 'not-a-real-secret';
        },
      ],
      ['env SLACK_WEBHOOK_URL of container verify does not come from a Secret (valueFrom.secretKeyRef)', (doc) => (pod(doc).containers[0]!.env!.find((item) => item.name === 'SLACK_WEBHOOK_URL')!.valueFrom = { configMapKeyRef: { name: 'x', key: 'y' } })],
      ['container verify uses $(FIREDRILL_SORUCE), which its env does not define', (doc) => (pod(doc).containers[0]!.args![2] = '$(FIREDRILL_SORUCE)')],
    ];
    for (const [problem, change] of cases) {
      const manifest = broken(change);
      expect(schemaProblems(manifest), problem).toEqual([]);
      expect(cronJobProblems(manifest.doc as unknown as ICronJob), problem).toContain(problem);
    }
  });
});

describe('example workflows', () => {
  const workflows = readdirSync(examplesDir)
    .filter((name) => /^github-actions-.*\.ya?ml$/.test(name))
    .sort()
    .map((file) => ({ file, workflow: parse(readFileSync(join(examplesDir, file), 'utf8')) as Workflow }));

  interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
  }
  interface Job {
    'runs-on': string;
    concurrency?: { group?: string };
    permissions?: Record<string, string>;
    'timeout-minutes'?: number;
    steps: Step[];
  }
  interface Workflow {
    on: { schedule?: Array<{ cron: string }>; workflow_dispatch?: unknown };
    concurrency?: { group?: string; 'cancel-in-progress'?: boolean };
    env?: Record<string, string>;
    jobs: Record<string, Job>;
  }

  it('every example runs nightly and by hand, one run at a time', () => {
    expect(workflows.map(({ file }) => file)).toEqual(['github-actions-nightly.yml', 'github-actions-sharded.yml', 'github-actions-verify.yml']);
    for (const { file, workflow } of workflows) {
      expect(workflow.on.schedule?.[0]?.cron, file).toMatch(/^\S+ \S+ \S+ \S+ \S+$/);
      expect(workflow.on, file).toHaveProperty('workflow_dispatch');
      expect(workflow.concurrency?.group, file).toBeTruthy();
      expect(workflow.concurrency?.['cancel-in-progress'], file).toBe(false);
      expect(workflow.env?.FIREDRILL_PACKAGE, file).toMatch(/^github:OWNER\/firedrill#/);
    }
  });

  it('the verify job: OIDC credentials, the guarded package, the newest backup verified, exit codes gated, the report uploaded always', () => {
    const { workflow } = workflows.find(({ file }) => file === 'github-actions-verify.yml')!;
    const job = workflow.jobs.verify!;
    expect(job['runs-on']).toBe('ubuntu-latest');
    expect(job.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    expect(job['timeout-minutes']).toBeGreaterThan(0);
    expect(workflow.concurrency?.group ?? job.concurrency?.group).toBe('firedrill-verify');

    const run = job.steps.map((step) => step.run ?? '').join('\n');
    expect(run).toContain('*OWNER*)');
    expect(run).toMatch(/apt-get install [^\n]*\bpostgresql\b/);
    expect(run).toContain('npm install --no-save --no-audit --no-fund "$FIREDRILL_PACKAGE"');

    const aws = job.steps.findIndex((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(aws).toBeGreaterThanOrEqual(0);
    expect(job.steps[aws]!.with?.['role-to-assume']).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/);

    const verify = job.steps.findIndex((step) => step.run?.includes('firedrill verify'));
    expect(verify).toBeGreaterThan(aws);
    const script = job.steps[verify]!.run!;
    // The flags in one command line; the values from the env at the top.
    const command = script.split('\n').filter((line) => line.includes('firedrill verify'));
    expect(command).toEqual(['npx --no -- firedrill verify "$BACKUP_SOURCE" --newest --verification "$VERIFICATION" "${slack[@]}" --metrics-file "$METRICS_FILE" --out "$REPORTS"']);
    for (const name of ['BACKUP_SOURCE', 'VERIFICATION', 'METRICS_FILE', 'REPORTS']) expect(workflow.env, name).toHaveProperty(name);
    expect(script).toContain('--notify-slack-env SLACK_WEBHOOK_URL');
    expect(job.steps[verify]!.env).toEqual({ SLACK_WEBHOOK_URL: '${{ secrets.SLACK_WEBHOOK_URL }}' });
    expect(script).toContain('set +e');
    expect(script).toMatch(/exit "\$code"\s*$/);
    for (const code of ['0', '1', '2']) expect(script).toMatch(new RegExp(`^\\s*${code}\\) echo`, 'm'));

    const upload = job.steps.slice(verify + 1).find((step) => step.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.if).toBe('${{ always() }}');
    expect(upload?.with?.path).toBe('${{ env.REPORTS }}/');
  });

  it('no example writes a credential: secrets only as ${{ secrets.NAME }}', () => {
    for (const { file, workflow } of workflows) {
      const found = strings(workflow).filter(([, value]) => CREDENTIAL_VALUE.some((pattern) => pattern.test(value)));
      expect(found, file).toEqual([]);
      for (const [path, value] of strings(workflow)) {
        const key = path.split('.').at(-1)!;
        if (/(^|\.)env\./.test(path) && CREDENTIAL_NAME.test(key)) expect(value, `${file}: ${path}`).toMatch(/^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/);
      }
    }
  });
});
