import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from '@jest/globals';
import {
  generateKeyPair,
  keyId,
  loadPublicKey,
  PayloadError,
  parseSimpleSigningPayload,
  publicKeyPem,
  signPayload,
  simpleSigningPayload,
  verifyPayload,
} from '../src/index.js';
import { corpusFile, corpusSignature } from './corpus.js';

const run = promisify(execFile);
const cosignPub = loadPublicKey(corpusFile('key-valid/cosign.pub'));
const cosign2Pub = loadPublicKey(corpusFile('key-rekor-valid/cosign2.pub'));
const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

describe('the real cosign signatures in the corpus', () => {
  test('key-valid verifies with cosign.pub, for the digest of its image manifest', () => {
    const { payload, signature, digest, reference } = corpusSignature('key-valid');
    const check = verifyPayload(payload, signature, cosignPub, { digest, reference });
    expect(check).toMatchObject({ ok: true, keyId: keyId(cosignPub) });
    expect(check.payload).toEqual({
      reference: '192.168.64.2:5000/cosign-signed-single-sample',
      digest: 'sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00',
      optional: null,
    });
  });

  test('key-rekor-valid verifies with cosign2.pub and is rejected with cosign.pub', () => {
    const { payload, signature, digest } = corpusSignature('key-rekor-valid');
    expect(verifyPayload(payload, signature, cosign2Pub, { digest }).ok).toBe(true);
    expect(verifyPayload(payload, signature, cosignPub, { digest })).toEqual({
      ok: false,
      reason: 'bad-signature',
      message:
        'the signature does not verify with any of the 1 trusted key(s): it was made by another key or changed after signing',
    });
  });

  test('any one of several trusted keys is enough, and the result names which', () => {
    const { payload, signature, digest } = corpusSignature('key-rekor-valid');
    const check = verifyPayload(payload, signature, [cosignPub, cosign2Pub], { digest });
    expect(check).toMatchObject({ ok: true, keyId: keyId(cosign2Pub) });
  });

  test('a good signature for another image is a digest mismatch', () => {
    const { payload, signature } = corpusSignature('key-valid');
    const other = corpusSignature('key-rekor-valid').digest;
    expect(verifyPayload(payload, signature, cosignPub, { digest: other })).toMatchObject({
      ok: false,
      reason: 'digest-mismatch',
      message: `the signature is for image sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00, not ${other}`,
    });
  });

  test('a good signature for another repository is a reference mismatch, when a reference is asked for', () => {
    const { payload, signature, digest } = corpusSignature('key-valid');
    expect(
      verifyPayload(payload, signature, cosignPub, { digest, reference: 'ghcr.io/org/app' }),
    ).toMatchObject({ ok: false, reason: 'reference-mismatch' });
  });

  test('one changed byte of the payload breaks the signature', () => {
    const { payload, signature, digest } = corpusSignature('key-valid');
    const changed = Buffer.from(payload.toString().replace('single-sample', 'single-sampld'));
    expect(verifyPayload(changed, signature, cosignPub, { digest })).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
  });

  test('our payload for the same image is byte for byte the payload cosign signed', () => {
    for (const name of ['key-valid', 'key-rekor-valid'] as const) {
      const { payload, digest, reference } = corpusSignature(name);
      expect(simpleSigningPayload(reference, digest).equals(payload)).toBe(true);
    }
  });
});

describe('signatures we make', () => {
  const digest = digestOf('an image manifest');
  const reference = '127.0.0.1:5000/team/app';

  test('verify with plain OpenSSL over the payload bytes, as cosign verify --key does', async () => {
    const { privateKey } = generateKeyPair();
    const payload = simpleSigningPayload(reference, digest, { 'ci.run': '42' });
    const signature = signPayload(payload, privateKey);
    const dir = await mkdtemp(join(tmpdir(), 'digestline-openssl-'));
    try {
      await writeFile(join(dir, 'pub.pem'), publicKeyPem(privateKey));
      await writeFile(join(dir, 'sig.der'), Buffer.from(signature, 'base64'));
      await writeFile(join(dir, 'payload.json'), payload);
      const { stdout } = await run(
        'openssl',
        ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.der', 'payload.json'],
        { cwd: dir },
      );
      expect(stdout.trim()).toBe('Verified OK');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('carry optional claims that read back', () => {
    const payload = simpleSigningPayload(reference, digest, { 'ci.run': '42' });
    expect(JSON.parse(payload.toString())).toEqual({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: { 'ci.run': '42' },
    });
    expect(parseSimpleSigningPayload(payload).optional).toEqual({ 'ci.run': '42' });
  });

  test('a recorded key id tells a wrong key from a tampered payload', () => {
    const signer = generateKeyPair();
    const trusted = generateKeyPair();
    const payload = simpleSigningPayload(reference, digest);
    const signature = signPayload(payload, signer.privateKey);

    expect(verifyPayload(payload, signature, trusted.publicKey, { digest }, keyId(signer.publicKey))).toEqual(
      {
        ok: false,
        reason: 'untrusted-key',
        message: `signed by key ${keyId(signer.publicKey)}, which is not one of the 1 trusted key(s)`,
      },
    );
    const tampered = Buffer.from(payload.toString().replace('team/app', 'team/evil'));
    expect(
      verifyPayload(tampered, signature, signer.publicKey, { digest }, keyId(signer.publicKey)),
    ).toMatchObject({
      ok: false,
      reason: 'tampered-payload',
    });
    // The claim alone never verifies anything: the same claim over a good payload passes on the signature.
    expect(verifyPayload(payload, signature, signer.publicKey, { digest }, 'forged').ok).toBe(true);
  });

  test('a signature that is not base64 is reported as such', () => {
    const payload = simpleSigningPayload(reference, digest);
    expect(verifyPayload(payload, 'not base64!', cosignPub, { digest })).toMatchObject({
      ok: false,
      reason: 'malformed-signature',
    });
  });

  test('a correctly signed document that is not a simple-signing payload is a malformed payload', () => {
    const { privateKey, publicKey } = generateKeyPair();
    const document = Buffer.from(JSON.stringify({ critical: { type: 'something else' } }));
    expect(verifyPayload(document, signPayload(document, privateKey), publicKey, { digest })).toMatchObject({
      ok: false,
      reason: 'malformed-payload',
      message: 'the payload type is "something else", not "cosign container image signature"',
    });
  });

  test('refuses to build a payload for a digest or reference cosign would not accept', () => {
    expect(() => simpleSigningPayload(reference, 'sha256:abc')).toThrow(PayloadError);
    expect(() => simpleSigningPayload(`${reference}@${digest}`, digest)).toThrow(/without tag or digest/);
  });
});
