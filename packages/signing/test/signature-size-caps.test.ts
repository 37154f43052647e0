/**
 * Issue 13, item 9: a signature payload is a few hundred bytes and an attestation bundle a few KiB. A
 * layer whose descriptor claims more than 16 MiB is not read at all (it would be held in memory whole);
 * one that claims its true size is read up to that size only. A real registry behind the fault proxy,
 * which records every blob the verifier fetched.
 */
import { type LocalRegistry, startRegistry } from '@digestline/local';
import { type ImageManifest, MediaType, RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from '../../../test/harness/fault-proxy.js';
import {
  attach,
  BUNDLE_MEDIA_TYPE,
  generateKeyPair,
  imageSubject,
  keySigner,
  listAttestations,
  MAX_SIGNATURE_LAYER_BYTES,
  PredicateType,
  signatureTag,
  signImage,
  signStatement,
  statement,
  verifyImage,
} from '../src/index.js';
import { pushConfigOnlyImage } from './images.js';

const repository = 'team/app';

describe('signature layers that claim more than a signature can be', () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  let direct: RegistryClient;
  let viaProxy: RegistryClient;
  let digest: string;
  const blobGets = () => proxy.requests().filter((r) => r.method === 'GET' && r.path.includes('/blobs/'));

  beforeAll(async () => {
    registry = await startRegistry({ mode: 'open' });
    proxy = await startFaultProxy({ url: registry.url });
    direct = new RegistryClient(registry.host);
    viaProxy = new RegistryClient(proxy.host);
    digest = await pushConfigOnlyImage(direct, repository, { os: 'linux', architecture: 'amd64' });
  });
  afterAll(async () => {
    await Promise.all([direct?.close(), viaProxy?.close()]);
    await Promise.all([proxy?.close(), registry?.stop()]);
  });
  beforeEach(() => proxy.clear());

  test('a cosign payload layer claiming more than 16 MiB is rejected without being read', async () => {
    const { privateKey, publicKey } = generateKeyPair();
    await signImage(direct, repository, digest, privateKey);
    const tag = signatureTag(digest);
    const stored = JSON.parse((await direct.getManifest(repository, tag)).bytes.toString()) as ImageManifest;
    const inflated = stored.layers.map((layer) => ({ ...layer, size: MAX_SIGNATURE_LAYER_BYTES + 1 }));
    await direct.putManifest(
      repository,
      tag,
      Buffer.from(JSON.stringify({ ...stored, layers: inflated })),
      MediaType.ociManifest,
    );

    const verification = await verifyImage(viaProxy, repository, digest, publicKey);
    expect(verification.verified).toEqual([]);
    expect(verification.rejected.map((r) => [r.reason, r.message])).toEqual([
      [
        'malformed-payload',
        `the layer says it holds ${MAX_SIGNATURE_LAYER_BYTES + 1} bytes, more than the ${MAX_SIGNATURE_LAYER_BYTES} a signature payload may have; it was not read`,
      ],
    ]);
    expect(blobGets()).toEqual([]);
  });

  test('an attestation whose bundle layer claims more than 16 MiB is skipped without being read', async () => {
    const { privateKey } = generateKeyPair();
    const subject = imageSubject(`${registry.host}/${repository}`, digest);
    const bundle = await signStatement(
      statement(subject, PredicateType.slsaProvenance, { by: 'test' }),
      keySigner(privateKey),
    );
    const { digest: honest } = await attach(direct, repository, digest, bundle);
    const manifest = JSON.parse(
      (await direct.getManifest(repository, honest)).bytes.toString(),
    ) as ImageManifest;
    const inflated: ImageManifest = {
      ...manifest,
      layers: manifest.layers.map((layer) => ({ ...layer, size: MAX_SIGNATURE_LAYER_BYTES + 1 })),
      annotations: { ...manifest.annotations, inflated: 'true' },
    };
    await direct.pushReferrer(repository, inflated);

    const found = await listAttestations(viaProxy, repository, digest);
    expect(found.map((a) => a.digest)).toEqual([honest]);
    // Only the honest referrer's bundle was fetched.
    const bundleLayer = manifest.layers.find((l) => l.mediaType === BUNDLE_MEDIA_TYPE);
    expect(blobGets().map((r) => r.path)).toEqual([`/v2/${repository}/blobs/${bundleLayer?.digest}`]);
  });
});
