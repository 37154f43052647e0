import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@digestline/base';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { corpusBytes, corpusPath } from '../../../test/harness/corpus.js';
import {
  GITHUB_ACTIONS_ISSUER,
  type IdentityPolicy,
  identityPolicy,
  KeylessVerificationError,
  publicGoodTrustRoot,
  type TrustRoot,
  trustRootFromFile,
  verifyKeylessBundle,
} from '../src/index.js';

const NAMES = {
  identity: 'certificate-identity',
  identityRegExp: 'certificate-identity-regexp',
  issuer: 'certificate-oidc-issuer',
};

const bundle = (name: string) => corpusBytes(`sigstore/${name}`);
const digest = (alg: 'sha256' | 'sha512', name: string) =>
  createHash(alg)
    .update(corpusBytes(`sigstore/${name}`))
    .digest('hex');

const REUSABLE = {
  bundle: 'reusable-workflow-attestation.sigstore.json',
  identity:
    'https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d',
  digests: () => ({ sha256: digest('sha256', 'reusable-workflow-artifact') }),
};
const SIGSTORE_JS = {
  bundle: 'sigstore-js-2.1.0-bundle.json',
  identity: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
  digests: () => ({ sha512: digest('sha512', 'sigstore-js-2.1.0.tgz') }),
};
const CUSTOM = {
  bundle: 'custom-issuer.sigstore.json',
  identity: 'https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main',
  issuer: 'https://token.actions.githubusercontent.com/hammer-time',
  digests: () => ({ sha256: digest('sha256', 'custom-issuer-artifact') }),
};

const policy = (identity: string, issuer = GITHUB_ACTIONS_ISSUER): IdentityPolicy =>
  identityPolicy({ identity, issuer }, NAMES);

function rejection(fn: () => unknown): KeylessVerificationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeylessVerificationError) return error;
    throw error;
  }
  throw new Error('expected a KeylessVerificationError, but the bundle verified');
}

let trust: TrustRoot;
beforeAll(async () => {
  trust = await trustRootFromFile(corpusPath('sigstore/trusted_root.json'));
});

describe('the real keyless bundles verify offline against their trusted root', () => {
  test('a reusable-workflow attestation: the workflow identity, GitHub issuer and sha256 subject', () => {
    const result = verifyKeylessBundle(bundle(REUSABLE.bundle), trust, policy(REUSABLE.identity), {
      digests: REUSABLE.digests(),
      predicateType: 'https://slsa.dev/provenance/v1',
    });
    expect(result.claims).toMatchObject({
      identity: REUSABLE.identity,
      issuer: GITHUB_ACTIONS_ISSUER,
      sourceRepositoryURI: expect.stringMatching(/^https:\/\/github\.com\/.+\/.+/),
    });
    expect(result.timeSource).toBe('transparency log');
    expect(result.signedAt.toISOString()).toBe('2024-05-24T19:14:24.000Z');
    expect(result.statement?.subject[0]?.digest.sha256).toBe(REUSABLE.digests().sha256);
  });

  test('npm provenance for sigstore 2.1.0: a sha512 subject', () => {
    const result = verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), trust, policy(SIGSTORE_JS.identity), {
      digests: SIGSTORE_JS.digests(),
    });
    expect(result.claims).toMatchObject({
      identity: SIGSTORE_JS.identity,
      sourceRepositoryURI: 'https://github.com/sigstore/sigstore-js',
      sourceRepositoryRef: 'refs/heads/main',
    });
    expect(result.statement?.subject[0]?.name).toBe('pkg:npm/sigstore@2.1.0');
  });

  test('the custom-issuer bundle verifies under its own issuer', () => {
    const result = verifyKeylessBundle(bundle(CUSTOM.bundle), trust, policy(CUSTOM.identity, CUSTOM.issuer), {
      digests: CUSTOM.digests(),
    });
    expect(result.claims.issuer).toBe(CUSTOM.issuer);
  });

  test('an identity regexp that matches the whole identity is accepted', () => {
    const rule = identityPolicy(
      {
        identityRegExp: 'https://github\\.com/sigstore/sigstore-js/\\.github/workflows/.+',
        issuer: GITHUB_ACTIONS_ISSUER,
      },
      NAMES,
    );
    expect(verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), trust, rule).claims.identity).toBe(
      SIGSTORE_JS.identity,
    );
  });

  test('the GitHub repository, ref and commit in the certificate can be required', () => {
    const rule = identityPolicy(
      {
        identity: SIGSTORE_JS.identity,
        issuer: GITHUB_ACTIONS_ISSUER,
        github: { repository: 'sigstore/sigstore-js', ref: 'refs/heads/main' },
      },
      NAMES,
    );
    expect(() => verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), trust, rule)).not.toThrow();
    const otherRef = identityPolicy(
      { identity: SIGSTORE_JS.identity, issuer: GITHUB_ACTIONS_ISSUER, github: { ref: 'refs/tags/v2.1.0' } },
      NAMES,
    );
    const error = rejection(() => verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), trust, otherRef));
    expect(error.reason).toBe('extension-mismatch');
    expect(error.message).toContain('"refs/heads/main", not the required "refs/tags/v2.1.0"');
  });
});

