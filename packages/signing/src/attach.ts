import type { KeyObject } from 'node:crypto';
import { type Descriptor, type ImageManifest, MediaType, type RegistryClient } from '@digestline/oci';
import { BUNDLE_MEDIA_TYPE, type SerializedBundle, type VerifiedStatement, verifyBundle } from './bundle.js';
import { MAX_SIGNATURE_LAYER_BYTES } from './cosign.js';
import { BundleVerificationError } from './errors.js';

/** Annotations sigstore tools put on a bundle referrer, so a listing can filter without fetching. */
export const PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';

const EMPTY_JSON = '{}';

export interface Attestation {
  /** Digest of the referrer manifest that holds the bundle. */
  digest: string;
  /** From the manifest's annotation, or the statement when the annotation is absent. */
  predicateType?: string;
  bundle: SerializedBundle;
}

/**
 * The predicate type as the (not yet verified) bundle states it: only an index for listings, never
 * trusted on its own — verifyBundle() reads the signed statement again.
 */
function claimedPredicateType(bundle: SerializedBundle): string | undefined {
  const payload = bundle.dsseEnvelope?.payload;
  if (payload === undefined) return undefined;
  try {
    const type = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')).predicateType;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores a bundle as an OCI 1.1 referrer of the subject image: an artifact manifest whose one layer is the
 * bundle JSON. On a registry without the referrers API the client keeps the fallback tag index instead.
 * Attaching the same bundle twice yields the same manifest, so a re-run adds nothing.
 */
export async function attach(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  bundle: SerializedBundle,
  artifactType: string = BUNDLE_MEDIA_TYPE,
): Promise<{ digest: string }> {
  const subject = await client.headManifest(repository, subjectDigest);
  if (subject === undefined) {
    throw new Error(
      `${client.registry}/${repository}@${subjectDigest} does not exist: push the image before attesting it`,
    );
  }
  const [layer, config] = await Promise.all([
    client.pushBlob(repository, Buffer.from(JSON.stringify(bundle))),
    client.pushBlob(repository, EMPTY_JSON),
  ]);
  const annotations: Record<string, string> = {};
  if (bundle.dsseEnvelope !== undefined) annotations[BUNDLE_CONTENT_ANNOTATION] = 'dsse-envelope';
  const predicateType = claimedPredicateType(bundle);
  if (predicateType !== undefined) annotations[PREDICATE_TYPE_ANNOTATION] = predicateType;
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: { mediaType: MediaType.ociEmpty, digest: config.digest, size: config.size },
    layers: [{ mediaType: artifactType, digest: layer.digest, size: layer.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  return client.pushReferrer(repository, manifest);
}

/** The bundles attached to an image, optionally only those of one predicate type (e.g. SLSA provenance). */
export async function listAttestations(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  predicateType?: string,
): Promise<Attestation[]> {
  const referrers = await client.referrers(repository, subjectDigest, { artifactType: BUNDLE_MEDIA_TYPE });
  const attestations: Attestation[] = [];
  for (const descriptor of referrers) {
    const annotated = descriptor.annotations?.[PREDICATE_TYPE_ANNOTATION];
    if (predicateType !== undefined && annotated !== undefined && annotated !== predicateType) continue;
    const attestation = await readAttestation(client, repository, subjectDigest, descriptor);
    if (attestation === undefined) continue;
    if (predicateType !== undefined && attestation.predicateType !== predicateType) continue;
    attestations.push(attestation);
  }
  return attestations;
}

async function readAttestation(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  descriptor: Descriptor,
): Promise<Attestation | undefined> {
  const { bytes } = await client.getManifest(repository, descriptor.digest);
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  // A fallback tag index is an ordinary tag anyone with push can rewrite: believe only the manifest itself.
  if (manifest.subject?.digest !== subjectDigest) return undefined;
  const layer = manifest.layers?.find((l) => l.mediaType === BUNDLE_MEDIA_TYPE);
  // A bundle is a few KiB: one claiming more than a signature layer may hold is not read into memory.
  if (layer === undefined || !(layer.size <= MAX_SIGNATURE_LAYER_BYTES)) return undefined;
  let bundle: SerializedBundle;
  try {
    bundle = JSON.parse(
      (await client.getBlob(repository, layer, { maxBytes: MAX_SIGNATURE_LAYER_BYTES })).toString('utf8'),
    ) as SerializedBundle;
  } catch (error) {
    // Not JSON is not an attestation; a registry failure still is the caller's problem.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  return {
    digest: descriptor.digest,
    predicateType: manifest.annotations?.[PREDICATE_TYPE_ANNOTATION] ?? claimedPredicateType(bundle),
    bundle,
  };
}

export interface AttestationVerification {
  verified: (VerifiedStatement & { digest: string })[];
  rejected: { digest: string; error: BundleVerificationError }[];
}

/**
 * Lists an image's attestations and verifies each against the trusted keys and the image digest: what a
 * gate needs to decide, with the reason for every bundle that did not count.
 */
export async function verifyAttestations(
  client: RegistryClient,
  repository: string,
  subjectDigest: string,
  trustedKeys: KeyObject | readonly KeyObject[],
  predicateType?: string,
): Promise<AttestationVerification> {
  const result: AttestationVerification = { verified: [], rejected: [] };
  for (const attestation of await listAttestations(client, repository, subjectDigest, predicateType)) {
    try {
      const verified = verifyBundle(attestation.bundle, trustedKeys, { subjectDigest });
      if (predicateType !== undefined && verified.statement.predicateType !== predicateType) continue;
      result.verified.push({ ...verified, digest: attestation.digest });
    } catch (error) {
      if (!(error instanceof BundleVerificationError)) throw error;
      result.rejected.push({ digest: attestation.digest, error });
    }
  }
  return result;
}
