import { type LocalRegistry, startRegistry } from '@digestline/local';
import {
  RegistryClient,
  type RegistryClientOptions,
  type RegistryError,
  sha256Digest,
} from '../src/index.js';

export type User = 'main' | 'readOnly' | 'none';

/** Registries and clients a suite started, all stopped in afterAll even when beforeAll failed halfway. */
export function resources() {
  const registries: LocalRegistry[] = [];
  const clients: RegistryClient[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  return {
    async registry(options: Parameters<typeof startRegistry>[0]): Promise<LocalRegistry> {
      const registry = await startRegistry(options);
      registries.push(registry);
      return registry;
    },
    client(registry: LocalRegistry, options: RegistryClientOptions & { user?: User; host?: string } = {}) {
      const { user = 'main', host, ...rest } = options;
      const credentials =
        user === 'main' && registry.username !== undefined && registry.password !== undefined
          ? { username: registry.username, password: registry.password }
          : user === 'readOnly'
            ? registry.readOnlyUser
            : undefined;
      // A proxy in front of a TLS registry speaks plain HTTP; only the registry itself needs TLS.
      const tls = host === undefined ? registry.tls : false;
      const client = new RegistryClient(host ?? registry.host, {
        ...(credentials === undefined ? {} : { credentials }),
        ...(tls ? { tls: true, ca: registry.caCertPem } : {}),
        // An empty file: a developer's own ~/.docker/config.json must not change what a test sees.
        dockerConfig: emptyDockerConfig,
        retry: { baseDelayMs: 20, maxDelayMs: 200 },
        ...rest,
      });
      clients.push(client);
      return client;
    },
    onClose(close: () => Promise<unknown>) {
      closers.push(close);
    },
    async closeAll() {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(closers.map((close) => close()));
      await Promise.all(registries.map((r) => r.stop()));
    },
  };
}

export const emptyDockerConfig = new URL('./fixtures/empty-docker-config.json', import.meta.url).pathname;

/** A config blob and a layer-less OCI manifest for it, unique per label. */
export function smallImage(label: string) {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { label } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: [],
    }),
  );
  return { config, manifest, digest: sha256Digest(manifest) };
}

/** Pushes `smallImage(label)` as `tag` and returns it. */
export async function pushSmallImage(client: RegistryClient, repository: string, tag: string, label = tag) {
  const image = smallImage(label);
  await client.pushBlob(repository, image.config);
  await client.putManifest(repository, tag, image.manifest, 'application/vnd.oci.image.manifest.v1+json');
  return image;
}

/** The error a call failed with, or undefined when it succeeded: for asserting on a refusal's details. */
export const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as RegistryError,
  );
