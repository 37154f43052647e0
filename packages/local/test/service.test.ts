import {
  type DemoService,
  type LocalRegistry,
  startDemoService,
  startRegistry,
  waitUntil,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { buildImage } from '../../../test/harness/images.js';

let registry: LocalRegistry;
let client: RegistryClient;
let service: DemoService;
const digests: Record<string, string> = {};

beforeAll(async () => {
  registry = await startRegistry();
  client = new RegistryClient(registry.host);
  for (const [release, errorRate] of [
    ['good', 0],
    ['bad', 1],
  ] as const) {
    const built = await buildImage(
      { host: registry.host },
      {
        repository: 'demo/app',
        tag: release,
        files: {
          'srv/public/index.html': '<h1>demo</h1>\n',
          'srv/release.json': JSON.stringify({ version: release, errorRate }),
        },
      },
    );
    digests[release] = built.digest;
  }
  await moveCanary('good');
  service = await startDemoService({ client, repository: 'demo/app', tag: 'canary', pollMs: 50 });
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await client?.close();
  await registry?.stop();
});

async function moveCanary(release: string) {
  const manifest = await client.getManifest('demo/app', digests[release] as string);
  await client.putManifest('demo/app', 'canary', manifest.bytes, manifest.mediaType);
}

const health = async () => {
  const response = await fetch(`${service.url}/api/health`);
  return { status: response.status, body: await response.json() };
};

test('serves the release the canary tag points to, read out of that image, and follows the tag when it moves', async () => {
  expect(await health()).toEqual({ status: 200, body: { version: 'good', digest: digests.good, ok: true } });

  await moveCanary('bad');
  await waitUntil(
    'the service to follow the canary tag to the bad release',
    async () => service.digest() === digests.bad,
  );
  expect(await health()).toEqual({ status: 500, body: { version: 'bad', digest: digests.bad, ok: false } });

  // A rollback is only a tag move: the service is healthy again.
  await moveCanary('good');
  await waitUntil('the service to follow the rollback', async () => service.digest() === digests.good);
  expect((await health()).status).toBe(200);
});
