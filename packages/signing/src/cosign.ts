import type { KeyObject } from 'node:crypto';
import {
  type Descriptor,
  type ImageManifest,
  MediaType,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '@digestline/oci';
import { KeyError } from './errors.js';
import { keyId } from './keys.js';
import { signPayload, simpleSigningPayload } from './payload.js';
import { type PayloadCheck, verifyPayload } from './verify.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/**
 * Ours, beside cosign's: the keyId() of the signing key. cosign ignores it; with it a verifier can tell
 * "signed by a key you do not trust" from "changed after signing", which the signature alone cannot.
 */
export const KEY_ID_ANNOTATION = 'dev.digestline.signing/key-id';

/** cosign's tag for an image's signatures: `sha256-<hex>.sig`. */
export function signatureTag(digest: string): string {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1];
  if (hex === undefined) throw new Error(`image digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  return `sha256-${hex}.sig`;
}

export interface StoredSignatures {
  tag: string;
  /** The signature manifest as stored, or undefined when the image has no signatures yet. */
  manifest?: ImageManifest;
  digest?: string;
}

async function readSignatureManifest(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<StoredSignatures> {
  const tag = signatureTag(digest);
  try {
    const found = await client.getManifest(repository, tag);
    if (found.mediaType !== MediaType.ociManifest && found.mediaType !== MediaType.dockerManifest) {
      throw new Error(
        `${client.registry}/${repository}:${tag} holds a ${found.mediaType}, not a cosign signature manifest: ` +
          'something else was pushed under the signature tag; remove it before signing',
      );
    }
    return { tag, manifest: JSON.parse(found.bytes.toString('utf8')) as ImageManifest, digest: found.digest };
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return { tag };
    throw error;
  }
}

async function requireImage(client: RegistryClient, repository: string, digest: string): Promise<void> {
  if ((await client.headManifest(repository, digest)) === undefined) {
    throw new Error(
      `${client.registry}/${repository}@${digest} does not exist: push the image before signing it`,
    );
  }
}

/**
 * cosign's signature config: an image config whose layers are the payloads. Nothing reads it; it is written
 * so the signature manifest is a valid image for every registry and tool.
 */
function signatureConfig(layers: Descriptor[]): string {
  const zeroTime = '0001-01-01T00:00:00Z';
  return JSON.stringify({
    architecture: '',
    created: zeroTime,
    history: layers.map(() => ({ created: zeroTime })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
    config: {},
  });
}

export interface SignImageOptions {
  /** The payload's docker-reference; defaults to `<registry>/<repository>` of the client. */
  reference?: string;
  /** Claims signed along (the payload's `optional`), like `cosign sign -a key=value`. */
  annotations?: Record<string, string>;
}

export interface SignImageResult {
  tag: string;
  /** Digest of the signature manifest now behind the tag. */
  signatureDigest: string;
  /** false when this key had already signed this exact payload: nothing was written. */
  appended: boolean;
  /** The payload layer holding this signature. */
  layer: Descriptor;
}

/**
 * Signs an image the way `cosign sign --key` stores it: a payload layer in the manifest at `sha256-<hex>.sig`.
 * Signatures already there are kept. Two signers of one digest at the same moment can still lose one
 * layer: registries offer no compare-and-swap on a tag.
 */
export async function signImage(
  client: RegistryClient,
  repository: string,
  digest: string,
  privateKey: KeyObject,
  options: SignImageOptions = {},
): Promise<SignImageResult> {
  if (privateKey.type !== 'private')
    throw new KeyError('signImage needs the private key; it was given a public key');
  await requireImage(client, repository, digest);
  const payload = simpleSigningPayload(
    options.reference ?? `${client.registry}/${repository}`,
    digest,
    options.annotations,
  );
  const stored = await readSignatureManifest(client, repository, digest);
  const existing = stored.manifest?.layers ?? [];

  // Re-running a workflow must not pile up copies of one signature: same payload, same key → done.
  const payloadDigest = sha256Digest(payload);
  const publicKeyId = keyId(privateKey);
  for (const layer of existing) {
    const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (layer.digest !== payloadDigest || signature === undefined) continue;
    if (verifyPayload(payload, signature, privateKey, { digest }).ok && stored.digest !== undefined) {
      return { tag: stored.tag, signatureDigest: stored.digest, appended: false, layer };
    }
  }

  const blob = await client.pushBlob(repository, payload);
  const layer: Descriptor = {
    mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
    digest: blob.digest,
    size: blob.size,
    annotations: {
      [SIGNATURE_ANNOTATION]: signPayload(payload, privateKey),
      [KEY_ID_ANNOTATION]: publicKeyId,
    },
  };
  const layers = [...existing, layer];
  const config = await client.pushBlob(repository, signatureConfig(layers));
  const manifest: ImageManifest = {
    ...(stored.manifest ?? { schemaVersion: 2, mediaType: MediaType.ociManifest }),
    config: {
      mediaType: stored.manifest?.config.mediaType ?? MediaType.ociConfig,
      digest: config.digest,
      size: config.size,
    },
    layers,
  };
  const mediaType = manifest.mediaType ?? MediaType.ociManifest;
  const put = await client.putManifest(
    repository,
    stored.tag,
    Buffer.from(JSON.stringify(manifest)),
    mediaType,
  );
  return { tag: stored.tag, signatureDigest: put.digest, appended: true, layer };
}

export interface SignatureCheck extends PayloadCheck {
  /** The payload layer in the signature manifest this check is about. */
  layer: Descriptor;
}

export interface ImageVerification {
  tag: string;
  /** The signature manifest read, absent when the image has no signatures. */
  signatureDigest?: string;
  verified: SignatureCheck[];
  rejected: SignatureCheck[];
}

/**
 * Checks every signature stored for an image against the trusted keys. The image is trusted when
 * `verified` is not empty; `rejected` says, per layer, why the others did not count.
 */
export async function verifyImage(
  client: RegistryClient,
  repository: string,
  digest: string,
  publicKeys: KeyObject | readonly KeyObject[],
  options: { reference?: string } = {},
): Promise<ImageVerification> {
  const stored = await readSignatureManifest(client, repository, digest);
  const result: ImageVerification = {
    tag: stored.tag,
    signatureDigest: stored.digest,
    verified: [],
    rejected: [],
  };
  for (const layer of stored.manifest?.layers ?? []) {
    const check = await checkLayer(client, repository, layer, publicKeys, {
      digest,
      reference: options.reference,
    });
    (check.ok ? result.verified : result.rejected).push(check);
  }
  return result;
}

async function checkLayer(
  client: RegistryClient,
  repository: string,
  layer: Descriptor,
  publicKeys: KeyObject | readonly KeyObject[],
  expected: { digest: string; reference?: string },
): Promise<SignatureCheck> {
  if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
    return {
      ok: false,
      reason: 'malformed-payload',
      message: `the layer is ${layer.mediaType}, not a cosign simple-signing payload`,
      layer,
    };
  }
  const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
  if (signature === undefined) {
    return {
      ok: false,
      reason: 'malformed-signature',
      message: `the layer has no ${SIGNATURE_ANNOTATION} annotation`,
      layer,
    };
  }
  const payload = await client.getBlob(repository, layer.digest);
  const check = verifyPayload(
    payload,
    signature,
    publicKeys,
    expected,
    layer.annotations?.[KEY_ID_ANNOTATION],
  );
  return { ...check, layer };
}
