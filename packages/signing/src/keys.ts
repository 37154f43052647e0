import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scrypt,
} from 'node:crypto';
import nacl from 'tweetnacl';
import { KeyError } from './errors.js';

/** cosign 2 writes SIGSTORE; keys made by cosign 1 say COSIGN. Both hold the same JSON. */
const ENCRYPTED_LABELS = ['ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY'];
const WRITTEN_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** cosign's own parameters, so a key we encrypt costs the same to open as one cosign made. */
const SCRYPT = { N: 65_536, r: 8, p: 1 };
/**
 * A key file is input, and scrypt spends 128·N·r bytes and p times the work on it: only what cosign writes
 * is opened (N 32768 from cosign 1, 65536 since), so a doctored file cannot make the derivation take
 * gigabytes or minutes before its password is even tried.
 */
const MAX_SCRYPT = { N: 65_536, r: 8, p: 1 };
const WRONG_PASSWORD =
  'the password for the cosign private key is wrong: give the password the key was encrypted with (empty if none was set)';

interface EncryptedKeyFile {
  kdf: { name: 'scrypt'; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function parsePem(pem: string): { label: string; der: Buffer } {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new KeyError(
      'the key is not PEM: expected a -----BEGIN …----- block as cosign generate-key-pair writes',
    );
  }
  return { label: match[1], der: Buffer.from(match[2].replace(/\s+/g, ''), 'base64') };
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function scryptKey(
  password: string,
  salt: Buffer,
  params: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      Buffer.from(password, 'utf8'),
      salt,
      nacl.secretbox.keyLength,
      // Node refuses anything above 32 MiB by default; scrypt needs 128·N·r bytes (64 MiB for cosign's).
      { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    ),
  );
}

function readEncryptedKeyFile(der: Buffer): EncryptedKeyFile {
  const unreadable = (why: string) =>
    new KeyError(
      `the encrypted cosign private key is unreadable: ${why}; regenerate it with cosign generate-key-pair`,
    );
  let file: EncryptedKeyFile;
  try {
    file = JSON.parse(der.toString('utf8')) as EncryptedKeyFile;
  } catch {
    throw unreadable('its body is not JSON');
  }
  if (file?.kdf?.name !== 'scrypt')
    throw unreadable(`the kdf is ${JSON.stringify(file?.kdf?.name)}, not scrypt`);
  if (file.cipher?.name !== 'nacl/secretbox') {
    throw unreadable(`the cipher is ${JSON.stringify(file.cipher?.name)}, not nacl/secretbox`);
  }
  const { N, r, p } = file.kdf.params ?? {};
  const upTo = (n: unknown, max: number) =>
    Number.isSafeInteger(n) && (n as number) > 0 && (n as number) <= max;
  if (
    !upTo(N, MAX_SCRYPT.N) ||
    N < 2 ||
    (N & (N - 1)) !== 0 ||
    !upTo(r, MAX_SCRYPT.r) ||
    !upTo(p, MAX_SCRYPT.p)
  ) {
    throw unreadable(
      `scrypt parameters ${JSON.stringify(file.kdf.params).slice(0, 200)} are out of range (cosign writes N up to ${MAX_SCRYPT.N}, a power of two, r ${MAX_SCRYPT.r} and p ${MAX_SCRYPT.p}); nothing was derived`,
    );
  }
  if (typeof file.kdf.salt !== 'string' || typeof file.cipher.nonce !== 'string') {
    throw unreadable('salt or nonce is missing');
  }
  if (typeof file.ciphertext !== 'string') throw unreadable('the ciphertext is missing');
  return file;
}

function requireP256(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const kind =
      key.asymmetricKeyType === 'ec'
        ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve}`
        : `a key of type ${key.asymmetricKeyType}`;
    throw new KeyError(`the ${what} is ${kind}: cosign-compatible signatures here need ECDSA P-256`);
  }
  return key;
}

/**
 * Reads a signing key: cosign's encrypted PEM (scrypt + NaCl secretbox), or a plain PKCS#8 / SEC1 EC PEM.
 * cosign treats a missing password as the empty one, and so does this.
 */
export async function loadPrivateKey(pem: string | Buffer, password = ''): Promise<KeyObject> {
  const text = pem.toString();
  const { label, der } = parsePem(text);
  if (!ENCRYPTED_LABELS.includes(label)) {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: text, format: 'pem', passphrase: password });
    } catch (error) {
      throw new KeyError(`the private key (${label}) could not be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return requireP256(key, 'private key');
  }

  const file = readEncryptedKeyFile(der);
  const secret = await scryptKey(password, Buffer.from(file.kdf.salt, 'base64'), file.kdf.params);
  const nonce = Buffer.from(file.cipher.nonce, 'base64');
  if (nonce.length !== nacl.secretbox.nonceLength) {
    throw new KeyError(`the encrypted cosign private key has a ${nonce.length}-byte nonce, expected 24`);
  }
  // tweetnacl returns null when the authenticator does not match, which is what a wrong password does.
  const plain = nacl.secretbox.open(Buffer.from(file.ciphertext, 'base64'), nonce, secret);
  if (plain === null) throw new KeyError(WRONG_PASSWORD);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new KeyError('the encrypted cosign private key decrypted, but not to a PKCS#8 private key', {
      cause: error,
    });
  }
  return requireP256(key, 'private key');
}

/** Reads a PEM public key (SPKI), as `cosign public-key` writes it. */
export function loadPublicKey(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem.toString(), format: 'pem' });
  } catch (error) {
    throw new KeyError(`the public key could not be read: ${(error as Error).message}`, { cause: error });
  }
  return requireP256(key, 'public key');
}

/** Encrypts a private key the way cosign does, so cosign (and loadPrivateKey) can open it with the password. */
export async function encryptPrivateKey(privateKey: KeyObject, password: string): Promise<string> {
  requireP256(privateKey, 'private key');
  if (privateKey.type !== 'private') throw new KeyError('encryptPrivateKey needs a private key');
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const secret = await scryptKey(password, salt, SCRYPT);
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const file: EncryptedKeyFile = {
    kdf: { name: 'scrypt', params: { ...SCRYPT }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(nacl.secretbox(der, nonce, secret)).toString('base64'),
  };
  return toPem(WRITTEN_LABEL, Buffer.from(JSON.stringify(file)));
}

export function generateKeyPair(): KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** Node's createPublicKey refuses a KeyObject that is already public. */
function publicHalf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

/** The SPKI PEM of a key (a private key gives its public half). */
export function publicKeyPem(key: KeyObject): string {
  return publicHalf(key).export({ format: 'pem', type: 'spki' }).toString();
}

/**
 * A stable name for a public key: sha256 of its SPKI DER, in hex. It is the DSSE `keyid` and bundle key
 * hint here, and lets a rejection say "signed by another key" rather than only "does not verify".
 */
export function keyId(key: KeyObject): string {
  const der = publicHalf(key).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('hex');
}
