import type { KeyObject } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { HistoryEntry, Journal } from '../journal/types.js';
import { missingDrills, readJournals, reportedRuns, writeReports, type FoundJournal, type MissingDrill, type ReportedRun } from '../report/index.js';
import { runbookMarkdown } from '../report/runbook.js';
import { HISTORY_FILE, readHistory } from '../runner/history.js';
import { DrillSetupError, errorMessage } from '../util/errors.js';
import { scrubSecrets } from '../util/secrets.js';
import { firedrillVersion } from '../util/version.js';
import { packArchive } from './archive.js';
import { CONTROLS, evidenceFor } from './controls.js';
import { renderIndexHtml, renderIndexMarkdown, type BundledDrill } from './index-page.js';
import { fingerprint, publicKeyPem, signData } from './keys.js';
import { ARCHIVE_SUFFIX, digestTree, MANIFEST_FILE, MANIFEST_KIND, PUBLIC_KEY_FILE, SIGNATURE_FILE, type Manifest } from './manifest.js';

/**
 * `firedrill evidence`: one signed bundle of drills for an auditor. Layout:
 *
 *   index.html, index.md          controls → drills, the drills and their files, versions, history, limits
 *   manifest.json                 every other file's path, size and sha256, and the key's fingerprint
 *   manifest.sig                  the Ed25519 signature of manifest.json (base64)
 *   public-key.pem                the key that signed it
 *   history.jsonl                 the last N drills of each scenario, from the reports folders' history
 *   runs/<run>/                   each run's reports as `firedrill report` renders them, and its run.json
 *     <drill>/journal.json        the journal
 *     <drill>/report.html         the drill report
 *     <drill>/scenario-as-run.yaml
 *     <drill>/runbook.md          passing drills only
 *
 * Only what journals and history hold goes in: never a server log or a drill log, and every
 * file is checked for the secrets a server's log can carry before anything is signed.
 */

export interface BundleOptions {
  /** The bundle's folder (default `evidence-<date>-<time>` here); the archive is the same path with `.tar.gz`. A path ending in `.tar.gz` names the archive. */
  out?: string;
  key: KeyObject;
  /** How many earlier drills of each scenario to take from history.jsonl; 0 for none. */
  history: number;
  now?: Date;
}

export interface BundleResult {
  dir: string;
  archive: string;
  fingerprint: string;
  /** Files in the manifest. */
  files: number;
  drills: Array<{ runId: string; drillId: string; scenario: string; strategy: string; status: Journal['status']; dir: string }>;
  controls: Array<{ id: string; drills: number; passed: number }>;
  missing: MissingDrill[];
  /** History entries included. */
  history: number;
}

/** The bundle's folder and archive: `--out` with any .tar.gz taken off, and that plus .tar.gz. */
function bundlePaths(out: string | undefined, now: Date): { dir: string; archive: string } {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  const dir = resolve((out ?? `evidence-${stamp}`).replace(ARCHIVE_SUFFIX, ''));
  return { dir, archive: `${dir}.tar.gz` };
}

// Ids name folders of the bundle; firedrill makes them of these characters only.
const SAFE_ID = /^(?!\.+$)[\w.-]+$/;

function checkIds({ journal, dir }: FoundJournal): void {
  for (const [what, id] of [['run id', journal.runId], ['drill id', journal.drillId]] as const) {
    if (!SAFE_ID.test(id)) {
      throw new DrillSetupError(`the journal in ${dir} has the ${what} ${JSON.stringify(id)}, which cannot name a folder of the bundle`, 'firedrill makes ids of letters, digits, dots, dashes and underscores: check that the journal was not edited, or leave it out');
    }
  }
}

/**
 * The journals of the paths, as `firedrill report` reads them, path by path: each night's run
 * is given as its own folder, and two nights of the same drill are two drills of a bundle.
 * The same drill of the same run in two folders (a run downloaded twice) is refused.
 */
