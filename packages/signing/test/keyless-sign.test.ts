import {
  githubClaims,
  type LocalOidcIssuer,
  type LocalSigstore,
  startOidcIssuer,
  startSigstore,
} from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import {
  identityPolicy,
  imageSubject,
  KeylessVerificationError,
  keylessSigner,
  SigstoreError,
  signStatement,
  statement,
  type TrustRoot,
  trustRootFromJSON,
  verifyKeylessBundle,
} from '../src/index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const IDENTITY = 'https://github.com/octo/app/.github/workflows/build.yml@refs/heads/main';
const claims = githubClaims({ repository: 'octo/app', workflowFile: 'build.yml', sha: 'c'.repeat(40) });
const record = () =>
  statement(imageSubject('registry.example/octo/app', DIGEST), 'https://example.test/v1', { ok: true });

let github: LocalOidcIssuer;
let other: LocalOidcIssuer;
let sigstore: LocalSigstore;
let trust: TrustRoot;

const tokensOf = (issuer: LocalOidcIssuer) => ({
  getToken: async (audience: string) => issuer.mint(claims, audience),
});
const endpoints = () => ({ fulcioURL: sigstore.url, rekorURL: sigstore.url, tsaURL: sigstore.url });

beforeAll(async () => {
  [github, other] = await Promise.all([startOidcIssuer(), startOidcIssuer()]);
  sigstore = await startSigstore({ issuers: [github, other] });
  trust = trustRootFromJSON(sigstore.trustedRoot, 'the local Sigstore');
});
afterAll(async () => {
  await Promise.all([sigstore?.stop(), github?.stop(), other?.stop()]);
});

describe('keyless signing against a local Fulcio, Rekor and TSA', () => {
  test('an independent @sigstore/verify accepts the bundle for the workflow identity and issuer', async () => {
    const bundle = await signStatement(record(), keylessSigner(tokensOf(github), endpoints()));
    expect(bundle.verificationMaterial.tlogEntries).toHaveLength(1);
    expect(bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps).toHaveLength(1);

    const material = toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot));
    const verifier = new Verifier(material, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 2 });
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(bundle)), {
      subjectAlternativeName: IDENTITY,
      extensions: { issuer: github.issuer },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(IDENTITY);
  });

  test('our verifier reads the GitHub claims Fulcio put in the certificate', async () => {
    const bundle = await signStatement(record(), keylessSigner(tokensOf(github), endpoints()));
    const policy = identityPolicy(
      { identity: IDENTITY, issuer: github.issuer, github: { repository: 'octo/app', sha: 'c'.repeat(40) } },
      { identity: 'identity', identityRegExp: 'regexp', issuer: 'issuer' },
    );
    const result = verifyKeylessBundle(bundle, trust, policy, { digests: { sha256: 'ab'.repeat(32) } });
    expect(result.claims).toMatchObject({
      identity: IDENTITY,
      issuer: github.issuer,
      sourceRepositoryURI: 'https://github.com/octo/app',
      sourceRepositoryRef: 'refs/heads/main',
      runnerEnvironment: 'github-hosted',
    });
  });

  test('one certificate serves several signatures while it is valid', async () => {
    const before = sigstore.requests().filter((r) => r.service === 'fulcio').length;
    const signer = keylessSigner(tokensOf(github), endpoints());
    await signStatement(record(), signer);
    await signStatement(record(), signer);
    expect(sigstore.requests().filter((r) => r.service === 'fulcio').length - before).toBe(1);
    expect(signer.certificate()?.chain).toHaveLength(1);
  });

  test('a certificate that had expired when the signature was logged is refused', async () => {
    sigstore.setCertificateTime(new Date(Date.now() - 3600_000));
    let bundle: Awaited<ReturnType<typeof signStatement>>;
    try {
      bundle = await signStatement(record(), keylessSigner(tokensOf(github), endpoints()));
    } finally {
      sigstore.setCertificateTime(undefined);
    }
    const policy = identityPolicy(
      { identity: IDENTITY, issuer: github.issuer },
      { identity: 'identity', identityRegExp: 'regexp', issuer: 'issuer' },
    );
    let error: unknown;
    try {
      verifyKeylessBundle(bundle, trust, policy);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeylessVerificationError);
    expect((error as KeylessVerificationError).reason).toBe('certificate-expired');
    expect((error as KeylessVerificationError).message).toMatch(/was not valid when it signed/);
  });

  test('Fulcio refuses a token from an issuer it does not trust, and the error never shows the token', async () => {
    const stranger = await startOidcIssuer();
    try {
      const token = stranger.mint(claims);
      const signer = keylessSigner({ getToken: async () => token }, endpoints());
      const error = await signStatement(record(), signer).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SigstoreError);
      expect((error as Error).message).toMatch(/Fulcio .* answered 401: .*is not trusted/);
      expect((error as Error).message).not.toContain(token);
    } finally {
      await stranger.stop();
    }
  });
});
