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
import { type ImageManifest, MediaType, RegistryClient, sha256Digest } from '@digestline/oci';
import {
  attach,
  imageSubject,
  keylessSigner,
  PredicateType,
  signImageKeyless,
  signStatement,
  statement,
} from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { corpusPath } from '../../../test/harness/corpus.js';
import { runCli } from './run-cli.js';

const GITHUB = 'https://token.actions.githubusercontent.com';
const ROOT = corpusPath('sigstore/trusted_root.json');
const file = (name: string) => corpusPath(`sigstore/${name}`);

const REUSABLE_IDENTITY =
  'https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d';
const SIGSTORE_JS_IDENTITY =
  'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';
const CUSTOM_IDENTITY =
  'https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main';

function verify(artifact: string, bundle: string, ...rest: string[]) {
  return runCli(['verify-attestation', artifact, '--bundle', file(bundle), '--trusted-root', ROOT, ...rest]);
}

describe('digestline verify-attestation on the real bundles, offline', () => {
  test('verifies the reusable-workflow attestation (sha256 subject) and says who signed it', async () => {
    const result = await verify(
      file('reusable-workflow-artifact'),
      'reusable-workflow-attestation.sigstore.json',
      '--certificate-identity',
      REUSABLE_IDENTITY,
      '--certificate-oidc-issuer',
      GITHUB,
      '--predicate-type',
      'https://slsa.dev/provenance/v1',
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`identity    ${REUSABLE_IDENTITY}`);
    expect(result.stdout).toContain(`issuer      ${GITHUB}`);
    expect(result.stdout).toContain('statement   https://slsa.dev/provenance/v1');
  });

  test('verifies the npm provenance of sigstore 2.1.0 (sha512 subject) by an identity regexp', async () => {
    const result = await verify(
      file('sigstore-js-2.1.0.tgz'),
      'sigstore-js-2.1.0-bundle.json',
      '--certificate-identity-regexp',
      '^https://github\\.com/sigstore/sigstore-js/\\.github/workflows/release\\.yml@refs/heads/.+$',
      '--certificate-oidc-issuer',
      GITHUB,
      '--certificate-github-workflow-repository',
      'sigstore/sigstore-js',
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`identity    ${SIGSTORE_JS_IDENTITY}`);
    expect(result.stdout).toContain('source      https://github.com/sigstore/sigstore-js refs/heads/main');
  });

  test.each([
    [
      'a wrong identity',
      'reusable-workflow-artifact',
      'reusable-workflow-attestation.sigstore.json',
      ['--certificate-identity', SIGSTORE_JS_IDENTITY, '--certificate-oidc-issuer', GITHUB],
      /not verified \(identity-mismatch\)/,
    ],
    [
      'the custom-issuer bundle when GitHub’s issuer is required',
      'custom-issuer-artifact',
      'custom-issuer.sigstore.json',
      ['--certificate-identity', CUSTOM_IDENTITY, '--certificate-oidc-issuer', GITHUB],
      /not verified \(issuer-mismatch\).*hammer-time/,
    ],
    [
      'the tampered bundle',
      'reusable-workflow-artifact',
      'sigstoreBundle-invalid-signature.json',
      ['--certificate-identity-regexp', '.*', '--certificate-oidc-issuer', GITHUB],
      /not verified \(bad-tlog-entry\)/,
    ],
    [
      'a bundle for another artifact',
      'custom-issuer-artifact',
      'reusable-workflow-attestation.sigstore.json',
      ['--certificate-identity', REUSABLE_IDENTITY, '--certificate-oidc-issuer', GITHUB],
      /not verified \(subject-mismatch\)/,
    ],
  ])('refuses %s with exit 1 and the reason', async (_name, artifact, bundle, args, message) => {
    const result = await verify(file(artifact), bundle, ...args);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(message);
    expect(result.stdout).not.toContain('✔ verified');
  });

  test('an image as oci://…@digest is checked against the statement subject', async () => {
    const result = await verify(
      'oci://registry.example/app@sha256:49a3aa6075e0f49f82843e74b5baa614ad2a588e6675612bf108a0a008c5ac25',
      'reusable-workflow-attestation.sigstore.json',
      '--certificate-identity',
      REUSABLE_IDENTITY,
      '--certificate-oidc-issuer',
      GITHUB,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('✔ verified    registry.example/app@sha256:49a3aa60');
  });

  test.each([
    [
      'no identity',
      ['--certificate-oidc-issuer', GITHUB],
      /needs "--certificate-identity" \(or "--certificate-identity-regexp"\)/,
    ],
    ['no issuer', ['--certificate-identity', REUSABLE_IDENTITY], /needs "--certificate-oidc-issuer"/],
  ])('exits 2 with %s: a missing rule never means any identity', async (_name, args, message) => {
    const result = await verify(
      file('reusable-workflow-artifact'),
      'reusable-workflow-attestation.sigstore.json',
      ...args,
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});

describe('digestline verify-attestation oci://… without --bundle: what the registry holds', () => {
  const BUILD = 'https://github.com/octo/app/.github/workflows/build.yml@refs/heads/main';
  let registry: LocalRegistry;
  let issuer: LocalOidcIssuer;
  let sigstore: LocalSigstore;
  let client: RegistryClient;
  let digest: string;

  beforeAll(async () => {
    issuer = await startOidcIssuer();
    [registry, sigstore] = await Promise.all([startRegistry(), startSigstore({ issuers: [issuer] })]);
    client = new RegistryClient(registry.host);
    const layer = await client.pushBlob('octo/app', randomBytes(32));
    const config = await client.pushBlob('octo/app', '{}');
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    digest = (await client.putManifest('octo/app', sha256Digest(bytes), bytes, MediaType.ociManifest)).digest;
    const claims = githubClaims({ repository: 'octo/app', workflowFile: 'build.yml' });
    const signer = keylessSigner(
      { getToken: async (audience) => issuer.mint(claims, audience) },
      { fulcioURL: sigstore.url, rekorURL: sigstore.url },
    );
    await signImageKeyless(client, 'octo/app', digest, signer);
    const provenance = statement(
      imageSubject(`${registry.host}/octo/app`, digest),
      PredicateType.slsaProvenance,
      {},
    );
    await attach(client, 'octo/app', digest, await signStatement(provenance, signer));
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all([registry?.stop(), sigstore?.stop(), issuer?.stop()]);
  });

  const cli = (...rest: string[]) =>
    runCli([
      'verify-attestation',
      `oci://${registry.host}/octo/app@${digest}`,
      '--trusted-root',
      sigstore.trustedRootPath,
      '--certificate-oidc-issuer',
      issuer.issuer,
      ...rest,
    ]);

  test('finds and verifies the image signature, and says where it was found', async () => {
    const result = await cli('--certificate-identity', BUILD);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`identity    ${BUILD}`);
    expect(result.stdout).toMatch(/found in {4}referrer sha256:/);
  });

  test('with --predicate-type, the attestation of that type', async () => {
    const result = await cli(
      '--certificate-identity',
      BUILD,
      '--predicate-type',
      PredicateType.slsaProvenance,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`statement   ${PredicateType.slsaProvenance}`);
  });

  test('another identity is refused with exit 1', async () => {
    const result = await cli('--certificate-identity', BUILD.replace('build.yml', 'other.yml'));
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/✘ not verified: no signature by .*other\.yml.*build\.yml/);
  });
});