async function bundledJournals(paths: readonly string[]): Promise<FoundJournal[]> {
  const found = new Map<string, FoundJournal>();
  for (const path of paths) {
    for (const entry of await readJournals(path)) {
      checkIds(entry);
      const key = `${entry.journal.runId}/${entry.journal.drillId}`;
      const earlier = found.get(key);
      if (earlier && earlier.dir !== entry.dir) {
        throw new DrillSetupError(`drill ${entry.journal.drillId} of run ${entry.journal.runId} is there twice: in ${earlier.dir} and in ${entry.dir}`, 'leave one of the two folders out: a bundle holds each drill once');
      }
      found.set(key, entry);
    }
  }
  return [...found.values()];
}

/** The last `limit` drills of each scenario in the history.jsonl beside each run's folder, oldest first, each drill once. */
async function historyOf(runs: readonly ReportedRun[], scenarios: ReadonlySet<string>, limit: number): Promise<HistoryEntry[]> {
  const files = [...new Set(runs.map((run) => join(dirname(run.dir), HISTORY_FILE)))];
  const entries = new Map<string, HistoryEntry>();
  for (const file of files) {
    const read = await readHistory(file).catch((error: unknown) => {
      throw new DrillSetupError(`cannot read ${file}: ${errorMessage(error)}`, 'check its permissions, or pass --history 0 to make the bundle without history');
    });
    for (const entry of read) if (scenarios.has(entry.scenario)) entries.set(`${entry.runId}/${entry.drillId}`, entry);
  }
  const sorted = [...entries.values()].sort((a, b) => a.at.localeCompare(b.at));
  return [...scenarios].flatMap((scenario) => sorted.filter((entry) => entry.scenario === scenario).slice(-limit)).sort((a, b) => a.at.localeCompare(b.at));
}

function scenarioText(journal: Journal): string {
  return [
    `# The scenario as drill ${journal.drillId} of run ${journal.runId} ran it, every default filled in${journal.scenario.file ? `, from ${journal.scenario.file}` : ''}.`,
    '# Durations are milliseconds here, where a bare number in a scenario file is seconds: a record, not a file to run.',
    `# sha256 of the scenario as firedrill hashes it (journal.scenario.hash): ${journal.scenario.hash}`,
    stringify(journal.scenario.spec),
  ].join('\n');
}

async function write(root: string, path: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content, 'utf8');
}

/** The drills' own files, and each run's reports as `firedrill report` renders them. */
async function writeDrills(root: string, found: readonly FoundJournal[], runs: readonly ReportedRun[], createdAt: string): Promise<BundledDrill[]> {
  const drills: BundledDrill[] = [];
  for (const { journal } of found) {
    const dir = `runs/${journal.runId}/${journal.drillId}`;
    // Written as the runner writes it: a journal firedrill wrote goes in byte for byte.
    await write(root, `${dir}/journal.json`, `${JSON.stringify(journal, null, 2)}\n`);
    await write(root, `${dir}/scenario-as-run.yaml`, scenarioText(journal));
    const runbook = journal.status === 'passed';
    // Only a passing drill's procedure is one to follow (as for `firedrill runbook`).
    if (runbook) await write(root, `${dir}/runbook.md`, runbookMarkdown(journal, { firedrill: firedrillVersion(), generatedAt: createdAt, journalPath: `${dir}/journal.json` }).text);
    drills.push({ journal, dir, runbook });
  }
  for (const runId of new Set(found.map(({ journal }) => journal.runId))) {
    const own = drills.filter((drill) => drill.journal.runId === runId);
    // No environment: a bundle must not append to a CI job's summary.
    const outcome = await writeReports(own.map((drill) => drill.journal), join(root, 'runs', runId), own.map((drill) => join(root, drill.dir)), undefined, { env: {} });
    const failure = outcome.errors[0];
    if (failure) throw new DrillSetupError(`the ${failure.reporter} report of run ${runId} could not be written: ${failure.message}`, 'check the disk has room; if it has, this is a bug of firedrill: report it with the journal');
    const record = runs.find((run) => run.runId === runId && run.record)?.record;
    if (record) await write(root, `runs/${runId}/run.json`, `${JSON.stringify(record, null, 2)}\n`);
  }
  return drills.sort((a, b) => a.journal.startedAt.localeCompare(b.journal.startedAt));
}

