import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalRegistry, makeTempDir, runAction, startRegistry } from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { generateKeyPair, keyId, PredicateType, verifyAttestations, verifyImage } from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { pushConfigOnlyImage } from '../../packages/signing/test/images.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';

/**
 * Issue 13, item 12: the cosign `.sig` manifest and the fallback referrers index are read-modify-write
 * under one tag. Eight runs of the built build-and-sign action at once, each with its own key, merge the
 * same per-platform digests (so they sign one index digest) against a real registry; the fault proxy holds
 * back the first writes of both tags so every run reads them before any write lands. Every signature and
 * every provenance attestation must be there at the end.
 */
const SIGNERS = 8;
const repository = 'team/app';

let registry: LocalRegistry;
let proxy: FaultProxy;
let client: RegistryClient;
let workspace: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  [registry, workspace] = await Promise.all([startRegistry({ mode: 'open' }), makeTempDir('signers')]);
  proxy = await startFaultProxy({ url: registry.url });
  client = new RegistryClient(registry.host);
  // The push event a runner writes: the default branch comes from it.
  await writeFile(
    join(workspace.path, 'event.json'),
    JSON.stringify({ repository: { default_branch: 'main' } }),
  );
});
afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), proxy?.close(), workspace?.remove()]);
});

describe(`${SIGNERS} build-and-sign runs signing one digest at once`, () => {
  test('leave every signature and every provenance attestation in the registry', async () => {
    const digests = [
      await pushConfigOnlyImage(client, repository, { os: 'linux', architecture: 'amd64' }),
      await pushConfigOnlyImage(client, repository, { os: 'linux', architecture: 'arm64' }),
    ];
    const keys = Array.from({ length: SIGNERS }, () => generateKeyPair());
    // Both read-modify-write tags live under the index digest, which the runs compute alike: hold back the
    // first write of each run so that all of them read before any lands.
    proxy.fault({
      method: 'PUT',
      path: /\/manifests\/sha256-[a-f0-9]{64}(\.sig)?$/,
      delayMs: 1500,
      times: 2 * SIGNERS,
    });

    const runs = await Promise.all(
      keys.map((key) =>
        runAction('build-and-sign', {
          workspace: workspace.path,
          env: {
            GITHUB_EVENT_PATH: join(workspace.path, 'event.json'),
            GITHUB_WORKFLOW_REF: 'octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main',
          },
          inputs: {
            image: `${proxy.host}/${repository}`,
            'merge-digests': digests.join('\n'),
            'cosign-private-key': key.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
            sbom: 'none',
            tag: 'false',
          },
        }),
      ),
    );

    expect(runs.map((r) => r.annotations.filter((a) => a.level === 'error'))).toEqual(runs.map(() => []));
    expect(runs.map((r) => r.exitCode)).toEqual(runs.map(() => 0));
    const index = runs[0]?.outputs.digest ?? '';
    expect(runs.map((r) => r.outputs.digest)).toEqual(runs.map(() => index));

    const publicKeys = keys.map((k) => k.publicKey);
    const signatures = await verifyImage(client, repository, index, publicKeys);
    expect(signatures.rejected).toEqual([]);
    expect(signatures.verified.map((v) => v.keyId).sort()).toEqual(publicKeys.map((k) => keyId(k)).sort());
    const provenance = await verifyAttestations(
      client,
      repository,
      index,
      publicKeys,
      PredicateType.slsaProvenance,
    );
    expect(provenance.rejected).toEqual([]);
    expect(provenance.verified).toHaveLength(SIGNERS);
  });
});
