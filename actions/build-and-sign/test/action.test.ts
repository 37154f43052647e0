import { type LocalRegistry, makeTempDir, runAction, startRegistry } from '@digestline/local';
import type { ImageIndex, ImageManifest, RegistryClient } from '@digestline/oci';
import {
  encryptPrivateKey,
  generateKeyPair,
  PredicateType,
  verifyAttestations,
  verifyImage,
} from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startFaultProxy } from '../../../test/harness/fault-proxy.js';
import { buildImage } from '../../../test/harness/images.js';
import {
  clientFor,
  corpusKey,
  registryContents,
  SPDX,
  WORKFLOW_REF,
  writeProject,
  writePushEvent,
} from './helpers.js';

let open: LocalRegistry;
let openClient: RegistryClient;
let workspace: { path: string; remove(): Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  [open, workspace] = await Promise.all([startRegistry({ mode: 'open' }), makeTempDir('build-and-sign')]);
  openClient = clientFor(open);
  await writeProject(workspace.path, { 'sbom.spdx.json': SPDX });
  env = { GITHUB_EVENT_PATH: await writePushEvent(workspace.path), GITHUB_WORKFLOW_REF: WORKFLOW_REF };
});

afterAll(async () => {
  await openClient?.close();
  await Promise.all([open?.stop(), workspace?.remove()]);
});

async function configOf(client: RegistryClient, repository: string, digest: string) {
  const manifest = JSON.parse(
    (await client.getManifest(repository, digest)).bytes.toString('utf8'),
  ) as ImageManifest;
  return JSON.parse((await client.getBlob(repository, manifest.config.digest)).toString('utf8'));
}

describe('build, push, sign with the corpus cosign key, attest, tag', () => {
  test('the digest output is the registry digest, signed, attested and tagged; the key is masked', async () => {
    const result = await runAction('build-and-sign', {
      workspace: workspace.path,
      env,
      inputs: {
        image: `${open.host}/team/app`,
        'cosign-private-key': corpusKey.pem,
        sbom: 'sbom.spdx.json',
        'build-args': 'GREETING=hi, from CI',
        tags: 'stable',
      },
    });
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(result.exitCode).toBe(0);
    const { digest } = result.outputs;
    const registryDigest = (await openClient.headManifest('team/app', 'sha-ffac537'))?.digest;
    expect(digest).toBe(registryDigest);
    expect(result.outputs['image-ref']).toBe(`${open.host}/team/app@${digest}`);
    expect(result.outputs.tags?.split('\n')).toEqual(
      ['sha-ffac537', 'main-ffac537', 'latest', 'stable'].map((t) => `${open.host}/team/app:${t}`),
    );
    for (const tag of ['main-ffac537', 'latest', 'stable']) {
      expect((await openClient.headManifest('team/app', tag))?.digest).toBe(digest);
    }
    expect(result.outputs['sbom-path']).toBe(`${workspace.path}/sbom.spdx.json`);

    const config = await configOf(openClient, 'team/app', digest as string);
    expect(config.config.Labels.greeting).toBe('hi, from CI');
    expect(config.architecture).toBe('amd64');

    const signatures = await verifyImage(openClient, 'team/app', digest as string, corpusKey.publicKey);
    expect(signatures.verified).toHaveLength(1);
    expect(result.outputs['signature-ref']).toBe(
      `${open.host}/team/app:${signatures.tag}@${signatures.signatureDigest}`,
    );
    const attestations = await verifyAttestations(
      openClient,
      'team/app',
      digest as string,
      corpusKey.publicKey,
    );
    expect(attestations.rejected).toEqual([]);
    expect(attestations.verified.map((v) => v.statement.predicateType).sort()).toEqual(
      [PredicateType.slsaProvenance, PredicateType.spdx].sort(),
    );
    const provenance = attestations.verified.find(
      (v) => v.statement.predicateType === PredicateType.slsaProvenance,
    );
    expect(provenance?.statement.predicate).toMatchObject({
      buildDefinition: {
        externalParameters: { workflow: { path: '.github/workflows/release.yml', ref: 'refs/heads/main' } },
        resolvedDependencies: [{ digest: { gitCommit: 'ffac537e6cbbf934b08745a378932722df287a53' } }],
      },
    });

    expect(result.summary).toContain(`| Digest | \`${digest}\` |`);
    expect(result.summary).toContain('| Platforms | linux/amd64 |');
    for (const line of corpusKey.pem.split('\n').filter((l) => l.length > 20)) {
      expect(result.masks).toContain(line);
      expect(result.log).not.toContain(line);
    }
  });

  test('a failure after the push says what was pushed and signed, and no tag is written', async () => {
    const proxy = await startFaultProxy({ url: open.url });
    try {
      proxy.fault({
        method: 'PUT',
        path: /\/manifests\/sha-/,
        respond: { status: 400, body: '{"errors":[{"code":"TAG_INVALID","message":"no"}]}' },
      });
      const result = await runAction('build-and-sign', {
        workspace: workspace.path,
        env,
        inputs: {
          image: `${proxy.host}/team/halfway`,
          'cosign-private-key': corpusKey.pem,
          sbom: 'none',
          'build-args': 'GREETING=halfway',
        },
      });
      expect(result.exitCode).toBe(1);
      const message = result.annotations.find((a) => a.level === 'error')?.message ?? '';
      const pushed = /Pushed \S+\/team\/halfway@(sha256:[a-f0-9]{64}) \(by digest\)/.exec(message)?.[1];
      expect(pushed).toBeDefined();
      expect(message).toMatch(/; signed \(\S+:sha256-[a-f0-9]{64}\.sig@sha256:[a-f0-9]{64}\)/);
      expect(message).toContain('attested (https://slsa.dev/provenance/v1');
      expect(message).toContain('not tagged');
      const tags = (await registryContents(open))['team/halfway'] ?? [];
      // Only the signature, the referrers fallback index and each referrer's own tag: tags a deployment
      // could pull by are absent.
      expect(tags.every((t) => /^sha256-[a-f0-9]{64}(\.sig|\.[a-f0-9]{32}\.ref)?$/.test(t))).toBe(true);
      expect(tags).toContain(`sha256-${pushed?.slice(7)}.sig`);
    } finally {
      await proxy.close();
    }
  });
});

