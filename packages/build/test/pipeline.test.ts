// buildAndSign in-process against a real registry: merging per-platform images that are already there
// (no builder needed), signing with a key or keyless against a local Sigstore, and failures that say what changed.
import {
  freePort,
  githubClaims,
  type LocalRegistry,
  makeTempDir,
  startOidcIssuer,
  startRegistry,
  startSigstore,
} from '@digestline/local';
import { type ImageIndex, type ImageManifest, parseReference, RegistryClient } from '@digestline/oci';
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  encryptPrivateKey,
  type GitHubAttestations,
  type GitHubBuildContext,
  generateKeyPair,
  identityPolicy,
  PredicateType,
  type SerializedBundle,
  signatureTag,
  trustRootFromJSON,
  verifyAttestations,
  verifyAttestationsWith,
  verifyImage,
  verifyImageKeyless,
} from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { buildImage } from '../../../test/harness/images.js';
import {
  BuildAndSignError,
  type BuildAndSignOptions,
  type BuildLog,
  buildAndSign,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  ownedTags,
  type ProcessRunner,
} from '../src/index.js';

const sha = 'ffac537e6cbbf934b08745a378932722df287a53';
const context: GitHubBuildContext = {
  serverUrl: 'https://github.com',
  repository: 'octo-org/octo-repo',
  sha,
  ref: 'refs/heads/main',
  workflow: 'octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main',
  runId: 1,
  runAttempt: 1,
  builderId: 'https://github.com/actions/runner/github-hosted',
};

/** Merging runs no tool: any call is a failure of the test. */
const noProcesses: ProcessRunner = {
  run: async (command) => {
    throw new Error(`${command} was run`);
  },
};

function recordingLog(): BuildLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: (m) => lines.push(`debug: ${m}`),
    notice: (m) => lines.push(`notice: ${m}`),
  };
}

let registry: LocalRegistry;
let client: RegistryClient;
let temp: { path: string; remove(): Promise<void> };
const digests: Record<string, string> = {};

beforeAll(async () => {
  [registry, temp] = await Promise.all([startRegistry({ mode: 'open' }), makeTempDir('build-pipeline')]);
  client = new RegistryClient(registry.host, { retry: { attempts: 1 } });
  for (const platform of ['linux/amd64', 'linux/arm64']) {
    const image = await buildImage(
      { host: registry.host },
      { repository: 'team/app', tag: platform.replace('/', '-'), platform, files: { 'app.txt': platform } },
    );
    digests[platform] = image.digest;
  }
});

afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), temp?.remove()]);
});

function options(overrides: Partial<BuildAndSignOptions> = {}): BuildAndSignOptions {
  return {
    runnerTemp: temp.path,
    image: parseReference(`${registry.host}/team/app`),
    context: temp.path,
    file: `${temp.path}/Dockerfile`,
    platforms: [],
    buildArgs: [],
    extraTags: ['stable'],
    ownedTags: ownedTags(DEFAULT_ENVIRONMENTS, DEFAULT_TAG_TEMPLATE),
    builder: 'auto',
    push: true,
    tag: true,
    signing: { kind: 'none' },
    sbom: { kind: 'none' },
    provenance: true,
    mergeDigests: [digests['linux/amd64'] as string, digests['linux/arm64'] as string],
    git: { ref: 'refs/heads/main', sha, defaultBranch: 'main' },
    run: context,
    ...overrides,
  };
}

