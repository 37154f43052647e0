import { execFile } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LocalRegistry, type RegistryMode, startRegistry } from '@digestline/local';
import { type ImageManifest, MediaType, RegistryClient, RegistryError } from '@digestline/oci';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { buildImage, pushRandomImage, type RegistryTarget } from '../../../test/harness/images.js';
import {
  attach,
  encryptPrivateKey,
  generateKeyPair,
  imageSubject,
  KEY_ID_ANNOTATION,
  keyId,
  keySigner,
  listAttestations,
  loadPrivateKey,
  loadPublicKey,
  PredicateType,
  provenanceStatement,
  publicKeyPem,
  type SerializedBundle,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  sbomStatement,
  signatureTag,
  signImage,
  signStatement,
  verifyAttestations,
  verifyBundle,
  verifyImage,
} from '../src/index.js';
import { corpusFile } from './corpus.js';
import { github, spdx } from './fixtures.js';

const run = promisify(execFile);

function targetOf(registry: LocalRegistry): RegistryTarget {
  return {
    host: registry.host,
    tls: registry.tls,
    certDir: registry.certDir,
    username: registry.username,
    password: registry.password,
  };
}

function clientOf(registry: LocalRegistry): RegistryClient {
  return new RegistryClient(registry.host, {
    ...(registry.username === undefined
      ? {}
      : { credentials: { username: registry.username, password: registry.password ?? '' } }),
    ...(registry.caCertPem === undefined ? {} : { ca: registry.caCertPem, tls: true }),
  });
}

async function signatureManifest(client: RegistryClient, repository: string, digest: string) {
  const { bytes, mediaType } = await client.getManifest(repository, signatureTag(digest));
  return { mediaType, manifest: JSON.parse(bytes.toString()) as ImageManifest };
}

/** Rewrites the signature manifest of an image, as someone with push access to the repository could. */
async function rewriteSignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
  change: (manifest: ImageManifest) => Promise<ImageManifest> | ImageManifest,
): Promise<void> {
  const { manifest, mediaType } = await signatureManifest(client, repository, digest);
  const changed = await change(manifest);
  await client.putManifest(repository, signatureTag(digest), Buffer.from(JSON.stringify(changed)), mediaType);
}

/** Keys are opened once: each scrypt derivation at cosign's parameters costs about half a second. */
let corpusKey: KeyObject;
let corpusPub: KeyObject;
let ourKey: KeyObject;
let ourPub: KeyObject;

beforeAll(async () => {
  corpusKey = await loadPrivateKey(corpusFile('encrypted-key/cosign.key'), '');
  corpusPub = loadPublicKey(corpusFile('encrypted-key/cosign.pub'));
  const pair = generateKeyPair();
  ourKey = await loadPrivateKey(
    await encryptPrivateKey(pair.privateKey, 's3cret passphrase'),
    's3cret passphrase',
  );
  ourPub = pair.publicKey;
});

