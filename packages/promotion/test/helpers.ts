import type { KeyObject } from 'node:crypto';
import type { LocalRegistry } from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import {
  encryptPrivateKey,
  generateKeyPair,
  loadPrivateKey,
  publicKeyPem,
  signImage,
} from '@digestline/signing';
import { pushRandomImage } from '../../../test/harness/images.js';

export interface TestKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** cosign's encrypted PEM of privateKey and its password, as a workflow secret holds them. */
  encryptedPem: string;
  password: string;
  publicPem: string;
}

/** A cosign-format key pair, encrypted and opened again the way the action will open it. */
export async function makeKeys(password: string): Promise<TestKeys> {
  const pair = generateKeyPair();
  const encryptedPem = await encryptPrivateKey(pair.privateKey, password);
  const privateKey = await loadPrivateKey(encryptedPem, password);
  return {
    privateKey,
    publicKey: pair.publicKey,
    encryptedPem,
    password,
    publicPem: publicKeyPem(pair.publicKey),
  };
}

/** A small random image pushed under `build-<seed>`, signed with `signer` unless it is undefined. */
export async function pushSignedImage(
  registry: LocalRegistry,
  client: RegistryClient,
  repository: string,
  seed: number,
  signer: KeyObject | undefined,
): Promise<string> {
  const { digest } = await pushRandomImage(registry, {
    repository,
    tag: `build-${seed}`,
    layers: 2,
    totalBytes: 4096,
    seed,
  });
  if (signer !== undefined) await signImage(client, repository, digest, signer);
  return digest;
}

/** Every tag of the repositories → the digest it resolves to: compared before and after a refused promotion. */
export async function snapshotTags(
  client: RegistryClient,
  repositories: string[],
): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  for (const repository of repositories) {
    let tags: string[] = [];
    try {
      tags = await client.listTags(repository);
    } catch {
      // A repository nothing was pushed to yet has no tags to compare.
    }
    for (const tag of tags.sort()) {
      snapshot[`${repository}:${tag}`] = (await client.headManifest(repository, tag))?.digest ?? 'missing';
    }
  }
  return snapshot;
}

export function clientFor(registry: LocalRegistry): RegistryClient {
  return new RegistryClient(registry.host, { retry: { attempts: 1 } });
}
