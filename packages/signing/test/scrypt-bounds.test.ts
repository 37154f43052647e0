/**
 * Issue 13, item 10: the scrypt parameters of an encrypted key file are input. Only what cosign writes
 * (N up to 65536, r 8, p 1) is derived; anything larger is refused before scrypt runs, so a doctored key
 * cannot spend the runner's memory and minutes.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import nacl from 'tweetnacl';
import { generateKeyPair, KeyError, keyId, loadPrivateKey } from '../src/index.js';

const password = 'correct horse';

/** An encrypted key file as cosign lays it out, derived with `params`. */
function encryptedKey(params: { N: number; r: number; p: number }, derive = true) {
  const { privateKey } = generateKeyPair();
  const salt = randomBytes(32);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  // A key never meant to open is sealed with a random secret: deriving its huge parameters is the attack.
  const secret = derive
    ? scryptSync(password, salt, nacl.secretbox.keyLength, { ...params, maxmem: 256 * params.N * params.r })
    : randomBytes(nacl.secretbox.keyLength);
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const body = JSON.stringify({
    kdf: { name: 'scrypt', params, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(nacl.secretbox(der, nonce, secret)).toString('base64'),
  });
  const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(body).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
  return { pem, privateKey };
}

const refusal = (params: object) =>
  new KeyError(
    `the encrypted cosign private key is unreadable: scrypt parameters ${JSON.stringify(params)} are out of range (cosign writes N up to 65536, a power of two, r 8 and p 1); nothing was derived; regenerate it with cosign generate-key-pair`,
  );

describe('scrypt parameters of an encrypted cosign key', () => {
  test.each([
    ['N twice what cosign writes', { N: 131_072, r: 8, p: 1 }],
    ['a larger block size r', { N: 65_536, r: 16, p: 1 }],
    ['parallel lanes p', { N: 65_536, r: 8, p: 4 }],
    ['N that is not a power of two', { N: 65_535, r: 8, p: 1 }],
  ])('refuses %s before deriving', async (_name, params) => {
    const { pem } = encryptedKey(params, false);
    await expect(loadPrivateKey(pem, password)).rejects.toThrow(refusal(params));
  });

  test("opens a key with cosign 1's parameters (N 32768)", async () => {
    const { pem, privateKey } = encryptedKey({ N: 32_768, r: 8, p: 1 });
    expect(keyId(await loadPrivateKey(pem, password))).toBe(keyId(privateKey));
  });
});