describe('merging per-platform digests into one signed index', () => {
  test('with a key: the index is pushed, signed, its provenance attested, and tagged last', async () => {
    const keys = generateKeyPair();
    const pem = await encryptPrivateKey(keys.privateKey, 'pw');
    const log = recordingLog();
    const outcome = await buildAndSign(options({ signing: { kind: 'key', pem, password: 'pw' } }), {
      processes: noProcesses,
      log,
    });
    expect(outcome.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(outcome.tags).toEqual(
      ['sha-ffac537', 'main-ffac537', 'latest', 'stable'].map((t) => `${registry.host}/team/app:${t}`),
    );
    const index = await client.getManifest('team/app', 'latest');
    expect(index.digest).toBe(outcome.digest);
    expect((JSON.parse(index.bytes.toString('utf8')) as ImageIndex).manifests.map((m) => m.digest)).toEqual([
      digests['linux/amd64'],
      digests['linux/arm64'],
    ]);
    const digest = outcome.digest as string;
    expect((await verifyImage(client, 'team/app', digest, keys.publicKey)).verified).toHaveLength(1);
    const attestations = await verifyAttestations(client, 'team/app', digest, keys.publicKey);
    expect(attestations.verified.map((v) => v.statement.predicateType)).toEqual([
      PredicateType.slsaProvenance,
    ]);
    expect(log.lines).toContain('notice: No SBOM attestation: "sbom: none".');
  });

  test("with a key and tlog-upload: the .sig layer carries Rekor's signed entry; an unreachable Rekor costs a notice", async () => {
    const issuer = await startOidcIssuer();
    const sigstore = await startSigstore({ issuers: [issuer], tsa: false });
    try {
      const keys = generateKeyPair();
      const pem = await encryptPrivateKey(keys.privateKey, 'pw');
      const logged = await buildAndSign(
        options({
          signing: { kind: 'key', pem, password: 'pw', tlog: { rekorURL: sigstore.url, required: true } },
          tag: false,
        }),
        { processes: noProcesses },
      );
      const digest = logged.digest as string;
      const { bytes } = await client.getManifest('team/app', signatureTag(digest));
      const layers = (JSON.parse(bytes.toString()) as ImageManifest).layers;
      const rekor = layers
        .map((l) => l.annotations?.['dev.sigstore.cosign/bundle'])
        .filter((a) => a !== undefined);
      expect(rekor).toHaveLength(1);
      const body = JSON.parse(Buffer.from(JSON.parse(rekor[0] as string).Payload.body, 'base64').toString());
      const layer = layers.find((l) => l.annotations?.['dev.sigstore.cosign/bundle'] !== undefined);
      expect(body).toMatchObject({
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: layer?.digest.slice(7) } },
          signature: { content: layer?.annotations?.['dev.cosignproject.cosign/signature'] },
        },
      });
      expect(sigstore.requests().filter((r) => r.service === 'rekor')).toHaveLength(1);
      expect((await verifyImage(client, 'team/app', digest, keys.publicKey)).verified).toHaveLength(1);

      const log = recordingLog();
      const other = generateKeyPair();
      const unreachable = `http://127.0.0.1:${await freePort()}`;
      const unlogged = await buildAndSign(
        options({
          signing: {
            kind: 'key',
            pem: await encryptPrivateKey(other.privateKey, 'pw'),
            password: 'pw',
            tlog: { rekorURL: unreachable, required: false },
          },
          tag: false,
        }),
        { processes: noProcesses, log },
      );
      expect(
        (await verifyImage(client, 'team/app', unlogged.digest as string, other.publicKey)).verified,
      ).toHaveLength(1);
      expect(log.lines.join('\n')).toMatch(
        /notice: The key signature was not logged in Rekor .*--insecure-ignore-tlog/,
      );
    } finally {
      await Promise.all([sigstore.stop(), issuer.stop()]);
    }
  });

  test('keyless: a Fulcio certificate for the job signs the image and its provenance, recorded with GitHub too', async () => {
    const issuer = await startOidcIssuer();
    const sigstore = await startSigstore({ issuers: [issuer] });
    try {
      const claims = githubClaims({ repository: 'octo-org/octo-repo', workflowFile: 'release.yml', sha });
      const recorded: SerializedBundle[] = [];
      const github: GitHubAttestations = {
        repository: 'octo-org/octo-repo',
        write: async (bundle) => {
          recorded.push(bundle);
          return { id: recorded.length };
        },
        list: async () => recorded,
      };
      const endpoints = { fulcioURL: sigstore.url, rekorURL: sigstore.url };
      const outcome = await buildAndSign(
        options({ signing: { kind: 'keyless', sigstore: endpoints }, tag: false }),
        {
          processes: noProcesses,
          identityTokens: { getToken: async (audience) => issuer.mint(claims, audience) },
          githubAttestations: github,
        },
      );
      const digest = outcome.digest as string;
      const trust = trustRootFromJSON(sigstore.trustedRoot, 'the local Sigstore');
      const identity = 'https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main';
      const policy = identityPolicy(
        { identity, issuer: issuer.issuer },
        { identity: 'i', identityRegExp: 'r', issuer: 's' },
      );
      const check = await verifyImageKeyless(client, 'team/app', digest, trust, policy);
      expect(check.verified).toMatchObject({ source: 'referrer', predicateType: COSIGN_SIGN_PREDICATE_TYPE });
      expect(outcome.signatureRef).toBe(`${registry.host}/team/app@${check.verified?.location}`);
      const provenance = await verifyAttestationsWith(
        client,
        'team/app',
        digest,
        { kind: 'keyless', root: trust, policy },
        PredicateType.slsaProvenance,
      );
      expect(provenance.verified).toHaveLength(1);
      expect(
        recorded.map(
          (b) => JSON.parse(Buffer.from(b.dsseEnvelope?.payload ?? '', 'base64').toString()).predicateType,
        ),
      ).toEqual([COSIGN_SIGN_PREDICATE_TYPE, PredicateType.slsaProvenance]);
      expect(outcome.tags).toEqual([]);
    } finally {
      await Promise.all([sigstore.stop(), issuer.stop()]);
    }
  });

  test('keyless without the job’s OIDC token says so, before anything is pushed', async () => {
    const sigstore = { fulcioURL: 'https://fulcio.sigstore.dev', rekorURL: 'https://rekor.sigstore.dev' };
    const error = await buildAndSign(options({ signing: { kind: 'keyless', sigstore } }), {
      processes: noProcesses,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildAndSignError);
    expect(error).toMatchObject({ code: 'CONFIGURATION', fault: 'user' });
    expect((error as Error).message).toMatch(/id-token: write.*Nothing was pushed, signed or tagged\.$/);
  });
});

describe('failures say what to fix and what had changed', () => {
  test('two digests of one platform are refused as the input they are, and nothing is written', async () => {
    const before = (await client.listTags('team/app')).sort();
    const amd64 = digests['linux/amd64'] as string;
    const error = await buildAndSign(options({ mergeDigests: [amd64, amd64] }), {
      processes: noProcesses,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'BuildAndSignError', code: 'MERGE', fault: 'user' });
    expect((error as Error).message).toMatch(
      /are both linux\/amd64.*Nothing was pushed, signed or tagged\.$/,
    );
    expect((await client.listTags('team/app')).sort()).toEqual(before);
  });

  test('an unreachable registry is the environment, named with the image input, before any build', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const error = await buildAndSign(
      options({ image: parseReference(`${host}/team/app`), mergeDigests: [] }),
      {
        processes: noProcesses,
      },
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', fault: 'environment' });
    expect((error as Error).message).toContain(`Registry ${host} (from "image") could not be reached`);
    expect((error as Error).message).toContain('Nothing was pushed, signed or tagged.');
  });
});
