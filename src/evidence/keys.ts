import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DrillSetupError, errorMessage } from '../util/errors.js';

/**
 * Ed25519 keys for evidence bundles, with node:crypto only. The private key signs a bundle's
 * manifest; the public key travels in the bundle, and its fingerprint is what an auditor
 * compares with one the key's owner published elsewhere — a key in the bundle alone proves
 * only that whoever made the bundle signed it.
 */

/** Where the signing key's PEM text can be instead of a file: a CI secret is text. */
export const KEY_ENV = 'FIREDRILL_EVIDENCE_KEY';

const KEYGEN_HINT = 'make one with `firedrill evidence keygen` (or `openssl genpkey -algorithm ed25519 -out evidence-key.pem`)';

/**
 * sha256 of the public key's DER SubjectPublicKeyInfo, in hex: what
 * `openssl pkey -pubin -in public-key.pem -outform DER | sha256sum` prints, so an auditor can
 * compute it without firedrill.
 */
export function fingerprint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

export function publicKeyPem(key: KeyObject): string {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'pem' }).toString();
}

function ed25519(key: KeyObject, where: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new DrillSetupError(`${where} is an ${key.asymmetricKeyType ?? 'unknown'} key; evidence is signed with Ed25519`, KEYGEN_HINT);
  return key;
}

async function readKeyFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new DrillSetupError(`cannot read the ${what} ${file}: ${errorMessage(error)}`, 'check the path and that this user may read it');
  }
}

/** The signing key: the PEM file given, else the PEM text in FIREDRILL_EVIDENCE_KEY. */
export async function signingKey(file: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Promise<KeyObject> {
  const text = file ? await readKeyFile(file, 'private key') : env[KEY_ENV];
  const where = file ?? `$${KEY_ENV}`;
  if (!text) {
    throw new DrillSetupError(
      'no signing key: an evidence bundle is signed, so that an auditor can tell nothing in it changed since',
      `pass --key FILE (a PEM private key) or put its text in ${KEY_ENV}; ${KEYGEN_HINT}, and publish its fingerprint where auditors can find it`,
    );
  }
  try {
    return ed25519(createPrivateKey(text), where);
  } catch (error) {
    if (error instanceof DrillSetupError) throw error;
    throw new DrillSetupError(`${where} is not a private key firedrill can read: ${errorMessage(error)}`, `give an unencrypted PEM private key ("-----BEGIN PRIVATE KEY-----"); ${KEYGEN_HINT}`);
  }
}

/** A public key from PEM text; `where` names it in the error. */
export function parsePublicKey(text: string | Buffer, where: string): KeyObject {
  try {
    return ed25519(createPublicKey(text), where);
  } catch (error) {
    if (error instanceof DrillSetupError) throw error;
    throw new DrillSetupError(`${where} is not a public key firedrill can read: ${errorMessage(error)}`, 'give the PEM public key ("-----BEGIN PUBLIC KEY-----") its owner published');
  }
}

export async function readPublicKey(file: string): Promise<KeyObject> {
  return parsePublicKey(await readKeyFile(file, 'public key'), file);
}

/** The signature of `data`, as a line of base64 (`base64 -d` makes it the raw 64 bytes openssl verifies). */
export function signData(data: Buffer, key: KeyObject): string {
  return `${sign(null, data, key).toString('base64')}\n`;
}

// An Ed25519 signature is 64 bytes: 86 base64 characters and two of padding.
const SIGNATURE_TEXT = /^[A-Za-z0-9+/]{86}==$/;

/** Whether `signature` (as signData wrote it) verifies `data` under `key`; `unreadable` when it is not a signature at all. */
export function signatureVerifies(data: Buffer, signature: Buffer, key: KeyObject): boolean | 'unreadable' {
  const text = signature.toString('utf8').trim();
  if (!SIGNATURE_TEXT.test(text)) return 'unreadable';
  return verify(null, data, key, Buffer.from(text, 'base64'));
}

/** A new key pair, as PEM. */
export function generateSigningKey(): { privatePem: string; publicPem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKeyPem(publicKey),
    fingerprint: fingerprint(publicKey),
  };
}
