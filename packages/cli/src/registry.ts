import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type ImageReference,
  InvalidReferenceError,
  parseReference,
  RegistryClient,
  RegistryError,
} from '@digestline/oci';
import { KeyError, loadPrivateKey, loadPublicKey } from '@digestline/signing';
import { UsageError } from './errors.js';

export function reference(value: string, what: string): ImageReference {
  try {
    return parseReference(value);
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw new UsageError(`${what}: ${error.message}`);
    throw error;
  }
}

/**
 * The digest a tag names, hashed from the manifest bytes the registry serves: a HEAD's
 * Docker-Content-Digest header is the registry's word only, and a registry that lies with it would have
 * another (signed) image checked in place of the one the tag serves. Undefined when the tag does not exist.
 */
export async function resolveTag(
  client: RegistryClient,
  repository: string,
  tag: string,
): Promise<string | undefined> {
  try {
    return (await client.getManifest(repository, tag)).digest;
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return undefined;
    throw error;
  }
}

/** Credentials come from the Docker config (~/.docker/config.json), as for docker and skopeo. */
export function clientFor(registry: string): RegistryClient {
  return new RegistryClient(registry);
}

async function readKeyFile(path: string, option: string): Promise<Buffer> {
  return readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${option} ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
}

export async function publicKeyFrom(path: unknown, option = '--pub'): Promise<KeyObject> {
  if (typeof path !== 'string') throw new UsageError(`${option} <cosign.pub> is required`);
  try {
    return loadPublicKey(await readKeyFile(path, option));
  } catch (error) {
    if (error instanceof KeyError) throw new UsageError(`${option} ${path}: ${error.message}`);
    throw error;
  }
}

/** cosign's key file; the password comes from COSIGN_PASSWORD (RECORD_PASSWORD for --record-key), as with cosign. */
export async function privateKeyFrom(
  path: unknown,
  option = '--key',
  passwordVariable = 'COSIGN_PASSWORD',
): Promise<KeyObject> {
  if (typeof path !== 'string')
    throw new UsageError(`${option} <cosign.key> is required (it signs the promotion record)`);
  try {
    return await loadPrivateKey(await readKeyFile(path, option), process.env[passwordVariable] ?? '');
  } catch (error) {
    if (error instanceof KeyError)
      throw new UsageError(
        `${option} ${path}: ${error.message} (the password is read from ${passwordVariable})`,
      );
    throw error;
  }
}
