import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { access, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { buildBundle, type BundleResult } from '../../src/evidence/bundle.js';
import { fingerprint, generateSigningKey, KEY_ENV, signingKey } from '../../src/evidence/keys.js';
import { MANIFEST_FILE, SIGNATURE_FILE, type Manifest } from '../../src/evidence/manifest.js';
import { verifyBundle } from '../../src/evidence/verify.js';
import { historyEntry } from '../../src/journal/history.js';
import type { HistoryEntry, Journal } from '../../src/journal/types.js';

const FIXTURES = new URL('../fixtures/journals/', import.meta.url);
const fixture = (name: string) => new URL(`${name}.json`, FIXTURES);
const load = async (name: string): Promise<Journal> => JSON.parse(await readFile(fixture(name), 'utf8')) as Journal;
/** The fixtures put into the run folder; broken-chain is left out, and only in the history. */
const BUNDLED = ['passed', 'breached', 'failover', 'error'] as const;

/** The command line in this process: its exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await main(['node', 'firedrill', ...args]), stdout, stderr };
  } finally {
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
}

/** Flips one bit of the byte in the middle of a file. */
async function flipByte(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  await writeFile(file, bytes);
}

let work: string;
let runDir: string;
let keyFile: string;
let publicKeyFile: string;
let bundle: BundleResult;
let journals: Journal[];
/** A history line of an earlier night of the passed drill's scenario: in history.jsonl, not in the bundle. */
let earlier: HistoryEntry;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'firedrill-evidence-'));
  journals = await Promise.all(BUNDLED.map(load));
  runDir = join(work, 'reports', journals[0]!.runId);
  for (const [index, journal] of journals.entries()) {
    await mkdir(join(runDir, journal.drillId), { recursive: true });
    await cp(fixture(BUNDLED[index]!), join(runDir, journal.drillId, 'journal.json'));
    // A server log beside the journal, as a drill leaves one: it must not enter the bundle.
    await writeFile(join(runDir, journal.drillId, 'source-server.log'), "LOG:  statement: ALTER ROLE app PASSWORD 'hunter2'\n");
  }
  const passed = journals[0]!;
  earlier = { ...historyEntry(passed), runId: '20261130-120000-aaaa', drillId: passed.drillId, at: '2026-11-30T17:00:00.000Z' };
  const history = [earlier, ...journals.map(historyEntry), historyEntry(await load('broken-chain'))];
  await writeFile(join(work, 'reports', 'history.jsonl'), history.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  const pair = generateSigningKey();
  keyFile = join(work, 'key.pem');
  publicKeyFile = join(work, 'key.pub.pem');
  await writeFile(keyFile, pair.privatePem);
  await writeFile(publicKeyFile, pair.publicPem);
  bundle = await buildBundle([runDir], { out: join(work, 'bundle'), key: createPrivateKey(pair.privatePem), history: 30, now: new Date('2026-12-02T09:00:00Z') });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy of the bundle's folder to tamper with. */
async function copyOfBundle(): Promise<string> {
  const copy = await mkdtemp(join(work, 'tampered-'));
  await cp(bundle.dir, copy, { recursive: true });
  return copy;
}

/** `evidence verify --json` on a bundle: exit code and the problems it names. */
async function verifyJson(path: string, ...args: string[]): Promise<{ code: number; problems: Array<{ file: string; problem: string }> }> {
  const { code, stdout } = await cli('evidence', 'verify', path, '--json', ...args);
  const result = JSON.parse(stdout) as { exitCode: number; intact: boolean; problems: Array<{ file: string; problem: string }> };
  expect(result.exitCode).toBe(code);
  expect(result.intact).toBe(code === 0);
  return { code, problems: result.problems };
}

const drillDir = (journal: Journal) => `runs/${journal.runId}/${journal.drillId}`;

describe('evidence bundles', () => {
  it("holds each drill's journal as written, its report, scenario and (passing drills only) runbook, the run's reports and history, and verifies as a folder and as its archive", async () => {
    expect(bundle.archive).toBe(`${bundle.dir}.tar.gz`);
    for (const [index, journal] of journals.entries()) {
      const dir = join(bundle.dir, drillDir(journal));
      expect(await readFile(join(dir, 'journal.json'))).toEqual(await readFile(fixture(BUNDLED[index]!)));
      expect((await readdir(dir)).sort()).toEqual(['journal.json', 'report.html', ...(journal.status === 'passed' ? ['runbook.md'] : []), 'scenario-as-run.yaml']);
      expect(await readFile(join(dir, 'scenario-as-run.yaml'), 'utf8')).toContain(`name: ${journal.scenario.name}`);
    }
    expect(await readFile(join(bundle.dir, drillDir(journals[0]!), 'runbook.md'), 'utf8')).toContain(`drill-journal: ${drillDir(journals[0]!)}/journal.json`);
    expect((await readdir(join(bundle.dir, 'runs', journals[0]!.runId))).filter((name) => !name.includes('--')).sort()).toEqual(['index.html', 'junit.xml', 'summary.json', 'summary.md']);
    // Every file but the manifest and its signature is in the manifest; no server log anywhere.
    const manifest = JSON.parse(await readFile(join(bundle.dir, MANIFEST_FILE), 'utf8')) as Manifest;
    expect(manifest.files.map((file) => file.path)).toEqual(expect.arrayContaining(['index.html', 'index.md', 'public-key.pem', 'history.jsonl']));
    expect(manifest.files.some((file) => file.path.endsWith('.log'))).toBe(false);
    expect(manifest.files).toHaveLength(bundle.files);
    expect(manifest.key.fingerprint).toBe(bundle.fingerprint);
    // The earlier night of the passed scenario, and this night's drills; not broken-chain's scenario.
    const history = (await readFile(join(bundle.dir, 'history.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as HistoryEntry);
    expect(history).toHaveLength(journals.length + 1);
    expect(history[0]).toEqual(earlier);

    for (const path of [bundle.dir, bundle.archive]) {
      expect(await verifyBundle(path)).toMatchObject({ intact: true, problems: [], keySource: 'bundle', fingerprint: bundle.fingerprint, files: bundle.files });
    }
    expect(await verifyJson(bundle.archive, '--public-key', publicKeyFile)).toEqual({ code: 0, problems: [] });
  });

  it.each([
    ['a journal', () => `${drillDir(journals[1]!)}/journal.json`],
    ['a report', () => `${drillDir(journals[0]!)}/report.html`],
    ['the index', () => 'index.html'],
  ])('fails when a byte of %s is flipped, naming the file', async (_kind, path) => {
    const copy = await copyOfBundle();
    await flipByte(join(copy, path()));
    const { code, problems } = await verifyJson(copy, '--public-key', publicKeyFile);
    expect(code).toBe(1);
    expect(problems).toEqual([{ file: path(), problem: expect.stringMatching(/^changed since signing: its sha256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}$/) }]);
  });

  it('fails when a byte of the manifest is flipped, and trusts none of it', async () => {
    const copy = await copyOfBundle();
    await flipByte(join(copy, MANIFEST_FILE));
    const { code, problems } = await verifyJson(copy, '--public-key', publicKeyFile);
    expect(code).toBe(1);
    expect(problems[0]).toEqual({ file: MANIFEST_FILE, problem: expect.stringMatching(/does not match its signature \(manifest\.sig\).*changed after signing/) });
  });

  it('fails when a byte of the signature is flipped', async () => {
    const copy = await copyOfBundle();
    await flipByte(join(copy, SIGNATURE_FILE));
    const { code, problems } = await verifyJson(copy);
    expect(code).toBe(1);
    // A flipped bit may leave base64 (the signature does not verify) or not (it is no signature).
    expect(problems).toHaveLength(1);
    expect(`${problems[0]!.file}: ${problems[0]!.problem}`).toContain(SIGNATURE_FILE);
  });

  it('fails when a file is added or removed, naming each', async () => {
    const copy = await copyOfBundle();
    const removed = `${drillDir(journals[2]!)}/scenario-as-run.yaml`;
    await writeFile(join(copy, 'runs', 'extra.html'), '<p>nothing to see</p>');
    await rm(join(copy, removed));
    const { code, problems } = await verifyJson(copy);
    expect(code).toBe(1);
    expect(problems).toEqual([
      { file: removed, problem: 'missing: the manifest lists it' },
      { file: 'runs/extra.html', problem: 'not in the manifest: added after signing' },
    ]);
  });

  it('fails when a byte of the archive is flipped', async () => {
    const archive = join(await mkdtemp(join(work, 'archive-')), 'bundle.tar.gz');
    await cp(bundle.archive, archive);
    await flipByte(archive);
    const { code, problems } = await verifyJson(archive);
    expect(code).toBe(1);
    expect(problems).toEqual([{ file: 'bundle.tar.gz', problem: expect.stringContaining('the archive was damaged or cut short') }]);
  });

  it('fails with another public key than the one that signed it, saying so', async () => {
    const other = join(work, 'other.pub.pem');
    await writeFile(other, generateSigningKey().publicPem);
    const { code, problems } = await verifyJson(bundle.dir, '--public-key', other);
    expect(code).toBe(1);
    expect(problems).toEqual([{ file: SIGNATURE_FILE, problem: expect.stringMatching(new RegExp(`^made with another key than --public-key: the bundle was signed by ${bundle.fingerprint}, the key given is [0-9a-f]{64}$`)) }]);
  });

  it('exits 2, printing nothing on stdout, when there is no bundle to check', async () => {
    const missing = await cli('evidence', 'verify', join(work, 'no-such-bundle'), '--json');
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/no bundle at .*no-such-bundle[^]*hint: give the bundle's folder or its \.tar\.gz/);
    expect(await cli('evidence', 'verify', keyFile)).toMatchObject({ code: 2, stdout: '' });
  });

  it('maps each control to the drills in the bundle that evidence it, and to no other', async () => {
    const [passed, breached, failover, error] = journals as [Journal, Journal, Journal, Journal];
    const markdown = await readFile(join(bundle.dir, 'index.md'), 'utf8');
    const controls = markdown.slice(markdown.indexOf('## Controls'), markdown.indexOf('## Drills in this bundle'));
    const linked = (text: string) => [...text.matchAll(/\]\((runs\/[^)]+)\/report\.html\)/g)].map((match) => match[1]);
    // Every drill that ran to a verdict evidences SOC 2 A1.3; the one that could not run, none.
    const a13 = controls.slice(controls.indexOf('### SOC 2 A1.3'), controls.indexOf('### ISO/IEC 27001:2022 A.8.13'));
    expect(linked(a13)).toEqual([passed, breached, failover].map(drillDir));
    // A failover restored no backup: not evidence of backup restores.
    const a813 = controls.slice(controls.indexOf('### ISO/IEC 27001:2022 A.8.13'), controls.indexOf('### ISO/IEC 27001:2022 A.5.30'));
    expect(linked(a813)).toEqual([passed, breached].map(drillDir));
    // Each drill's RTO and RPO as its journal judged them.
    const judged = (journal: Journal, name: string) => journal.objectives.find((objective) => objective.name === name)!;
    const rto = judged(breached, 'RTO (service)');
    expect(a813).toContain(`RTO (service): ${rto.measured}, target ${rto.target} (breached)`);
    const rpo = judged(passed, 'RPO (data loss)');
    expect(a813).toContain(`RPO (data loss): ${rpo.measured}, target ${rpo.target} (met)`);
    expect(new Set(linked(controls))).toEqual(new Set([passed, breached, failover].map(drillDir)));
    expect(controls).not.toContain(error.drillId);
    // Drills not in the bundle are only history, and say so.
    const brokenChain = await load('broken-chain');
    const page = await readFile(join(bundle.dir, 'index.html'), 'utf8');
    for (const index of [markdown, page]) {
      expect(index).not.toContain(brokenChain.scenario.name);
      expect(index).not.toContain(earlier.runId);
      expect(index.match(/not in this bundle/g)).toHaveLength(1);
    }
    // Every link of the page is to a file in the bundle (or a section of the page).
    for (const [, href] of page.matchAll(/href="([^"#][^"]*)"/g)) {
      if (href!.startsWith('data:')) continue;
      await expect(access(join(bundle.dir, href!)), href).resolves.toBeUndefined();
    }
  });

  it('refuses to sign a secret into the bundle, and leaves nothing behind', async () => {
    const journal = await load('breached');
    const leaky: Journal = { ...journal, runId: '20261203-120000-leak', errors: [{ phase: 'verify', message: "server said: ALTER ROLE app PASSWORD 'hunter2' failed" }] };
    const dir = join(work, 'leaky', leaky.runId, leaky.drillId);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'journal.json'), JSON.stringify(leaky));
    const out = join(work, 'leaky-bundle');
    await expect(buildBundle([dir], { out, key: await signingKey(keyFile), history: 0 })).rejects.toThrow(new RegExp(`^runs/${leaky.runId}/${leaky.drillId}/journal\\.json(, \\S+)* would carry what looks like a password`));
    expect((await readdir(work)).filter((name) => name.startsWith('leaky-bundle'))).toEqual([]);
  });

  it('takes its key from a file or FIREDRILL_EVIDENCE_KEY, refuses none or another kind, and never writes over a bundle', async () => {
    const pem = await readFile(keyFile, 'utf8');
    expect(fingerprint(await signingKey(undefined, { [KEY_ENV]: pem }))).toBe(bundle.fingerprint);
    await expect(signingKey(undefined, {})).rejects.toMatchObject({ message: expect.stringContaining('no signing key'), hint: expect.stringContaining('firedrill evidence keygen') });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(signingKey(undefined, { [KEY_ENV]: rsa })).rejects.toThrow(/is an rsa key; evidence is signed with Ed25519/);
    await expect(buildBundle([runDir], { out: bundle.dir, key: await signingKey(keyFile), history: 0 })).rejects.toThrow(/exists: an evidence bundle is never written over/);
  });

  it('makes keys, builds and verifies from the command line, with --json', async () => {
    const key = join(work, 'cli', 'signing.pem');
    await mkdir(join(work, 'cli'));
    const keygen = await cli('evidence', 'keygen', '--out', key, '--json');
    expect(keygen.code).toBe(0);
    const made = JSON.parse(keygen.stdout) as { command: string; publicKey: string; fingerprint: string };
    expect(made).toMatchObject({ command: 'evidence keygen', publicKey: join(work, 'cli', 'signing.pub.pem') });
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    expect((await cli('evidence', 'keygen', '--out', key)).code).toBe(2);

    const built = await cli('evidence', runDir, '--key', key, '--out', join(work, 'cli', 'audit.tar.gz'), '--history', '0', '--json');
    expect(built.code).toBe(0);
    const result = JSON.parse(built.stdout) as { command: string; dir: string; archive: string; fingerprint: string; history: number; controls: Array<{ id: string; drills: number }> };
    expect(result).toMatchObject({ command: 'evidence', dir: join(work, 'cli', 'audit'), archive: join(work, 'cli', 'audit.tar.gz'), fingerprint: made.fingerprint, history: 0 });
    expect(result.controls.find((control) => control.id === 'SOC 2 A1.3')?.drills).toBe(3);
    await expect(access(join(result.dir, 'history.jsonl'))).rejects.toThrow();

    const checked = await cli('evidence', 'verify', result.archive, '--public-key', made.publicKey);
    expect(checked).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^INTACT .*audit\\.tar\\.gz: the \\d+ files as signed on .*, by key ${made.fingerprint}\\n$`)) });
  });
});
