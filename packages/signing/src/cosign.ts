import type { KeyObject } from 'node:crypto';
import {
  type Descriptor,
  type ImageManifest,
  MediaType,
  mergeIntoTag,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '@digestline/oci';
import { keySigner } from './bundle.js';
import { KeyError } from './errors.js';
import { loggedSignatureAnnotations } from './keyless/legacy.js';
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
/**
 * A simple-signing payload is a few hundred bytes and a sigstore bundle a few KiB: a layer claiming more
 * than this is not read into memory.
 */
export const MAX_SIGNATURE_LAYER_BYTES = 16 * 1024 * 1024;

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
  /**
   * Log the signature in this Rekor too (the layer then carries Rekor's signed entry, as `cosign sign
   * --key` writes it), so `cosign verify --key` needs no `--insecure-ignore-tlog`.
   */
  rekorURL?: string;
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
 * Signatures already there are kept, and so are those of signers writing the same tag at the same moment:
 * the layer is merged into what the tag holds, read back and merged again until it stays (`mergeIntoTag`).
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
  // Re-running a workflow must not pile up copies of one signature: same payload, same key → done.
  const payloadDigest = sha256Digest(payload);
  return appendSignatureLayer(client, repository, digest, payload, {
    holds: (layer) => {
      const signature = layer.annotations?.[SIGNATURE_ANNOTATION];
      return (
        layer.digest === payloadDigest &&
        signature !== undefined &&
        verifyPayload(payload, signature, privateKey, { digest }).ok
      );
    },
    annotations: async () => ({
      ...(options.rekorURL === undefined
        ? { [SIGNATURE_ANNOTATION]: signPayload(payload, privateKey) }
        : await loggedSignatureAnnotations(payload, keySigner(privateKey), options.rekorURL)),
      [KEY_ID_ANNOTATION]: keyId(privateKey),
    }),
  });
}

/**
 * Adds a payload layer to the image's `sha256-<hex>.sig` manifest unless one there already `holds` this
 * signature. `annotations` (the signature and what goes with it) is made once, so every write of a merge
 * adds the very same layer; the writes of other signers at the same moment are kept (`mergeIntoTag`).
 */
export async function appendSignatureLayer(
  client: RegistryClient,
  repository: string,
  digest: string,
  payload: Buffer,
  layer: { holds(layer: Descriptor): boolean; annotations(): Promise<Record<string, string>> },
): Promise<SignImageResult> {
  let signed: Descriptor | undefined;
  const tag = signatureTag(digest);
  const { outcome, entry } = await mergeIntoTag({
    what: `adding a signature of ${digest} to ${client.registry}/${repository}:${tag}`,
    registry: client.registry,
    read: () => readSignatureManifest(client, repository, digest),
    find: (stored) => {
      const found = stored.manifest?.layers.find((l) => layer.holds(l));
      return found === undefined || stored.digest === undefined
        ? undefined
        : { layer: found, manifest: stored.digest };
    },
    write: async (stored) => {
      if (signed === undefined) {
        const annotations = await layer.annotations();
        const blob = await client.pushBlob(repository, payload);
        signed = { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest: blob.digest, size: blob.size, annotations };
      }
      await putSignatureManifest(client, repository, stored, [...(stored.manifest?.layers ?? []), signed]);
    },
  });
  return { tag, signatureDigest: entry.manifest, appended: outcome === 'written', layer: entry.layer };
}

/** The signature manifest under `stored.tag` with `layers`, beside a config that lists them. */
async function putSignatureManifest(
  client: RegistryClient,
  repository: string,
  stored: StoredSignatures,
  layers: Descriptor[],
): Promise<void> {
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
  await client.putManifest(repository, stored.tag, Buffer.from(JSON.stringify(manifest)), mediaType);
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
  if (!(layer.size <= MAX_SIGNATURE_LAYER_BYTES)) {
    return {
      ok: false,
      reason: 'malformed-payload',
      message: `the layer says it holds ${layer.size} bytes, more than the ${MAX_SIGNATURE_LAYER_BYTES} a signature payload may have; it was not read`,
      layer,
    };
  }
  const payload = await client.getBlob(repository, layer, { maxBytes: MAX_SIGNATURE_LAYER_BYTES });
  const check = verifyPayload(
    payload,
    signature,
    publicKeys,
    expected,
    layer.annotations?.[KEY_ID_ANNOTATION],
  );
  return { ...check, layer };
}
