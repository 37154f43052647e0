import { randomBytes } from 'node:crypto';
import {
  githubClaims,
  type LocalOidcIssuer,
  type LocalRegistry,
  type LocalSigstore,
  startOidcIssuer,
  startRegistry,
  startSigstore,
} from '@digestline/local';
import { type ImageManifest, MediaType, RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  attach,
  BUNDLE_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  type GitHubAttestations,
  generateKeyPair,
  identityPolicy,
  imageSubject,
  keylessSigner,
  keySigner,
  listAttestations,
  signatureTag,
  signImageKeyless,
  signStatement,
  statement,
  type TrustRoot,
  trustRootFromJSON,
  verifyAttestationsWith,
  verifyImageKeyless,
  writeLegacySignature,
} from '../src/index.js';

const BUILD = 'https://github.com/octo/app/.github/workflows/build.yml@refs/heads/main';
const NAMES = { identity: 'identity', identityRegExp: 'regexp', issuer: 'issuer' };
const REPOSITORY = 'octo/app';

let registry: LocalRegistry;
let issuer: LocalOidcIssuer;
let sigstore: LocalSigstore;
let client: RegistryClient;
let trust: TrustRoot;

const buildJob = githubClaims({ repository: 'octo/app', workflowFile: 'build.yml' });
const promoteJob = githubClaims({
  repository: 'octo/app',
  workflowFile: 'promote.yml',
  environment: 'production',
});
const signerFor = (claims = buildJob) =>
  keylessSigner(
    { getToken: async (audience) => issuer.mint(claims, audience) },
    { fulcioURL: sigstore.url, rekorURL: sigstore.url, tsaURL: sigstore.url },
  );
const policy = (identity = BUILD) => identityPolicy({ identity, issuer: issuer.issuer }, NAMES);

/** A small image pushed by digest: a config and one random layer. */
async function pushImage(): Promise<string> {
  const layer = await client.pushBlob(REPOSITORY, randomBytes(64));
  const config = await client.pushBlob(REPOSITORY, JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const { digest } = await client.putManifest(REPOSITORY, 'scratch', bytes, MediaType.ociManifest);
  return digest;
}

/** GitHub's attestations API as a list in memory: what the action's octokit implementation stands for. */
function memoryAttestations(): GitHubAttestations & { stored: SerializedBundle[] } {
  const stored: SerializedBundle[] = [];
  return {
    repository: 'octo/app',
    stored,
    write: async (bundle) => {
      stored.push(bundle);
      return { id: stored.length };
    },
    list: async (digest) =>
      stored.filter((b) =>
        JSON.parse(Buffer.from(b.dsseEnvelope?.payload ?? '', 'base64').toString()).subject.some(
          (s: { digest: { sha256: string } }) => `sha256:${s.digest.sha256}` === digest,
        ),
      ),
  };
}

beforeAll(async () => {
  issuer = await startOidcIssuer();
  [registry, sigstore] = await Promise.all([startRegistry(), startSigstore({ issuers: [issuer] })]);
  client = new RegistryClient(registry.host);
  trust = trustRootFromJSON(sigstore.trustedRoot, 'the local Sigstore');
});
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), sigstore?.stop(), issuer?.stop()]);
});

