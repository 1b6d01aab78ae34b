import type { KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DrillSetupError, errorMessage } from '../util/errors.js';
import { readArchive, type BundleProblem } from './archive.js';
import { fingerprint, parsePublicKey, signatureVerifies } from './keys.js';
import { ARCHIVE_SUFFIX, digestTree, MANIFEST_FILE, parseManifest, PUBLIC_KEY_FILE, SIGNATURE_FILE, type FileDigest } from './manifest.js';

/**
 * `firedrill evidence verify`: whether a bundle (its folder, or its .tar.gz unopened) is as
 * it was signed — the manifest's signature, every file's sha256, nothing missing and nothing
 * added — and, if not, which file is not.
 */

export interface Verification {
  bundle: string;
  intact: boolean;
  /** The key the signature was checked with (the one given, else the bundle's own); null when there was none. */
  fingerprint: string | null;
  keySource: 'given' | 'bundle' | null;
  /** Files the manifest lists. */
  files: number;
  /** When the bundle was made, as its manifest says. */
  createdAt?: string;
  problems: BundleProblem[];
}

/** What a bundle holds, however it is stored: each file's digest, and the manifest, signature and key themselves. */
interface Contents {
  files: FileDigest[];
  kept: Map<string, Buffer>;
  problems: BundleProblem[];
  /** An archive that could not be read to its end. */
  damaged?: BundleProblem;
}

const SPECIAL = [MANIFEST_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE];
const HINT = "give the bundle's folder or its .tar.gz, as `firedrill evidence` wrote them";

async function readFolder(dir: string): Promise<Contents> {
  const { files, irregular } = await digestTree(dir);
  const kept = new Map<string, Buffer>();
  for (const name of SPECIAL) if (files.some((file) => file.path === name)) kept.set(name, await readFile(join(dir, name)));
  return { files, kept, problems: irregular.map((file) => ({ file, problem: 'not a regular file: added after signing' })) };
}

function check(contents: Contents, givenKey: KeyObject | undefined): Omit<Verification, 'bundle' | 'intact'> {
  const problems = [...contents.problems];
  let bundleKey: KeyObject | undefined;
  const pem = contents.kept.get(PUBLIC_KEY_FILE);
  if (pem) {
    try {
      bundleKey = parsePublicKey(pem, PUBLIC_KEY_FILE);
    } catch (error) {
      problems.push({ file: PUBLIC_KEY_FILE, problem: errorMessage(error) });
    }
  }
  const key = givenKey ?? bundleKey;
  const keyed = { fingerprint: key ? fingerprint(key) : null, keySource: givenKey ? ('given' as const) : bundleKey ? ('bundle' as const) : null };
  const manifestBytes = contents.kept.get(MANIFEST_FILE);
  if (!manifestBytes) {
    problems.push({ file: MANIFEST_FILE, problem: 'missing: nothing says what the bundle holds, so nothing in it can be checked' });
    return { ...keyed, files: 0, problems };
  }
  const manifest = parseManifest(manifestBytes.toString('utf8'));

  // Whether the manifest is as signed: false only when a signature was checked and failed.
  let signed = true;
  const signature = contents.kept.get(SIGNATURE_FILE);
  if (!signature) problems.push({ file: SIGNATURE_FILE, problem: 'missing: the manifest is not signed' });
  else if (!key) problems.push({ file: SIGNATURE_FILE, problem: `cannot be checked: there is no ${PUBLIC_KEY_FILE}; pass --public-key` });
  else if (!givenKey && !('problem' in manifest) && manifest.key.fingerprint !== keyed.fingerprint) {
    // The bundle's own key is not the one its manifest names: the key file is what changed (the comparison below says so).
    problems.push({ file: SIGNATURE_FILE, problem: `cannot be checked: ${PUBLIC_KEY_FILE} is not the key the manifest names (${manifest.key.fingerprint}); pass --public-key` });
  } else {
    const verdict = signatureVerifies(manifestBytes, signature, key);
    if (verdict === 'unreadable') problems.push({ file: SIGNATURE_FILE, problem: 'not an Ed25519 signature (64 bytes in base64)' });
    else if (!verdict) {
      signed = false;
      const otherKey = givenKey && bundleKey && signatureVerifies(manifestBytes, signature, bundleKey) === true;
      problems.push(
        otherKey
          ? { file: SIGNATURE_FILE, problem: `made with another key than --public-key: the bundle was signed by ${fingerprint(bundleKey!)}, the key given is ${keyed.fingerprint}` }
          : { file: MANIFEST_FILE, problem: `does not match its signature (${SIGNATURE_FILE}) under the key ${keyed.fingerprint}: the manifest or its signature was changed after signing${givenKey ? ', or another key signed them' : ''}` },
      );
    }
  }

  if ('problem' in manifest) {
    problems.push({ file: MANIFEST_FILE, problem: `cannot be read: ${manifest.problem}` });
    return { ...keyed, files: 0, problems };
  }
  const base = { ...keyed, files: manifest.files.length, createdAt: manifest.createdAt };
  // A manifest that is not as signed cannot say which files are right.
  if (!signed) return { ...base, problems };
  const present = new Map(contents.files.map((file) => [file.path, file]));
  for (const listed of manifest.files) {
    const here = present.get(listed.path);
    if (!here) problems.push({ file: listed.path, problem: 'missing: the manifest lists it' });
    else if (here.sha256 !== listed.sha256 || here.bytes !== listed.bytes) problems.push({ file: listed.path, problem: `changed since signing: its sha256 is ${here.sha256}, the manifest says ${listed.sha256}` });
  }
  const listed = new Set(manifest.files.map((file) => file.path));
  for (const file of contents.files) {
    if (!listed.has(file.path) && file.path !== MANIFEST_FILE && file.path !== SIGNATURE_FILE) problems.push({ file: file.path, problem: 'not in the manifest: added after signing' });
  }
  return { ...base, problems };
}

/**
 * Checks the bundle at `path` against its manifest and the manifest against its signature,
 * with `publicKey` if given (the one its owner published), else the key in the bundle.
 * Throws a DrillSetupError only when there is nothing there to check.
 */
export async function verifyBundle(path: string, publicKey?: KeyObject): Promise<Verification> {
  const bundle = resolve(path);
  const info = await stat(bundle).catch((error: unknown) => {
    throw new DrillSetupError(`no bundle at ${bundle}: ${errorMessage(error)}`, HINT);
  });
  let contents: Contents;
  if (info.isDirectory()) contents = await readFolder(bundle);
  else if (ARCHIVE_SUFFIX.test(bundle)) contents = await readArchive(bundle, SPECIAL);
  else throw new DrillSetupError(`${bundle} is neither a bundle's folder nor a .tar.gz`, HINT);
  // An archive that breaks off says nothing reliable about what is in it: that is the finding.
  const result = contents.damaged
    ? { fingerprint: publicKey ? fingerprint(publicKey) : null, keySource: publicKey ? ('given' as const) : null, files: 0, problems: [contents.damaged] }
    : check(contents, publicKey);
  return { bundle, intact: result.problems.length === 0, ...result };
}
