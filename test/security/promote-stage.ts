import {
  type ActionResult,
  type LocalRegistry,
  type RegistryMode,
  runAction,
  startRegistry,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { signImage } from '@digestline/signing';
import { makeKeys, pushSignedImage, type TestKeys } from '../../packages/promotion/test/helpers.js';
import {
  type FaultProxy,
  type HostileHost,
  startFaultProxy,
  startHostileHost,
} from '../harness/fault-proxy.js';

/**
 * What the security tests of the built promote action share: a real registry, the fault proxy in front of
 * it (the address the action is given), a hostile host, and a cosign key pair the action signs and
 * verifies with. The registry's own user is passed to the action when the registry has one.
 */
export interface PromoteStage {
  registry: LocalRegistry;
  /** Straight to the registry, as its own user: for setting up and checking, never through the proxy. */
  client: RegistryClient;
  proxy: FaultProxy;
  hostile: HostileHost;
  keys: TestKeys;
  /** A random image pushed to `repository` and signed for the name the action reaches it by. */
  signedImage(repository: string, seed: number, name?: string): Promise<string>;
  /** Runs promote: `repository@digest` through the proxy, a fresh build into dev, no GitHub deployment. */
  promote(repository: string, digest: string, extra?: Record<string, string>): Promise<ActionResult>;
  /** Forgets what the proxy and the hostile host saw. */
  clear(): void;
  stop(): Promise<void>;
}

export async function startPromoteStage(mode: RegistryMode): Promise<PromoteStage> {
  const [registry, keys, hostile] = await Promise.all([
    startRegistry({ mode }),
    makeKeys(`${mode}-stage-pass`),
    startHostileHost(),
  ]);
  const proxy = await startFaultProxy({ url: registry.url, ca: registry.caCertPem });
  const credentials =
    registry.username === undefined
      ? undefined
      : { username: registry.username, password: registry.password ?? '' };
  const client = new RegistryClient(registry.host, {
    ...(credentials === undefined ? {} : { credentials }),
    ...(registry.tls ? { tls: true, ca: registry.caCertPem } : {}),
  });
  return {
    registry,
    client,
    proxy,
    hostile,
    keys,
    async signedImage(repository, seed, name = `${proxy.host}/${repository}`) {
      const digest = await pushSignedImage(registry, client, repository, seed, undefined);
      // Signed for the name the action is given, so the defect under test is the only thing that can stop it.
      await signImage(client, repository, digest, keys.privateKey, { reference: name });
      return digest;
    },
    promote: (repository, digest, extra = {}) =>
      runAction('promote', {
        inputs: {
          image: `${proxy.host}/${repository}`,
          digest,
          'target-env': 'dev',
          'public-key': keys.publicPem,
          'cosign-private-key': keys.encryptedPem,
          'cosign-password': keys.password,
          'record-deployment': 'false',
          ...(credentials === undefined
            ? {}
            : { 'registry-username': credentials.username, 'registry-password': credentials.password }),
          ...extra,
        },
      }),
    clear() {
      proxy.clear();
      hostile.clear();
    },
    async stop() {
      await client.close();
      await Promise.all([registry.stop(), proxy.close(), hostile.close()]);
    },
  };
}

/** The message of the `::error` the action printed, or '' without one. */
export const errorOf = (result: ActionResult): string =>
  result.annotations.find((a) => a.level === 'error')?.message ?? '';