describe('a keyless image signature in the registry', () => {
  test('is a cosign 3 referrer bundle that an independent @sigstore/verify accepts', async () => {
    const digest = await pushImage();
    const github = memoryAttestations();
    const signed = await signImageKeyless(client, REPOSITORY, digest, signerFor(), { github });
    expect(signed.identity).toBe(BUILD);
    expect(signed.legacy?.tag).toBe(signatureTag(digest));
    expect(signed.attestationId).toBe(1);

    const referrers = await client.referrers(REPOSITORY, digest, { artifactType: BUNDLE_MEDIA_TYPE });
    expect(referrers.map((r) => r.digest)).toContain(signed.referrer);
    const [stored] = await listAttestations(client, REPOSITORY, digest, COSIGN_SIGN_PREDICATE_TYPE);
    expect(stored?.bundle).toEqual(github.stored[0]);

    // Not through our code: the bundle as read back from the registry, verified by @sigstore/verify.
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)), {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    });
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(stored?.bundle)), {
      subjectAlternativeName: BUILD,
      extensions: { issuer: issuer.issuer },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(BUILD);
    const payload = JSON.parse(Buffer.from(stored?.bundle.dsseEnvelope?.payload ?? '', 'base64').toString());
    expect(payload.subject[0].digest.sha256).toBe(digest.slice(7));

    const check = await verifyImageKeyless(client, REPOSITORY, digest, trust, policy());
    expect(check.verified).toMatchObject({ source: 'referrer', location: signed.referrer });
    expect(check.verified?.claims.identity).toBe(BUILD);
  });

  test('another identity’s signature does not count, and the refusal says whose it was', async () => {
    const digest = await pushImage();
    await signImageKeyless(client, REPOSITORY, digest, signerFor(promoteJob));
    const check = await verifyImageKeyless(client, REPOSITORY, digest, trust, policy());
    expect(check.verified).toBeUndefined();
    expect(check.rejected[0]?.message).toContain('promote.yml');
    expect(check.tried).toEqual(['referrer', 'legacy .sig']);
  });

  test('a bundle for another digest attached to this one does not count', async () => {
    const [digest, other] = [await pushImage(), await pushImage()];
    const bundle = await signStatement(
      statement(imageSubject(`${registry.host}/${REPOSITORY}`, other), COSIGN_SIGN_PREDICATE_TYPE, {}),
      signerFor(),
    );
    await attach(client, REPOSITORY, digest, bundle);
    const check = await verifyImageKeyless(client, REPOSITORY, digest, trust, policy());
    expect(check.verified).toBeUndefined();
    expect(check.rejected[0]?.message).toMatch(/not about sha256:/);
  });

  test('a cosign 2 legacy layer (certificate, chain, Rekor bundle) is the next source', async () => {
    const digest = await pushImage();
    const written = await writeLegacySignature(
      client,
      REPOSITORY,
      digest,
      signerFor(),
      `${registry.host}/${REPOSITORY}`,
    );
    expect(written.tag).toBe(signatureTag(digest));
    const check = await verifyImageKeyless(client, REPOSITORY, digest, trust, policy());
    expect(check.verified).toMatchObject({ source: 'legacy .sig', location: signatureTag(digest) });

    const { bytes } = await client.getManifest(REPOSITORY, signatureTag(digest));
    const manifest = JSON.parse(bytes.toString()) as ImageManifest;
    const layer = manifest.layers[0] as ImageManifest['layers'][number];
    expect(Object.keys(layer.annotations ?? {}).sort()).toEqual([
      'dev.cosignproject.cosign/signature',
      'dev.sigstore.cosign/bundle',
      'dev.sigstore.cosign/certificate',
      'dev.sigstore.cosign/chain',
    ]);
    // Without Rekor's entry the same signature proves nothing.
    const { 'dev.sigstore.cosign/bundle': _, ...unlogged } = layer.annotations ?? {};
    manifest.layers = [{ ...layer, annotations: unlogged }];
    await client.putManifest(
      REPOSITORY,
      signatureTag(digest),
      Buffer.from(JSON.stringify(manifest)),
      MediaType.ociManifest,
    );
    const refused = await verifyImageKeyless(client, REPOSITORY, digest, trust, policy());
    expect(refused.verified).toBeUndefined();
    expect(refused.rejected[0]?.message).toMatch(/never logged in Rekor/);
  });

  test('GitHub’s attestations API is the last source', async () => {
    const digest = await pushImage();
    const github = memoryAttestations();
    await github.write(
      await signStatement(
        statement(imageSubject(`${registry.host}/${REPOSITORY}`, digest), COSIGN_SIGN_PREDICATE_TYPE, {}),
        signerFor(),
      ),
    );
    const check = await verifyImageKeyless(client, REPOSITORY, digest, trust, policy(), { github });
    expect(check.verified).toMatchObject({ source: 'GitHub attestations', location: 'octo/app' });
    expect(check.tried).toEqual(['referrer', 'legacy .sig', 'GitHub attestations']);
  });
});

describe('attestations under a trust of their own', () => {
  const RECORD = 'https://example.test/record/v1';

  test('a keyless record counts only for the record identity, a key record only for the record key', async () => {
    const digest = await pushImage();
    const subject = imageSubject(`${registry.host}/${REPOSITORY}`, digest);
    const recordKey = generateKeyPair();
    const imageKey = generateKeyPair();
    await attach(
      client,
      REPOSITORY,
      digest,
      await signStatement(statement(subject, RECORD, { by: 'promote' }), signerFor(promoteJob)),
    );
    await attach(
      client,
      REPOSITORY,
      digest,
      await signStatement(statement(subject, RECORD, { by: 'build' }), signerFor()),
    );
    await attach(
      client,
      REPOSITORY,
      digest,
      await signStatement(statement(subject, RECORD, { by: 'image key' }), keySigner(imageKey.privateKey)),
    );
    await attach(
      client,
      REPOSITORY,
      digest,
      await signStatement(statement(subject, RECORD, { by: 'record key' }), keySigner(recordKey.privateKey)),
    );

    const PROMOTE = 'https://github.com/octo/app/.github/workflows/promote.yml@refs/heads/main';
    const keyless = await verifyAttestationsWith(
      client,
      REPOSITORY,
      digest,
      { kind: 'keyless', root: trust, policy: policy(PROMOTE) },
      RECORD,
    );
    expect(keyless.verified.map((v) => v.statement.predicate)).toEqual([{ by: 'promote' }]);
    expect(keyless.verified[0]?.signer).toBe(PROMOTE);
    expect(keyless.rejected).toHaveLength(3);

    const keyed = await verifyAttestationsWith(
      client,
      REPOSITORY,
      digest,
      { kind: 'key', keys: [recordKey.publicKey] },
      RECORD,
    );
    expect(keyed.verified.map((v) => v.statement.predicate)).toEqual([{ by: 'record key' }]);
  });
});
