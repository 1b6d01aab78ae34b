import { access, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import { buildBundle } from '../evidence/bundle.js';
import { generateSigningKey, KEY_ENV, readPublicKey, signingKey } from '../evidence/keys.js';
import { verifyBundle } from '../evidence/verify.js';
import { HISTORY_TREND_LENGTH } from '../journal/history.js';
import { DrillSetupError, ExitCode } from '../util/errors.js';
import { resultJson } from './result.js';

type Write = (text: string) => void;

export interface EvidenceOptions {
  out?: string;
  key?: string;
  history: number;
  json?: boolean;
}

/** `--history N`: how many earlier drills of each scenario; by default as many as a drill report's trend shows. */
export function historyOption(): Option {
  return new Option('--history <n>', 'the last n drills of each scenario from history.jsonl beside the runs (0: none)').default(HISTORY_TREND_LENGTH).argParser((value) => {
    const count = Number(value);
    if (!Number.isInteger(count) || count < 0) throw new InvalidArgumentError('give a whole number, 0 or more (e.g. --history 90).');
    return count;
  });
}

/** `firedrill evidence RUN_DIR...`: the signed bundle, and the fingerprint to compare it by. */
export async function evidenceCommand(paths: readonly string[], options: EvidenceOptions, out: Write): Promise<number> {
  const key = await signingKey(options.key);
  const bundle = await buildBundle(paths, { ...(options.out ? { out: options.out } : {}), key, history: options.history });
  if (options.json) {
    out(resultJson({ exitCode: ExitCode.passed, command: 'evidence', ...bundle }));
    return ExitCode.passed;
  }
  const passed = bundle.drills.filter((drill) => drill.status === 'passed').length;
  const width = Math.max(...bundle.controls.map((control) => control.id.length));
  out(
    [
      `bundle:      ${bundle.dir}/ (open index.html)`,
      `archive:     ${bundle.archive}`,
      `signed by:   ${bundle.fingerprint}`,
      '             (sha256 of the public key: publish it where auditors can find it apart from the bundle)',
      `drills:      ${bundle.drills.length} (${passed} passed), ${bundle.files} files, ${bundle.history} history entries`,
      ...bundle.controls.map((control) => `  ${control.id.padEnd(width)}  ${control.drills === 0 ? 'no drill evidences it' : `${control.drills} drill${control.drills === 1 ? '' : 's'}, ${control.passed} passed`}`),
      ...(bundle.missing.length > 0 ? [`planned by these runs but not in the bundle (the index says so too):`, ...bundle.missing.map((drill) => `  ${drill.drillId}: ${drill.reason}`)] : []),
    ].join('\n'),
  );
  return ExitCode.passed;
}

/** `firedrill evidence verify BUNDLE`: 0 intact, 1 not (each file named), 2 nothing to check. */
export async function verifyBundleCommand(bundlePath: string, options: { publicKey?: string; json?: boolean }, out: Write, err: Write): Promise<number> {
  const key = options.publicKey ? await readPublicKey(options.publicKey) : undefined;
  const result = await verifyBundle(bundlePath, key);
  const exitCode = result.intact ? ExitCode.passed : ExitCode.breached;
  if (options.json) {
    out(resultJson({ exitCode, command: 'evidence verify', ...result }));
    return exitCode;
  }
  if (result.intact) {
    out(`INTACT  ${result.bundle}: the ${result.files} files as signed on ${result.createdAt}, by key ${result.fingerprint}`);
    if (result.keySource === 'bundle') err(`that key is the one in the bundle: compare its fingerprint with the one its owner published, or pass --public-key`);
  } else {
    out(`NOT INTACT  ${result.bundle}: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`);
    for (const problem of result.problems) out(`  ${problem.file}: ${problem.problem}`);
  }
  return exitCode;
}

/** `firedrill evidence keygen`: a new Ed25519 key pair, never over an existing file. */
export async function keygenCommand(options: { out: string; json?: boolean }, out: Write): Promise<number> {
  const privateKey = resolve(options.out);
  const publicKey = privateKey.replace(/(\.pem)?$/, '.pub.pem');
  for (const file of [privateKey, publicKey]) {
    if (await access(file).then(() => true, () => false)) throw new DrillSetupError(`${file} exists: a key is never written over`, 'give another --out, or move the old key away (bundles it signed still verify with its public key)');
  }
  const pair = generateSigningKey();
  // Only this user may read the private key.
  await writeFile(privateKey, pair.privatePem, { mode: 0o600, flag: 'wx' });
  await writeFile(publicKey, pair.publicPem, { flag: 'wx' });
  if (options.json) {
    out(resultJson({ exitCode: ExitCode.passed, command: 'evidence keygen', privateKey, publicKey, fingerprint: pair.fingerprint }));
  } else {
    out(
      [
        `private key: ${privateKey} (keep it secret; in CI, a secret in ${KEY_ENV})`,
        `public key:  ${publicKey} (for auditors: firedrill evidence verify BUNDLE --public-key ${publicKey})`,
        `fingerprint: ${pair.fingerprint} (publish it apart from the bundles)`,
      ].join('\n'),
    );
  }
  return ExitCode.passed;
}