describe('cosign signatures in a real registry (open)', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let image: { repository: string; digest: string };

  beforeAll(async () => {
    registry = await startRegistry({ mode: 'open' });
    client = clientOf(registry);
    image = await buildImage(targetOf(registry), {
      repository: 'team/app',
      tag: 'v1',
      files: { 'app/hello.txt': 'hello from digestline\n' },
    });
  });
  afterAll(async () => {
    await client?.close();
    await registry?.stop();
  });

  test('signing with two encrypted cosign-format keys appends a layer each, and a repeat adds nothing', async () => {
    const first = await signImage(client, image.repository, image.digest, corpusKey);
    expect(first).toMatchObject({ tag: signatureTag(image.digest), appended: true });
    expect(first.tag).toBe(`sha256-${image.digest.slice(7)}.sig`);

    const second = await signImage(client, image.repository, image.digest, ourKey, {
      annotations: { 'ci.run': '42' },
    });
    expect(second.appended).toBe(true);

    const { manifest, mediaType } = await signatureManifest(client, image.repository, image.digest);
    expect(mediaType).toBe(MediaType.ociManifest);
    expect(manifest.config.mediaType).toBe(MediaType.ociConfig);
    expect(manifest.layers).toHaveLength(2);
    expect(manifest.layers[0]).toEqual(first.layer);
    expect(manifest.layers[1]).toEqual(second.layer);
    expect(manifest.layers.map((l) => l.annotations?.[KEY_ID_ANNOTATION])).toEqual([
      keyId(corpusPub),
      keyId(ourPub),
    ]);
    for (const layer of manifest.layers) {
      expect(layer.mediaType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
      expect(layer.annotations?.[SIGNATURE_ANNOTATION]).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }

    const again = await signImage(client, image.repository, image.digest, corpusKey);
    expect(again).toMatchObject({ appended: false, signatureDigest: second.signatureDigest });
    expect((await signatureManifest(client, image.repository, image.digest)).manifest.layers).toHaveLength(2);
  });

  test('each signature verifies with its own key, and the other is rejected as an untrusted key', async () => {
    const onlyCorpus = await verifyImage(client, image.repository, image.digest, corpusPub, {
      reference: `${registry.host}/team/app`,
    });
    expect(onlyCorpus.verified.map((c) => c.keyId)).toEqual([keyId(corpusPub)]);
    expect(onlyCorpus.rejected).toHaveLength(1);
    expect(onlyCorpus.rejected[0]).toMatchObject({
      ok: false,
      reason: 'untrusted-key',
      message: `signed by key ${keyId(ourPub)}, which is not one of the 1 trusted key(s)`,
    });

    const both = await verifyImage(client, image.repository, image.digest, [corpusPub, ourPub]);
    expect(both.verified.map((c) => c.keyId)).toEqual([keyId(corpusPub), keyId(ourPub)]);
    expect(both.verified[1]?.payload?.optional).toEqual({ 'ci.run': '42' });
    expect(both.rejected).toEqual([]);
  });

  test('a stored signature verifies with plain OpenSSL over the payload blob', async () => {
    const { manifest } = await signatureManifest(client, image.repository, image.digest);
    const layer = manifest.layers[1];
    if (layer === undefined) throw new Error('no second signature layer');
    const dir = await mkdtemp(join(tmpdir(), 'digestline-openssl-'));
    try {
      await writeFile(join(dir, 'pub.pem'), publicKeyPem(ourPub));
      const signature = layer.annotations?.[SIGNATURE_ANNOTATION] ?? '';
      await writeFile(join(dir, 'sig.der'), Buffer.from(signature, 'base64'));
      await writeFile(join(dir, 'payload.json'), await client.getBlob(image.repository, layer.digest));
      const args = ['dgst', '-sha256', '-verify', 'pub.pem', '-signature', 'sig.der', 'payload.json'];
      const { stdout } = await run('openssl', args, { cwd: dir });
      expect(stdout.trim()).toBe('Verified OK');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a payload for another repository is rejected when a reference is asked for', async () => {
    const result = await verifyImage(client, image.repository, image.digest, corpusPub, {
      reference: 'ghcr.io/someone/else',
    });
    expect(result.verified).toEqual([]);
    expect(result.rejected.map((c) => c.reason)).toEqual(['reference-mismatch', 'untrusted-key']);
  });

  test('a payload changed after signing is reported as tampered, not as a wrong key', async () => {
    const victim = await pushRandomImage(targetOf(registry), {
      repository: 'team/tamper',
      tag: 'v1',
      layers: 1,
      totalBytes: 64,
    });
    await signImage(client, victim.repository, victim.digest, ourKey);
    await rewriteSignatures(client, victim.repository, victim.digest, async (manifest) => {
      const [layer] = manifest.layers;
      if (layer === undefined) throw new Error('no signature layer');
      const payload = JSON.parse((await client.getBlob(victim.repository, layer.digest)).toString());
      payload.optional = { approved: 'yes' };
      const blob = await client.pushBlob(victim.repository, JSON.stringify(payload));
      return { ...manifest, layers: [{ ...layer, digest: blob.digest, size: blob.size }] };
    });
    const result = await verifyImage(client, victim.repository, victim.digest, ourPub);
    expect(result.verified).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatchObject({ reason: 'tampered-payload' });
    expect(result.rejected[0]?.message).toMatch(/was changed after signing$/);
  });

  test('a good signature copied onto another image is a digest mismatch', async () => {
    const other = await pushRandomImage(targetOf(registry), {
      repository: 'team/app',
      tag: 'other',
      layers: 1,
      totalBytes: 64,
    });
    const donor = await signatureManifest(client, image.repository, image.digest);
    await signImage(client, other.repository, other.digest, ourKey);
    await rewriteSignatures(client, other.repository, other.digest, (manifest) => ({
      ...manifest,
      layers: [...manifest.layers, ...donor.manifest.layers.slice(0, 1)],
    }));
    const result = await verifyImage(client, other.repository, other.digest, [corpusPub, ourPub]);
    expect(result.verified).toHaveLength(1);
    expect(result.rejected).toEqual([
      expect.objectContaining({
        reason: 'digest-mismatch',
        keyId: keyId(corpusPub),
        message: `the signature is for image ${image.digest}, not ${other.digest}`,
      }),
    ]);
  });

  test('an unsigned image has no signatures, and signing a missing digest is refused', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    expect(await verifyImage(client, image.repository, missing, corpusPub)).toEqual({
      tag: signatureTag(missing),
      signatureDigest: undefined,
      verified: [],
      rejected: [],
    });
    await expect(signImage(client, image.repository, missing, corpusKey)).rejects.toThrow(
      /does not exist: push the image before signing it/,
    );
  });

  test('refuses to append to a signature tag that holds something other than an image manifest', async () => {
    const squatted = await pushRandomImage(targetOf(registry), {
      repository: 'team/app',
      tag: 'squatted',
      layers: 1,
      totalBytes: 16,
    });
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    await client.putManifest(
      image.repository,
      signatureTag(squatted.digest),
      Buffer.from(JSON.stringify(index)),
      MediaType.ociIndex,
    );
    await expect(signImage(client, image.repository, squatted.digest, corpusKey)).rejects.toThrow(
      /holds a application\/vnd.oci.image.index.v1\+json, not a cosign signature manifest/,
    );
  });

  test('SBOM and provenance bundles are stored as referrers, listed, verified back, and a tampered one is rejected', async () => {
    const subject = imageSubject(`${registry.host}/${image.repository}`, image.digest);
    const signer = keySigner(ourKey);
    const sbom = await signStatement(sbomStatement(subject, spdx), signer);
    const provenance = await signStatement(provenanceStatement(subject, github), signer);
    const sbomRef = await attach(client, image.repository, image.digest, sbom);
    const provenanceRef = await attach(client, image.repository, image.digest, provenance);
    expect(await attach(client, image.repository, image.digest, sbom)).toEqual(sbomRef);

    // distribution 2.8 has no referrers API: the client keeps the OCI fallback tag instead.
    expect(await client.listTags(image.repository)).toContain(`sha256-${image.digest.slice(7)}`);

    const all = await listAttestations(client, image.repository, image.digest);
    expect(all.map((a) => a.digest).sort()).toEqual([sbomRef.digest, provenanceRef.digest].sort());
    const onlyProvenance = await listAttestations(
      client,
      image.repository,
      image.digest,
      PredicateType.slsaProvenance,
    );
    expect(onlyProvenance.map((a) => a.digest)).toEqual([provenanceRef.digest]);
    const [stored] = onlyProvenance;
    if (stored === undefined) throw new Error('the provenance attestation was not listed');
    const back = verifyBundle(stored.bundle, ourPub, { subjectDigest: image.digest });
    expect(back.statement.predicate).toEqual(provenanceStatement(subject, github).predicate);

    const envelope = sbom.dsseEnvelope;
    if (envelope === undefined) throw new Error('the SBOM bundle has no envelope');
    const forged = JSON.parse(Buffer.from(envelope.payload, 'base64').toString());
    forged.predicate.packages = [{ name: 'nothing-to-see', SPDXID: 'SPDXRef-x' }];
    const tampered = {
      ...sbom,
      dsseEnvelope: { ...envelope, payload: Buffer.from(JSON.stringify(forged)).toString('base64') },
    } as SerializedBundle;
    const tamperedRef = await attach(client, image.repository, image.digest, tampered);

    const checked = await verifyAttestations(client, image.repository, image.digest, ourPub);
    expect(checked.verified.map((v) => v.statement.predicateType).sort()).toEqual(
      [PredicateType.spdx, PredicateType.slsaProvenance].sort(),
    );
    expect(checked.rejected.map((r) => [r.digest, r.error.reason])).toEqual([
      [tamperedRef.digest, 'tampered'],
    ]);
    const sbomOnly = await verifyAttestations(
      client,
      image.repository,
      image.digest,
      ourPub,
      PredicateType.spdx,
    );
    expect(sbomOnly.verified.map((v) => v.digest)).toEqual([sbomRef.digest]);
  });
});

