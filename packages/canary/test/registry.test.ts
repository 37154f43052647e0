import { type LocalRegistry, startRegistry } from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { pushRandomImage } from '../../../test/harness/images.js';
import { CommandProvider, DigestNotFoundError, inspectImage, RegistryTagProvider } from '../src/index.js';

let registry: LocalRegistry;
let client: RegistryClient;
let stableDigest: string;
let canaryDigest: string;
const repository = 'team/app';

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient(registry.host);
  stableDigest = (
    await pushRandomImage(registry, { repository, tag: 'production', layers: 1, totalBytes: 512, seed: 1 })
  ).digest;
  canaryDigest = (
    await pushRandomImage(registry, { repository, tag: 'build-2', layers: 1, totalBytes: 512, seed: 2 })
  ).digest;
});
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

const tagDigest = async (tag: string) => (await client.headManifest(repository, tag))?.digest;

describe('registry-tag provider on a real registry', () => {
  test('without a canary tag yet, the stable tag is what a rollback restores', async () => {
    const image = { client, repository: 'team/first' };
    const first = await pushRandomImage(registry, {
      repository: 'team/first',
      tag: 'production',
      layers: 1,
      totalBytes: 64,
      seed: 3,
    });
    expect(await inspectImage(image, first.digest, { canaryTag: 'canary', stableTag: 'production' })).toEqual(
      {
        previousDigest: first.digest,
      },
    );
  });

  test('refuses a digest the registry does not hold, before changing anything', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    await expect(
      inspectImage({ client, repository }, missing, { canaryTag: 'canary', stableTag: 'production' }),
    ).rejects.toThrow(DigestNotFoundError);
    expect(await tagDigest('canary')).toBeUndefined();
  });

  test('moves the canary tag to the digest and restores the previous digest on rollback', async () => {
    const image = { client, repository };
    const { previousDigest } = await inspectImage(image, canaryDigest, {
      canaryTag: 'canary',
      stableTag: 'production',
    });
    expect(previousDigest).toBe(stableDigest);
    const provider = new RegistryTagProvider(image, {
      canaryTag: 'canary',
      digest: canaryDigest,
      previousDigest,
    });
    await provider.deploy();
    expect(await tagDigest('canary')).toBe(canaryDigest);
    await provider.setWeight();
    await provider.promote();
    expect(await tagDigest('production')).toBe(stableDigest);
    await provider.rollback();
    expect(await tagDigest('canary')).toBe(stableDigest);
  });

  test('with the canary tag already in place, its digest (not the stable one) is the rollback target', async () => {
    const image = { client, repository };
    const third = await pushRandomImage(registry, {
      repository,
      tag: 'build-3',
      layers: 1,
      totalBytes: 512,
      seed: 4,
    });
    await new RegistryTagProvider(image, { canaryTag: 'canary', digest: canaryDigest }).deploy();
    expect(await inspectImage(image, third.digest, { canaryTag: 'canary', stableTag: 'production' })).toEqual(
      {
        previousDigest: canaryDigest,
      },
    );
  });

  test('when the ladder already moved the canary tag to this digest, the stable digest is the rollback target', async () => {
    const image = { client, repository: 'team/ladder' };
    const stable = await pushRandomImage(registry, {
      repository: 'team/ladder',
      tag: 'production',
      layers: 1,
      totalBytes: 128,
      seed: 5,
    });
    const release = await pushRandomImage(registry, {
      repository: 'team/ladder',
      tag: 'canary',
      layers: 1,
      totalBytes: 128,
      seed: 6,
    });
    expect(
      await inspectImage(image, release.digest, { canaryTag: 'canary', stableTag: 'production' }),
    ).toEqual({
      previousDigest: stable.digest,
    });
  });
});

describe('command provider on a real registry', () => {
  test('user commands move tags with skopeo using DIGEST and PREVIOUS_DIGEST from the environment', async () => {
    const copy = (source: string) =>
      `skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://${registry.host}/${repository}@${source} docker://${registry.host}/${repository}:cmd-canary`;
    const provider = new CommandProvider(
      { deploy: copy('$DIGEST'), rollback: copy('$PREVIOUS_DIGEST') },
      { digest: canaryDigest, previousDigest: stableDigest },
    );
    await provider.deploy(5);
    expect(await tagDigest('cmd-canary')).toBe(canaryDigest);
    await provider.rollback();
    expect(await tagDigest('cmd-canary')).toBe(stableDigest);
  });
});
