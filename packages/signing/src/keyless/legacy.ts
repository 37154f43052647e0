import {
  type Descriptor,
  type ImageManifest,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '@digestline/oci';
import type { SerializedBundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import type { MessageSignatureBundleBuilder } from '@sigstore/sign';
import type { Signer } from '../bundle.js';
import {
  appendSignatureLayer,
  MAX_SIGNATURE_LAYER_BYTES,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
} from '../cosign.js';
import { PayloadError, parseSimpleSigningPayload, simpleSigningPayload } from '../payload.js';
import { KeylessVerificationError } from './errors.js';
import type { IdentityPolicy } from './policy.js';
import { type KeylessSigner, SigstoreError } from './sign.js';
import type { TrustRoot } from './trust.js';
import { type KeylessVerified, verifyKeylessBundle } from './verify.js';

/** cosign 2's annotations on a keyless signature layer: the Fulcio leaf, its chain, Rekor's signed entry. */
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const REKOR_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

/** The value of `dev.sigstore.cosign/bundle`: Rekor's signed entry timestamp and what it signs. */
interface RekorBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

const derOf = (pem: string) => X509Certificate.parse(pem).root.toDER();

/**
 * A signature of `payload` logged in Rekor as a hashedrekord entry, as the annotations of a legacy layer:
 * the signature and Rekor's signed entry (`dev.sigstore.cosign/bundle`), which is what `cosign verify`
 * checks the log with. Throws SigstoreError when Rekor does not take it.
 */
export async function loggedSignatureAnnotations(
  payload: Buffer,
  signer: Signer,
  rekorURL: string,
): Promise<Record<string, string>> {
  // Loaded here: @sigstore/sign brings its HTTP stack, which only a signature logged in Rekor needs.
  const sigstore = await import('@sigstore/sign');
  const witness = new sigstore.RekorWitness({ rekorBaseURL: rekorURL, fetchOnConflict: true });
  let bundle: Awaited<ReturnType<MessageSignatureBundleBuilder['create']>>;
  try {
    bundle = await new sigstore.MessageSignatureBundleBuilder({ signer, witnesses: [witness] }).create({
      data: payload,
    });
  } catch (error) {
    if (error instanceof SigstoreError) throw error;
    throw new SigstoreError(
      `the signature could not be logged in Rekor (${rekorURL}): ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const content = bundle.content;
  const entry = bundle.verificationMaterial.tlogEntries[0];
  if (content.$case !== 'messageSignature' || entry?.inclusionPromise === undefined) {
    throw new SigstoreError(`Rekor (${rekorURL}) answered without a signed entry timestamp`);
  }
  const rekorBundle: RekorBundle = {
    SignedEntryTimestamp: entry.inclusionPromise.signedEntryTimestamp.toString('base64'),
    Payload: {
      body: entry.canonicalizedBody.toString('base64'),
      integratedTime: Number(entry.integratedTime),
      logIndex: Number(entry.logIndex),
      logID: entry.logId.keyId.toString('hex'),
    },
  };
  return {
    [SIGNATURE_ANNOTATION]: content.messageSignature.signature.toString('base64'),
    [REKOR_BUNDLE_ANNOTATION]: JSON.stringify(rekorBundle),
  };
}

/**
 * The annotations of a legacy keyless layer for `payload`, as `cosign sign` (2.x) stores it: signed
 * with the keyless signer's certificate, logged in its Rekor, with the certificate and Fulcio's chain.
 */
export async function legacyKeylessAnnotations(
  payload: Buffer,
  signer: KeylessSigner,
): Promise<Record<string, string>> {
  const certificate = await signer.prepare();
  const logged = await loggedSignatureAnnotations(payload, signer, signer.endpoints.rekorURL);
  return {
    ...logged,
    [CERTIFICATE_ANNOTATION]: certificate.leaf,
    [CHAIN_ANNOTATION]: certificate.chain.join(''),
  };
}

/**
 * cosign 2's keyless signature of an image: a simple-signing payload layer at `sha256-<hex>.sig` with the
 * certificate, chain and Rekor annotations, so `cosign verify --certificate-identity …` (2.x) finds it.
 */
export async function writeLegacySignature(
  client: RegistryClient,
  repository: string,
  digest: string,
  signer: KeylessSigner,
  reference: string,
): Promise<{ tag: string; digest: string }> {
  const payload = simpleSigningPayload(reference, digest);
  const payloadDigest = sha256Digest(payload);
  // A certificate is this run's alone: the layer made with it is the one to find again after a merge.
  let written: string | undefined;
  const result = await appendSignatureLayer(client, repository, digest, payload, {
    holds: (layer) =>
      written !== undefined &&
      layer.digest === payloadDigest &&
      layer.annotations?.[CERTIFICATE_ANNOTATION] === written,
    annotations: async () => {
      const annotations = await legacyKeylessAnnotations(payload, signer);
      written = annotations[CERTIFICATE_ANNOTATION];
      return annotations;
    },
  });
  return { tag: result.tag, digest: result.signatureDigest };
}

/**
 * A legacy keyless layer as a sigstore bundle (v0.1: Rekor's promise, no inclusion proof), so the one
 * verifier checks it: the payload's digest and signature, the certificate, the log entry.
 */
export function legacyLayerBundle(payload: Buffer, annotations: Record<string, string>): SerializedBundle {
  const signature = annotations[SIGNATURE_ANNOTATION];
  const certificate = annotations[CERTIFICATE_ANNOTATION];
  const rekorJSON = annotations[REKOR_BUNDLE_ANNOTATION];
  if (signature === undefined || certificate === undefined) {
    throw new KeylessVerificationError(
      'malformed-bundle',
      'the layer has no signature or no certificate annotation',
    );
  }
  if (rekorJSON === undefined) {
    throw new KeylessVerificationError(
      'no-tlog-entry',
      `the layer has no ${REKOR_BUNDLE_ANNOTATION} annotation: the signature was never logged in Rekor`,
    );
  }
  let rekor: RekorBundle;
  let kind: { kind: string; apiVersion: string };
  try {
    rekor = JSON.parse(rekorJSON) as RekorBundle;
    kind = JSON.parse(Buffer.from(rekor.Payload.body, 'base64').toString('utf8'));
  } catch (error) {
    throw new KeylessVerificationError(
      'malformed-bundle',
      `the ${REKOR_BUNDLE_ANNOTATION} annotation is not Rekor's JSON`,
      {
        cause: error,
      },
    );
  }
  const bundle: SerializedBundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      publicKey: undefined,
      certificate: undefined,
      x509CertificateChain: { certificates: [{ rawBytes: derOf(certificate).toString('base64') }] },
      tlogEntries: [
        {
          logIndex: String(rekor.Payload.logIndex),
          logId: { keyId: Buffer.from(rekor.Payload.logID, 'hex').toString('base64') },
          kindVersion: { kind: kind.kind, version: kind.apiVersion },
          integratedTime: String(rekor.Payload.integratedTime),
          inclusionPromise: { signedEntryTimestamp: rekor.SignedEntryTimestamp },
          inclusionProof: undefined,
          canonicalizedBody: rekor.Payload.body,
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: undefined,
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: Buffer.from(sha256Digest(payload).slice(7), 'hex').toString('base64'),
      },
      signature,
    },
  };
  return bundle;
}

export interface LegacyLayer {
  layer: Descriptor;
  /** The signature checked for the image digest; `reference` is the repository it was made for. */
  verify(
    trust: TrustRoot,
    policy: IdentityPolicy,
  ): { verified: KeylessVerified; reference: string } | { error: KeylessVerificationError };
}

/** The keyless layers at an image's `sha256-<hex>.sig` (key-signed layers are left to verifyImage). */
export async function readLegacySignatures(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<{ tag: string; layers: LegacyLayer[] }> {
  const tag = signatureTag(digest);
  let manifest: ImageManifest;
  try {
    manifest = JSON.parse(
      (await client.getManifest(repository, tag)).bytes.toString('utf8'),
    ) as ImageManifest;
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) return { tag, layers: [] };
    throw error;
  }
  const layers: LegacyLayer[] = [];
  for (const layer of manifest.layers ?? []) {
    const annotations = layer.annotations ?? {};
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || annotations[CERTIFICATE_ANNOTATION] === undefined)
      continue;
    // Said to be larger than any signature payload: not read, and not a signature here.
    if (!(layer.size <= MAX_SIGNATURE_LAYER_BYTES)) continue;
    const payload = await client.getBlob(repository, layer, { maxBytes: MAX_SIGNATURE_LAYER_BYTES });
    layers.push({
      layer,
      verify(trust, policy) {
        try {
          const verified = verifyKeylessBundle(legacyLayerBundle(payload, annotations), trust, policy, {
            artifact: payload,
          });
          const claims = parseSimpleSigningPayload(payload);
          if (claims.digest !== digest) {
            throw new KeylessVerificationError(
              'subject-mismatch',
              `the signature is for image ${claims.digest}, not ${digest}`,
            );
          }
          return { verified, reference: claims.reference };
        } catch (error) {
          if (error instanceof PayloadError) {
            return {
              error: new KeylessVerificationError('malformed-statement', error.message, { cause: error }),
            };
          }
          if (error instanceof KeylessVerificationError) return { error };
          throw error;
        }
      },
    });
  }
  return { tag, layers };
}