function readerOf(registry: LocalRegistry): RegistryClient {
  return new RegistryClient(registry.host, {
    credentials: registry.readOnlyUser,
    ...(registry.caCertPem === undefined ? {} : { ca: registry.caCertPem, tls: true }),
  });
}

describe.each<RegistryMode>(['basic', 'token'])('signing and attesting with %s auth', (mode) => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let reader: RegistryClient;

  beforeAll(async () => {
    registry = await startRegistry({ mode });
    client = clientOf(registry);
    reader = readerOf(registry);
  });
  afterAll(async () => {
    await Promise.all([client?.close(), reader?.close()]);
    await registry?.stop();
  });

  test('signs, attaches an attestation, and a pull-only user verifies both', async () => {
    const image = await pushRandomImage(targetOf(registry), {
      repository: 'team/auth',
      tag: 'v1',
      layers: 1,
      totalBytes: 128,
    });
    await signImage(client, image.repository, image.digest, corpusKey);
    const subject = imageSubject(`${registry.host}/${image.repository}`, image.digest);
    const bundle = await signStatement(sbomStatement(subject, spdx), keySigner(corpusKey));
    const { digest } = await attach(client, image.repository, image.digest, bundle);

    const result = await verifyImage(reader, image.repository, image.digest, corpusPub);
    expect(result.verified.map((c) => c.keyId)).toEqual([keyId(corpusPub)]);
    const checked = await verifyAttestations(reader, image.repository, image.digest, corpusPub);
    expect(checked.verified.map((v) => v.digest)).toEqual([digest]);
    if (mode === 'token') {
      const scopes = registry.tokenRequests?.().flatMap((r) => r.scope) ?? [];
      expect(scopes).toContain(`repository:${image.repository}:pull,push`);
    }
  });
});

describe('token auth that grants pull only', () => {
  let registry: LocalRegistry;
  let client: RegistryClient;
  let reader: RegistryClient;

  beforeAll(async () => {
    registry = await startRegistry({ mode: 'token' });
    client = clientOf(registry);
    reader = readerOf(registry);
  });
  afterAll(async () => {
    await Promise.all([client?.close(), reader?.close()]);
    await registry?.stop();
  });

  test('refuses to sign and leaves the existing signatures as they were', async () => {
    const image = await pushRandomImage(targetOf(registry), {
      repository: 'team/readonly',
      tag: 'v1',
      layers: 1,
      totalBytes: 32,
    });
    const signed = await signImage(client, image.repository, image.digest, ourKey);
    const error = await signImage(reader, image.repository, image.digest, corpusKey).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).status).toBe(401);
    expect((error as Error).message).toMatch(/not allowed to push/);
    const after = await verifyImage(reader, image.repository, image.digest, [ourPub, corpusPub]);
    expect(after.signatureDigest).toBe(signed.signatureDigest);
    expect(after.verified.map((c) => c.keyId)).toEqual([keyId(ourPub)]);
  });
});