describe('credentials, several platforms and merged digests', () => {
  test('token registry: a two-platform build becomes one signed OCI index; our encrypted key and password work and stay masked', async () => {
    const registry = await startRegistry({ mode: 'token' });
    const client = clientFor(registry);
    try {
      const password = 'a passphrase that must not leak';
      const keys = generateKeyPair();
      const result = await runAction('build-and-sign', {
        workspace: workspace.path,
        env,
        inputs: {
          image: `${registry.host}/team/multi`,
          platforms: 'linux/amd64,linux/arm64',
          'registry-username': registry.username ?? '',
          'registry-password': registry.password ?? '',
          'cosign-private-key': await encryptPrivateKey(keys.privateKey, password),
          'cosign-password': password,
          sbom: 'auto',
        },
      });
      expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
      expect(result.exitCode).toBe(0);
      const digest = result.outputs.digest as string;
      const index = await client.getManifest('team/multi', 'latest');
      expect(index.digest).toBe(digest);
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      const platforms = (JSON.parse(index.bytes.toString('utf8')) as ImageIndex).manifests.map(
        (m) => `${m.platform?.os}/${m.platform?.architecture}`,
      );
      expect(platforms).toEqual(['linux/amd64', 'linux/arm64']);
      expect((await verifyImage(client, 'team/multi', digest, keys.publicKey)).verified).toHaveLength(1);
      expect(result.summary).toContain('| Platforms | linux/amd64, linux/arm64 |');

      // sbom: auto without syft or trivy on PATH: skipped with a notice, not an error.
      expect(result.annotations).toContainEqual(
        expect.objectContaining({
          level: 'notice',
          message: expect.stringContaining('found neither syft nor trivy'),
        }),
      );
      expect(result.outputs['sbom-path']).toBe('');
      for (const secretValue of [password, registry.password ?? '']) {
        expect(result.masks).toContain(secretValue);
        expect(result.log).not.toContain(secretValue);
      }
      const pushes = registry.tokenRequests?.().filter((r) => r.scope.some((s) => s.includes('push'))) ?? [];
      expect(pushes.length).toBeGreaterThan(0);
      expect(pushes.every((r) => r.username === registry.username)).toBe(true);
    } finally {
      await client.close();
      await registry.stop();
    }
  });

  test('merge-digests turns per-platform images from other runners into one signed, tagged index', async () => {
    // One runner's image from another tool, one from this action pushed by digest only.
    const amd64 = await buildImage(
      { host: open.host },
      {
        repository: 'team/merged',
        tag: 'from-elsewhere',
        platform: 'linux/amd64',
        files: { 'app.txt': 'amd64' },
      },
    );
    const perPlatform = await runAction('build-and-sign', {
      workspace: workspace.path,
      env,
      inputs: {
        image: `${open.host}/team/merged`,
        platforms: 'linux/arm64',
        tag: 'false',
        signing: 'none',
        provenance: 'false',
        sbom: 'none',
      },
    });
    expect(perPlatform.exitCode).toBe(0);
    expect(perPlatform.outputs.tags).toBe('');
    expect(perPlatform.outputs['signature-ref']).toBe('');
    expect((await registryContents(open))['team/merged']).toEqual(['from-elsewhere']);
    const arm64 = { digest: perPlatform.outputs.digest };

    const result = await runAction('build-and-sign', {
      workspace: workspace.path,
      env,
      inputs: {
        image: `${open.host}/team/merged`,
        'merge-digests': `${amd64?.digest}\n${open.host}/team/merged@${arm64?.digest}`,
        'cosign-private-key': corpusKey.pem,
        sbom: 'none',
      },
    });
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(result.exitCode).toBe(0);
    const digest = result.outputs.digest as string;
    const index = await openClient.getManifest('team/merged', 'sha-ffac537');
    expect(index.digest).toBe(digest);
    const manifests = (JSON.parse(index.bytes.toString('utf8')) as ImageIndex).manifests;
    expect(manifests.map((m) => [m.digest, m.platform?.architecture])).toEqual([
      [amd64?.digest, 'amd64'],
      [arm64?.digest, 'arm64'],
    ]);
    expect((await verifyImage(openClient, 'team/merged', digest, corpusKey.publicKey)).verified).toHaveLength(
      1,
    );
    expect(result.summary).not.toContain('| Builder |');
  });
});