const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/**
 * Refuses to sign a bundle with a secret in it: a password a server logged with a failed
 * statement (what the journal's scrubbing removes, had it missed one), or a private key.
 * A journal is not edited to hide one — evidence is copied as it is or not at all. Every
 * report is rendered from a journal, so the journal is caught even where HTML escapes a quote.
 */
async function refuseSecrets(root: string, paths: readonly string[]): Promise<void> {
  const leaking: string[] = [];
  for (const path of paths) {
    const text = await readFile(join(root, path), 'utf8');
    if (scrubSecrets(text) !== text || PRIVATE_KEY.test(text)) leaking.push(path);
  }
  if (leaking.length > 0) {
    throw new DrillSetupError(`${leaking.join(', ')} would carry what looks like a password or a private key into the bundle; nothing was written`, 'change that password, and leave the drill out of the bundle (give the other run or drill folders)');
  }
}

/** Builds the bundle's folder and archive from the journals under `paths`. */
export async function buildBundle(paths: readonly string[], options: BundleOptions): Promise<BundleResult> {
  const now = options.now ?? new Date();
  const createdAt = now.toISOString();
  const { dir, archive } = bundlePaths(options.out, now);
  for (const path of [dir, archive]) {
    const taken = await access(path).then(() => true, () => false);
    if (taken) throw new DrillSetupError(`${path} exists: an evidence bundle is never written over`, 'give another --out, or move the old bundle away');
  }
  const found = await bundledJournals(paths);
  const runs = await reportedRuns(found);
  const scenarios = new Set(found.map(({ journal }) => journal.scenario.name));
  const history = options.history > 0 ? await historyOf(runs, scenarios, options.history) : [];
  const keyFingerprint = fingerprint(options.key);
  const missing = missingDrills(found, runs);

  await mkdir(dirname(dir), { recursive: true });
  // Built beside its final place and renamed when signed: a bundle is there whole or not at all.
  const work = await mkdtemp(`${dir}.partial-`);
  let manifest: Manifest;
  let drills: BundledDrill[];
  try {
    drills = await writeDrills(work, found, runs, createdAt);
    if (history.length > 0) await write(work, HISTORY_FILE, history.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    await write(work, PUBLIC_KEY_FILE, publicKeyPem(options.key));
    const index = { createdAt, firedrill: firedrillVersion(), fingerprint: keyFingerprint, drills, history, historyLimit: options.history, missing };
    await write(work, 'index.md', renderIndexMarkdown(index));
    await write(work, 'index.html', renderIndexHtml(index));
    const { files } = await digestTree(work);
    await refuseSecrets(work, files.map((file) => file.path));
    manifest = { formatVersion: 1, kind: MANIFEST_KIND, createdAt, firedrill: firedrillVersion(), key: { algorithm: 'ed25519', fingerprint: keyFingerprint }, files };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    await write(work, MANIFEST_FILE, manifestText);
    await write(work, SIGNATURE_FILE, signData(Buffer.from(manifestText, 'utf8'), options.key));
    await rename(work, dir);
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
  const partial = `${archive}.partial`;
  try {
    await packArchive(dir, [...manifest.files.map((file) => file.path), MANIFEST_FILE, SIGNATURE_FILE], basename(dir), now, partial);
    await rename(partial, archive);
  } catch (error) {
    await rm(partial, { force: true });
    throw new DrillSetupError(`the bundle ${dir} is complete, but its archive could not be written: ${errorMessage(error)}`, `check the disk has room, then pack the folder yourself (tar -czf ${basename(archive)} ${basename(dir)}) or make the bundle again`);
  }

  return {
    dir,
    archive,
    fingerprint: keyFingerprint,
    files: manifest.files.length,
    drills: drills.map(({ journal, dir: drillDir }) => ({ runId: journal.runId, drillId: journal.drillId, scenario: journal.scenario.name, strategy: journal.strategy, status: journal.status, dir: drillDir })),
    controls: CONTROLS.map((control) => {
      const covered = evidenceFor(control, drills);
      return { id: control.id, drills: covered.length, passed: covered.filter((drill) => drill.journal.status === 'passed').length };
    }),
    missing,
    history: history.length,
  };
}
