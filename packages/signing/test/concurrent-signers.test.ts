/**
 * Issue 13, item 12: cosign keeps every signature of a digest in one manifest under one tag, so each
 * signer reads, appends and writes it. Signers of one digest at the same moment must all end up in it.
 * The proxy holds back the first writes of the signature tag so that every signer reads it before any
 * write lands.
 */
import { type LocalRegistry, startRegistry } from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from '../../../test/harness/fault-proxy.js';
import { generateKeyPair, keyId, signatureTag, signImage, verifyImage } from '../src/index.js';
import { pushConfigOnlyImage } from './images.js';

const SIGNERS = 8;
const repository = 'team/app';

describe('concurrent signers of one digest', () => {
  let registry: LocalRegistry;
  let proxy: FaultProxy;
  const clients: RegistryClient[] = [];
  const client = (host: string) => {
    const created = new RegistryClient(host, { retry: { baseDelayMs: 10 } });
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    registry = await startRegistry({ mode: 'open' });
    proxy = await startFaultProxy({ url: registry.url });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await proxy?.close();
    await registry?.stop();
  });

  test(`${SIGNERS} signers at once: ${SIGNERS} signatures present, each verifying`, async () => {
    const direct = client(registry.host);
    const digest = await pushConfigOnlyImage(direct, repository, { os: 'linux', architecture: 'amd64' });
    const keys = Array.from({ length: SIGNERS }, () => generateKeyPair());
    const tagPath = new RegExp(`/manifests/${signatureTag(digest)}$`);
    proxy.fault({ method: 'PUT', path: tagPath, delayMs: 400, times: SIGNERS });

    const results = await Promise.all(
      keys.map((key) => signImage(client(proxy.host), repository, digest, key.privateKey)),
    );

    expect(results.every((r) => r.appended)).toBe(true);
    const verification = await verifyImage(
      direct,
      repository,
      digest,
      keys.map((k) => k.publicKey),
    );
    expect(verification.rejected).toEqual([]);
    expect(verification.verified.map((v) => v.keyId).sort()).toEqual(
      keys.map((k) => keyId(k.publicKey)).sort(),
    );
    // The writes really overlapped: more writes of the tag than signers, the lost ones merged again.
    const writes = proxy.requests().filter((r) => r.method === 'PUT' && tagPath.test(r.path));
    expect(writes.length).toBeGreaterThan(SIGNERS);
  });

  test('signing again with a key already in the manifest adds nothing', async () => {
    const direct = client(registry.host);
    const digest = await pushConfigOnlyImage(direct, repository, { os: 'linux', label: 'again' });
    const { privateKey, publicKey } = generateKeyPair();
    const first = await signImage(direct, repository, digest, privateKey);
    const again = await signImage(direct, repository, digest, privateKey);
    expect(again).toEqual({ ...first, appended: false });
    expect((await verifyImage(direct, repository, digest, publicKey)).verified).toHaveLength(1);
  });
});