describe('refusals', () => {
  test('another identity is refused', () => {
    const error = rejection(() =>
      verifyKeylessBundle(
        bundle(SIGSTORE_JS.bundle),
        trust,
        policy('https://github.com/sigstore/sigstore-js/.github/workflows/other.yml@refs/heads/main'),
      ),
    );
    expect(error.reason).toBe('identity-mismatch');
    expect(error.message).toContain(SIGSTORE_JS.identity);
  });

  test('a regexp that matches only part of the identity is refused', () => {
    const prefix = identityPolicy(
      { identityRegExp: 'https://github\\.com/sigstore/', issuer: GITHUB_ACTIONS_ISSUER },
      NAMES,
    );
    expect(rejection(() => verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), trust, prefix)).reason).toBe(
      'identity-mismatch',
    );
    const inner = identityPolicy({ identityRegExp: 'sigstore-js', issuer: GITHUB_ACTIONS_ISSUER }, NAMES);
    expect(rejection(() => verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), trust, inner)).reason).toBe(
      'identity-mismatch',
    );
  });

  test('the custom-issuer bundle is refused when GitHub’s issuer is required', () => {
    const error = rejection(() =>
      verifyKeylessBundle(bundle(CUSTOM.bundle), trust, policy(CUSTOM.identity), {
        digests: CUSTOM.digests(),
      }),
    );
    expect(error.reason).toBe('issuer-mismatch');
    expect(error.message).toContain(CUSTOM.issuer);
  });

  test('the bundle whose signature was broken is refused', () => {
    const error = rejection(() =>
      verifyKeylessBundle(
        bundle('sigstoreBundle-invalid-signature.json'),
        trust,
        identityPolicy({ identityRegExp: '.*', issuer: GITHUB_ACTIONS_ISSUER }, NAMES),
      ),
    );
    expect(error.reason).toBe('bad-tlog-entry');
  });

  test('a bundle about another artifact is refused', () => {
    const error = rejection(() =>
      verifyKeylessBundle(bundle(REUSABLE.bundle), trust, policy(REUSABLE.identity), {
        digests: CUSTOM.digests(),
      }),
    );
    expect(error.reason).toBe('subject-mismatch');
    expect(error.message).toContain(CUSTOM.digests().sha256);
  });

  test('a bundle whose transparency-log entry was removed is refused', () => {
    const json = JSON.parse(bundle(SIGSTORE_JS.bundle).toString());
    json.verificationMaterial.tlogEntries = [];
    expect(rejection(() => verifyKeylessBundle(json, trust, policy(SIGSTORE_JS.identity))).reason).toBe(
      'no-tlog-entry',
    );
  });

  test('a log entry without its signed promise gives no trusted time and is refused', () => {
    const json = JSON.parse(bundle(SIGSTORE_JS.bundle).toString());
    delete json.verificationMaterial.tlogEntries[0].inclusionPromise;
    expect(rejection(() => verifyKeylessBundle(json, trust, policy(SIGSTORE_JS.identity))).reason).toBe(
      'no-trusted-time',
    );
  });

  test('another trusted root does not vouch for the certificate', async () => {
    const { trustRootFromJSON } = await import('../src/index.js');
    const root = JSON.parse(corpusBytes('sigstore/trusted_root.json').toString());
    root.certificateAuthorities = root.certificateAuthorities.slice(0, 1);
    const old = trustRootFromJSON(root, 'a root with only the 2021-2022 CA');
    const error = rejection(() =>
      verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), old, policy(SIGSTORE_JS.identity)),
    );
    expect(error.reason).toBe('untrusted-certificate');
  });
});

describe('the identity rules', () => {
  test('an identity and an issuer are both required, never "any identity"', () => {
    expect(() => identityPolicy({ issuer: GITHUB_ACTIONS_ISSUER }, NAMES)).toThrow(
      /needs "certificate-identity" \(or "certificate-identity-regexp"\)/,
    );
    expect(() => identityPolicy({ identity: SIGSTORE_JS.identity }, NAMES)).toThrow(
      /needs "certificate-oidc-issuer"/,
    );
    expect(() => identityPolicy({ identity: '  ', issuer: '' }, NAMES)).toThrow(ConfigurationError);
  });

  test('an exact identity and a regexp together, or a broken regexp, are configuration errors', () => {
    expect(() =>
      identityPolicy({ identity: 'a', identityRegExp: 'b', issuer: GITHUB_ACTIONS_ISSUER }, NAMES),
    ).toThrow(/not both/);
    expect(() => identityPolicy({ identityRegExp: '(', issuer: GITHUB_ACTIONS_ISSUER }, NAMES)).toThrow(
      /not a valid regular expression/,
    );
  });
});

describe('the public-good trusted root', () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'digestline-tuf-'));
  });
  afterAll(() => rm(cache, { recursive: true, force: true }));

  test('comes from TUF, or offline from the seed embedded in @sigstore/tuf, and verifies real bundles', async () => {
    const warnings: string[] = [];
    const root = await publicGoodTrustRoot({
      cachePath: cache,
      log: { info: () => undefined, debug: () => undefined, warning: (m) => warnings.push(m) },
    });
    expect(root.source).toMatch(/^Sigstore public-good root/);
    expect(warnings.length === 0).toBe(root.source.includes('TUF https://'));
    const result = verifyKeylessBundle(bundle(SIGSTORE_JS.bundle), root, policy(SIGSTORE_JS.identity), {
      digests: SIGSTORE_JS.digests(),
    });
    expect(result.claims.identity).toBe(SIGSTORE_JS.identity);
  }, 30_000);
});
