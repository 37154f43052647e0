import {
  type Descriptor,
  type ImageManifest,
  type RegistryClient,
  RegistryError,
  sha256Digest,
} from '@digestline/oci';
import type { SerializedBundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, signatureTag } from '../cosign.js';
import { PayloadError, parseSimpleSigningPayload } from '../payload.js';
import { KeylessVerificationError } from './errors.js';
import type { IdentityPolicy } from './identity.js';
import type { KeylessSigner } from './sign.js';
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
 * The annotations of a legacy signature layer for `payload`: signed with the keyless signer's
 * certificate and logged in Rekor as a hashedrekord entry, as `cosign sign` (2.x) stores it.
 */
export async function legacyKeylessAnnotations(
  payload: Buffer,
  signer: KeylessSigner,
): Promise<Record<string, string>> {
  const rekor = signer.witnesses.filter((w) => w instanceof RekorWitness);
  const bundle = await new MessageSignatureBundleBuilder({ signer, witnesses: rekor }).create({
    data: payload,
  });
  const content = bundle.content;
  const entry = bundle.verificationMaterial.tlogEntries[0];
  const certificate = signer.certificate();
  if (
    content.$case !== 'messageSignature' ||
    entry?.inclusionPromise === undefined ||
    certificate === undefined
  ) {
    throw new Error(
      'the legacy signature came back without a message signature, a Rekor promise or a certificate',
    );
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
    [CERTIFICATE_ANNOTATION]: certificate.leaf,
    [CHAIN_ANNOTATION]: certificate.chain.join(''),
    [REKOR_BUNDLE_ANNOTATION]: JSON.stringify(rekorBundle),
  };
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
    const payload = await client.getBlob(repository, layer.digest);
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
