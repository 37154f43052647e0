import type { KeyObject } from 'node:crypto';
import { ConfigurationError } from '@digestline/base';
import type { RegistryClient } from '@digestline/oci';
import {
  KeyError,
  keyId,
  keySigner,
  loadPrivateKey,
  type SerializedBundle,
  type Statement,
  signImage,
  signStatement,
} from '@digestline/signing';
import type { Attestor } from './host.js';
import { INPUT, type Signing } from './options.js';

/** How this run signs: the image itself (cosign format) and in-toto statements about it. */
export interface ImageSigner {
  /** For the summary: `key 3f2a…` or `keyless (Sigstore, GitHub attestation)`. */
  description: string;
  /** cosign-format signature of the image; absent for keyless, whose signature is the provenance bundle. */
  signImage?(client: RegistryClient, repository: string, digest: string): Promise<string>;
  signStatement(statement: Statement): Promise<SerializedBundle>;
}

/**
 * Opens the key before anything is built or pushed, so a wrong password fails a run that changed
 * nothing.
 */
export async function createSigner(
  signing: Signing,
  attestor: Attestor | undefined,
): Promise<ImageSigner | undefined> {
  if (signing.kind === 'none') return undefined;
  if (signing.kind === 'keyless') return keylessSigner(attestor);
  let key: KeyObject;
  try {
    key = await loadPrivateKey(signing.pem, signing.password);
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    throw new ConfigurationError(
      `Input "${INPUT.cosignPrivateKey}" could not be used: ${error.message}. Check "${INPUT.cosignPassword}" (the password given to cosign generate-key-pair) and that the secret holds the whole PEM.`,
    );
  }
  const signer = keySigner(key);
  return {
    description: `key ${keyId(key).slice(0, 16)}`,
    async signImage(client, repository, digest) {
      const result = await signImage(client, repository, digest, key);
      return `${client.registry}/${repository}:${result.tag}@${result.signatureDigest}`;
    },
    signStatement: (statement) => signStatement(statement, signer),
  };
}

/** Keyless: the attestor signs each statement; the host has one only when it has a token for GitHub. */
function keylessSigner(attestor: Attestor | undefined): ImageSigner {
  if (attestor === undefined) {
    throw new ConfigurationError(
      `Keyless signing records attestations with GitHub and needs "${INPUT.githubToken}" (default \${{ github.token }}, with "permissions: attestations: write").`,
    );
  }
  return {
    description: 'keyless (Sigstore certificate for the workflow identity, GitHub attestation)',
    signStatement: (statement) => attestor.attest(statement),
  };
}
