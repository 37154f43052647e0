import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import {
  encryptPrivateKey,
  generateKeyPair,
  KeyError,
  keyId,
  loadPrivateKey,
  loadPublicKey,
  publicKeyPem,
} from '../src/index.js';
import { corpusFile } from './corpus.js';

const corpusKey = corpusFile('encrypted-key/cosign.key').toString();
const corpusPub = corpusFile('encrypted-key/cosign.pub').toString();

function pemBody(pem: string): unknown {
  const base64 = pem
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join('');
  return JSON.parse(Buffer.from(base64, 'base64').toString());
}

describe('cosign encrypted private keys', () => {
  test('decrypts the real cosign key with its empty password to the key of its cosign.pub', async () => {
    const key = await loadPrivateKey(corpusKey, '');
    expect(key.type).toBe('private');
    expect(publicKeyPem(key)).toBe(corpusPub);
    expect(keyId(key)).toBe(keyId(loadPublicKey(corpusPub)));
  });

  test('treats a missing password as the empty one, as cosign does', async () => {
    const key = await loadPrivateKey(corpusKey);
    expect(publicKeyPem(key)).toBe(corpusPub);
  });

  test('a key we encrypt has cosign’s layout and opens only with its password', async () => {
    const { privateKey } = generateKeyPair();
    const pem = await encryptPrivateKey(privateKey, 'correct horse');
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    expect(pem.split('\n').every((line) => line.length <= 64)).toBe(true);
    expect(pemBody(pem)).toEqual({
      kdf: { name: 'scrypt', params: { N: 65536, r: 8, p: 1 }, salt: expect.any(String) },
      cipher: { name: 'nacl/secretbox', nonce: expect.any(String) },
      ciphertext: expect.any(String),
    });

    const opened = await loadPrivateKey(pem, 'correct horse');
    expect(keyId(opened)).toBe(keyId(privateKey));
    await expect(loadPrivateKey(pem, 'wrong horse')).rejects.toThrow(
      new KeyError(
        'the password for the cosign private key is wrong: give the password the key was encrypted with (empty if none was set)',
      ),
    );
  });

  test('reports a wrong password for the real cosign key as a KeyError, not a crypto failure', async () => {
    const error = await loadPrivateKey(corpusKey, 'not-empty').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyError);
    expect((error as Error).message).toMatch(/^the password for the cosign private key is wrong/);
  });

  test('accepts the older ENCRYPTED COSIGN PRIVATE KEY label', async () => {
    const relabelled = corpusKey.replaceAll('ENCRYPTED SIGSTORE PRIVATE KEY', 'ENCRYPTED COSIGN PRIVATE KEY');
    expect(publicKeyPem(await loadPrivateKey(relabelled, ''))).toBe(corpusPub);
  });

  test('refuses scrypt parameters that would exhaust memory before deriving anything', async () => {
    const file = pemBody(corpusKey) as { kdf: { params: { N: number } } };
    file.kdf.params.N = 2 ** 30;
    const body = Buffer.from(JSON.stringify(file)).toString('base64');
    const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${body}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    await expect(loadPrivateKey(pem, '')).rejects.toThrow(/scrypt parameters .* are out of range/);
  });
});

describe('plain keys', () => {
  test('loads a PKCS#8 and a SEC1 EC private key', async () => {
    const { privateKey } = generateKeyPair();
    const pkcs8 = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const sec1 = privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    expect(keyId(await loadPrivateKey(pkcs8))).toBe(keyId(privateKey));
    expect(keyId(await loadPrivateKey(sec1))).toBe(keyId(privateKey));
  });

  test('refuses keys that are not ECDSA P-256', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    await expect(loadPrivateKey(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }))).rejects.toThrow(
      'the private key is a key of type rsa: cosign-compatible signatures here need ECDSA P-256',
    );
    expect(() => loadPublicKey(p384.publicKey.export({ format: 'pem', type: 'spki' }))).toThrow(
      'the public key is an EC key on secp384r1: cosign-compatible signatures here need ECDSA P-256',
    );
  });

  test('says what is wrong with text that is not PEM', async () => {
    await expect(loadPrivateKey('hello')).rejects.toThrow(KeyError);
    expect(() => loadPublicKey('hello')).toThrow(/^the public key could not be read/);
  });

  test('keyId is the sha256 of the SPKI DER, the same from either half of a pair', () => {
    const { privateKey, publicKey } = generateKeyPair();
    expect(keyId(privateKey)).toMatch(/^[a-f0-9]{64}$/);
    expect(keyId(privateKey)).toBe(keyId(publicKey));
  });
});
