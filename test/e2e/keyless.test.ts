// Keyless from build to production: build-and-sign and promote run as their own processes, each job
// with its own OIDC identity from a local issuer, against a local Fulcio/Rekor/TSA and a real registry.
import { randomBytes } from 'node:crypto';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type ActionResult,
  type GitHubClaims,
  githubClaims,
  type LocalOidcIssuer,
  type LocalRegistry,
  type LocalSigstore,
  makeTempDir,
  repoRoot,
  runAction,
  startOidcIssuer,
  startRegistry,
  startSigstore,
} from '@digestline/local';
import { type ImageManifest, MediaType, RegistryClient, sha256Digest } from '@digestline/oci';
import { findPromotionRecords, promotionStatement } from '@digestline/promotion';
import {
  attach,
  COSIGN_SIGN_PREDICATE_TYPE,
  identityPolicy,
  imageSignatureStatement,
  keylessSigner,
  listAttestations,
  readLegacySignatures,
  signImageKeyless,
  signStatement,
  type TrustRoot,
  trustRootFromJSON,
} from '@digestline/signing';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { type GitHubFixture, startGitHub } from '../harness/github.js';

const REPOSITORY = 'shop/keyless';
const TOKEN = 'ghs_keylessEndToEnd0123456789';
const BUILD_IDENTITY = 'https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main';
const PROMOTE_IDENTITY =
  'https://github.com/octo-org/octo-repo/.github/workflows/promote.yml@refs/heads/main';
const LADDER = ['dev', 'staging', 'canary', 'production'] as const;

let registry: LocalRegistry;
let issuer: LocalOidcIssuer;
let stranger: LocalOidcIssuer;
let sigstore: LocalSigstore;
let github: GitHubFixture;
let client: RegistryClient;
let trust: TrustRoot;
let workspace: { path: string; remove(): Promise<void> };

const buildJob = githubClaims({ repository: 'octo-org/octo-repo', workflowFile: 'release.yml' });
const promoteJob = (environment: string) =>
  githubClaims({ repository: 'octo-org/octo-repo', workflowFile: 'promote.yml', environment });

/** The environment a runner gives a job with `permissions: id-token: write`. */
function jobEnv(claims: GitHubClaims, from = issuer): Record<string, string> {
  const job = from.job(claims);
  return {
    ACTIONS_ID_TOKEN_REQUEST_URL: job.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: job.token,
    GITHUB_API_URL: github.url,
    GITHUB_WORKFLOW_REF: claims.workflow_ref,
  };
}

const sigstoreInputs = () => ({
  'fulcio-url': sigstore.url,
  'rekor-url': sigstore.url,
  'tsa-url': sigstore.url,
});

/** promote.yml's promote job in `environment`: keyless image check, records signed by this job. */
function promote(
  digest: string,
  sourceEnv: string,
  targetEnv: string,
  extra: Record<string, string> = {},
): Promise<ActionResult> {
  return runAction('promote', {
    inputs: {
      image: `${registry.host}/${REPOSITORY}`,
      digest,
      'source-env': sourceEnv,
      'target-env': targetEnv,
      'certificate-identity': BUILD_IDENTITY,
      'certificate-oidc-issuer': issuer.issuer,
      'trusted-root': sigstore.trustedRootPath,
      'certificate-github-workflow-repository': 'octo-org/octo-repo',
      'record-certificate-identity': PROMOTE_IDENTITY,
      'record-certificate-oidc-issuer': issuer.issuer,
      'record-certificate-github-workflow-repository': 'octo-org/octo-repo',
      'record-deployment': 'false',
      ...sigstoreInputs(),
      ...extra,
    },
    env: jobEnv(promoteJob(targetEnv)),
  });
}

async function tags(repository = REPOSITORY): Promise<Record<string, string | undefined>> {
  const found: Record<string, string | undefined> = {};
  for (const tag of await client.listTags(repository)) {
    found[tag] = (await client.headManifest(repository, tag))?.digest;
  }
  return found;
}

/** A small image pushed by digest, for the refusals: each gets a signature made a different wrong way. */
async function pushImage(repository = REPOSITORY): Promise<string> {
  const layer = await client.pushBlob(repository, randomBytes(64));
  const config = await client.pushBlob(repository, JSON.stringify({ architecture: 'amd64', os: 'linux' }));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return (await client.putManifest(repository, sha256Digest(bytes), bytes, MediaType.ociManifest)).digest;
}

