import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a user gets: the tarball `npm pack` makes (its `prepare` builds dist/ first), installed
 * into an empty project of its own and run through npx — not this checkout's bin/ or dist/.
 * Nothing here starts a database.
 */

const repo = fileURLToPath(new URL('../..', import.meta.url));

// Every npm command here is offline: the test must pass where the registry is out of reach, and
// must not pass because of something it fetched that a checkout's `npm ci` did not.
const env = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mustRun(command: string, args: string[], cwd: string, whatToDo: string): Promise<Result> {
  const result = await run(command, args, cwd);
  if (result.code !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` exited ${result.code}: ${whatToDo}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

// `--no`: run the firedrill installed in the project, never a package of that name fetched
// from the registry. `--` keeps firedrill's own options (--help) away from npx.
const firedrill = (args: string[]) => run('npx', ['--no', '--', 'firedrill', ...args], project);

interface PackedFile {
  path: string;
}

let work: string;
let project: string;
let packed: { filename: string; files: PackedFile[] };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'firedrill-package-'));
  const pack = join(work, 'pack');
  project = join(work, 'project');
  await mkdir(pack);
  await mkdir(project);

  const packing = await mustRun('npm', ['pack', '--json', '--pack-destination', pack], repo, 'the package does not pack: `npm run build` must pass first (prepare runs it)');
  try {
    [packed] = JSON.parse(packing.stdout) as [typeof packed];
  } catch {
    throw new Error(`npm pack --json printed no JSON document; it printed:\n${packing.stdout}`);
  }

  await mustRun('npm', ['init', '-y'], project, 'npm cannot create a project in a temp directory');
  // `npm install TARBALL --offline` resolves the tarball's dependency ranges from registry
  // metadata, which `npm ci` never puts in the cache (it installs tarballs by the lockfile's
  // integrity). Seeded with this repository's locked runtime tree, the project's own lockfile
  // names versions whose tarballs the cache holds. Only runtime entries are seeded: a module
  // the installed CLI imports from a devDependency is missing here, as it would be for a user.
  const lock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as { name: string; version: string };
  const runtime = Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev);
  await writeFile(
    join(project, 'package-lock.json'),
    JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': { name: manifest.name, version: manifest.version }, ...Object.fromEntries(runtime) } }, null, 2),
  );
  await mustRun(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', join('..', 'pack', packed.filename)],
    project,
    'the tarball does not install offline: run `npm ci` in the repository (package-lock.json in step with package.json) so the npm cache holds every dependency',
  );

  await mkdir(join(project, 'drills'));
  await copyFile(join(project, 'node_modules', 'firedrill', 'scenarios', 'demo.yaml'), join(project, 'drills', 'demo.yaml'));
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the package, packed and installed into another project', () => {
  it('ships the built library and CLI, the schemas, scenarios and the datasets they load, and nothing of the tests, bench or scripts', () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['bin/firedrill.js', 'dist/src/cli/main.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'schema/scenario.schema.json', 'schema/result.schema.json', 'scenarios/demo.yaml', 'datasets/sakila-postgres/schema.sql', 'datasets/sakila-postgres/LICENSE', 'docs/scenarios.md']));
    expect(paths.filter((path) => /^(src|test|bench|scripts|examples|reports|test-artifacts|dist\/(test|bench|scripts))\//.test(path))).toEqual([]);
  });

  it('npx firedrill --help shows every command, and --version the package\'s version', async () => {
    const help = await firedrill(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    for (const command of ['run', 'compare', 'validate', 'report', 'list', 'doctor', 'cleanup', 'retention', 'init', 'schema']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    }
    const version = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(await firedrill(['--version'])).toMatchObject({ code: 0, stdout: `${version.version}\n` });
  });

  it('npx firedrill validate passes a scenario copied into the project, and every scenario the package ships (their datasets included)', async () => {
    expect(await firedrill(['validate', 'drills/demo.yaml'])).toMatchObject({ code: 0, stdout: 'ok  drills/demo.yaml  (postgres, pg-basebackup-wal, bad-delete)\n' });
    const shipped = await firedrill(['validate', join('node_modules', 'firedrill', 'scenarios')]);
    expect(shipped).toMatchObject({ code: 0, stderr: '' });
    const lines = shipped.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength((await readdir(join(repo, 'scenarios'))).filter((name) => name.endsWith('.yaml')).length);
    expect(lines.filter((line) => !line.startsWith('ok  '))).toEqual([]);
    expect(shipped.stdout).toMatch(/^ok {2}\S+\/sakila-pitr\.yaml /m);
  });

  it('npx firedrill list names the strategies and faults', async () => {
    const list = await firedrill(['list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    for (const name of ['pg-dump', 'pg-basebackup-wal', 'mysqldump', 'mariabackup', 'replica-async', 'bad-delete', 'kill-primary', 'wal-gap']) {
      expect(list.stdout).toMatch(new RegExp(`^ {2}${name} +\\S`, 'm'));
    }
  });
});