const signerFor = (claims: GitHubClaims, from = issuer) =>
  keylessSigner(
    { getToken: async (audience) => from.mint(claims, audience) },
    { fulcioURL: sigstore.url, rekorURL: sigstore.url, tsaURL: sigstore.url },
  );

beforeAll(async () => {
  [issuer, stranger] = await Promise.all([startOidcIssuer(), startOidcIssuer()]);
  [registry, sigstore, github, workspace] = await Promise.all([
    startRegistry(),
    startSigstore({ issuers: [issuer, stranger] }),
    startGitHub(),
    makeTempDir('e2e-keyless'),
  ]);
  client = new RegistryClient(registry.host);
  trust = trustRootFromJSON(sigstore.trustedRoot, 'the local Sigstore');
  await cp(join(repoRoot, 'demo', 'app'), workspace.path, { recursive: true });
}, 60_000);
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), sigstore?.stop(), github?.stop(), issuer?.stop(), stranger?.stop()]);
  await workspace?.remove();
});
afterEach(() => github.assertDone());

let built: string;

describe('keyless, the default path, end to end', () => {
  test('build-and-sign signs keyless with the job identity, in the registry and with GitHub', async () => {
    github.on('repos/create-attestation', { status: 201, body: { id: 7 } }, { times: 2 });
    const env = jobEnv(buildJob);
    const build = await runAction('build-and-sign', {
      inputs: {
        image: `${registry.host}/${REPOSITORY}`,
        context: '.',
        file: 'Containerfile',
        builder: 'buildah',
        sbom: 'none',
        'github-token': TOKEN,
        ...sigstoreInputs(),
      },
      workspace: workspace.path,
      env,
    });
    expect(build.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(build.exitCode).toBe(0);
    built = build.outputs.digest as string;
    expect(built).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(build.log).toContain(`Signed ${built} keyless as ${BUILD_IDENTITY}.`);
    // The identity token was masked before anything could print it.
    const minted = issuer.minted().length;
    expect(minted).toBeGreaterThan(0);
    expect(build.masks.some((m) => m.split('.').length === 3)).toBe(true);

    // GitHub got both bundles, each a request its OpenAPI description accepts (the fixture checked them).
    const posted = github.requests.filter((r) => r.operationId === 'repos/create-attestation');
    expect(posted.map((r) => r.path)).toEqual([
      '/repos/octo-org/octo-repo/attestations',
      '/repos/octo-org/octo-repo/attestations',
    ]);

    // Not through our code: @sigstore/verify checks the signature bundle as the registry holds it.
    const [stored] = await listAttestations(client, REPOSITORY, built, COSIGN_SIGN_PREDICATE_TYPE);
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot)), {
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 2,
    });
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(stored?.bundle)), {
      subjectAlternativeName: BUILD_IDENTITY,
      extensions: { issuer: issuer.issuer },
    });
    expect(signer.identity?.subjectAlternativeName).toBe(BUILD_IDENTITY);
    expect(posted[0]?.body).toEqual({ bundle: stored?.bundle });

    // cosign 2's place: the .sig layer with the certificate, chain and Rekor entry verifies on its own.
    const legacy = await readLegacySignatures(client, REPOSITORY, built);
    expect(legacy.layers).toHaveLength(1);
    const outcome = legacy.layers[0]?.verify(trust, policyFor(BUILD_IDENTITY));
    expect(outcome).toMatchObject({ reference: `${registry.host}/${REPOSITORY}` });
  }, 120_000);

  test('promote verifies keyless and climbs the whole ladder, each record signed by the promote job', async () => {
    let source = '';
    for (const target of LADDER) {
      const result = await promote(built, source, target);
      expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
      expect(result.exitCode).toBe(0);
      expect(result.summary).toContain(`keyless, signed by ${BUILD_IDENTITY}`);
      source = target;
    }
    const records = { kind: 'keyless' as const, root: trust, policy: policyFor(PROMOTE_IDENTITY) };
    for (const env of LADDER) {
      expect((await client.headManifest(REPOSITORY, env))?.digest).toBe(built);
      expect((await findPromotionRecords(client, REPOSITORY, built, env, records)).records).toHaveLength(1);
    }
  }, 120_000);
});

function policyFor(identity: string, from = issuer) {
  return identityPolicy(
    { identity, issuer: from.issuer },
    { identity: 'i', identityRegExp: 'r', issuer: 's' },
  );
}

describe('refusals: exit 1, the reason, nothing moved', () => {
  const refused = async (
    digest: string,
    sourceEnv: string,
    targetEnv: string,
    message: RegExp,
    extra: Record<string, string> = {},
    repository = REPOSITORY,
  ) => {
    const before = await tags(repository);
    const result = await promote(digest, sourceEnv, targetEnv, {
      image: `${registry.host}/${repository}`,
      ...extra,
    });
    expect(result.exitCode).toBe(1);
    const errors = result.annotations.filter((a) => a.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(message);
    expect(await tags(repository)).toEqual(before);
    return result;
  };

  test('a signature by another identity', async () => {
    const digest = await pushImage();
    await signImageKeyless(client, REPOSITORY, digest, signerFor(buildJob));
    await refused(
      digest,
      '',
      'dev',
      /signed by ".*release\.yml@refs\/heads\/main", not by the required identity/,
      {
        'certificate-identity':
          'https://github.com/octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main',
      },
    );
  });

  test('a certificate from another OIDC issuer, and GitHub’s attestations API asked last', async () => {
    const digest = await pushImage();
    await signImageKeyless(client, REPOSITORY, digest, signerFor(buildJob, stranger));
    github.on('repos/list-attestations', { status: 200, body: { attestations: [] } });
    await refused(digest, '', 'dev', /issued for OIDC issuer ".*", not the required/, {
      'github-token': TOKEN,
    });
    expect(decodeURIComponent(github.requests.at(-1)?.path ?? '')).toBe(
      `/repos/octo-org/octo-repo/attestations/${digest}`,
    );
  });

  test('a signature from a workflow of another repository, and records this job could not sign', async () => {
    const digest = await pushImage();
    await signImageKeyless(client, REPOSITORY, digest, signerFor(buildJob));
    await refused(
      digest,
      '',
      'dev',
      /GitHub repository is "octo-org\/octo-repo", not the required "evil\/fork"/,
      {
        'certificate-github-workflow-repository': 'evil/fork',
      },
    );
    await refused(digest, '', 'dev', /this job signs promotion records as .*promote\.yml.*do not accept/, {
      'record-certificate-github-workflow-repository': 'evil/fork',
    });
  });

  test('a signature never logged in Rekor', async () => {
    const digest = await pushImage();
    const signer = signerFor(buildJob);
    const unlogged = { sign: (data: Buffer) => signer.sign(data), witnesses: [] };
    const bundle = await signStatement(
      imageSignatureStatement(`${registry.host}/${REPOSITORY}`, digest),
      unlogged,
    );
    await attach(client, REPOSITORY, digest, bundle);
    await refused(digest, '', 'dev', /no transparency-log entry/);
  });

  test('a certificate that had expired when the signature was logged', async () => {
    const digest = await pushImage();
    sigstore.setCertificateTime(new Date(Date.now() - 3600_000));
    try {
      await signImageKeyless(client, REPOSITORY, digest, signerFor(buildJob));
    } finally {
      sigstore.setCertificateTime(undefined);
    }
    await refused(digest, '', 'dev', /was not valid when it signed/);
  });

  test('a signature bundle for another digest', async () => {
    const digest = await pushImage();
    const [theirs] = await listAttestations(client, REPOSITORY, built, COSIGN_SIGN_PREDICATE_TYPE);
    await attach(client, REPOSITORY, digest, theirs?.bundle as never);
    await refused(digest, '', 'dev', /not about sha256:/);
  });

  test('a stage proof minted with the build identity does not count', async () => {
    const forged = 'shop/forged';
    const image = `${registry.host}/${forged}`;
    const digest = await pushImage(forged);
    await signImageKeyless(client, forged, digest, signerFor(buildJob));
    expect((await promote(digest, '', 'dev', { image })).exitCode).toBe(0);
    // Whoever holds the build's identity writes a "staging" record and moves the tag by hand.
    const record = promotionStatement(digest, {
      environment: 'staging',
      from: 'dev',
      mode: 'promote',
      image,
      tag: 'staging',
      previousDigest: null,
      promotedAt: new Date().toISOString(),
    });
    await attach(client, forged, digest, await signStatement(record, signerFor(buildJob)));
    const { bytes, mediaType } = await client.getManifest(forged, digest);
    await client.putManifest(forged, 'staging', bytes, mediaType);
    await refused(
      digest,
      'staging',
      'canary',
      /no signed promotion record for staging.*signed by ".*release\.yml@refs\/heads\/main", not by the required identity/,
      {},
      forged,
    );
  });
});
