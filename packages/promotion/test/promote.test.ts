import type { Logger } from '@digestline/base';
import { type LocalRegistry, startRegistry } from '@digestline/local';
import { type ImageManifest, RegistryClient } from '@digestline/oci';
import { keyId, keySigner, verifyImage } from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from '../../../test/harness/fault-proxy.js';
import {
  type CopyProgress,
  type DeploymentRecorder,
  findPromotionRecords,
  PROMOTION_PREDICATE_TYPE,
  PromotionRefusedError,
  type PromotionRequest,
  type PromotionSettings,
  promote,
  promotionRequest,
} from '../src/index.js';
import { clientFor, makeKeys, pushSignedImage, snapshotTags, type TestKeys } from './helpers.js';

const repository = 'team/app';
let registry: LocalRegistry;
let client: RegistryClient;
let keys: TestKeys;
let otherKeys: TestKeys;

beforeAll(async () => {
  [registry, keys, otherKeys] = await Promise.all([startRegistry(), makeKeys('pw'), makeKeys('other')]);
  client = clientFor(registry);
});
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

function request(
  digest: string,
  sourceEnv: string | undefined,
  targetEnv: string,
  extra: Partial<PromotionRequest> = {},
): PromotionRequest {
  return {
    source: { client, repository },
    digest,
    ...(sourceEnv === undefined ? {} : { sourceEnv }),
    targetEnv,
    signatureKeys: [keys.publicKey],
    recordKeys: [keys.publicKey],
    recordSigner: { signer: keySigner(keys.privateKey), keyId: keyId(keys.publicKey) },
    ...extra,
  };
}

const tagOf = async (tag: string, repo = repository, c = client) => (await c.headManifest(repo, tag))?.digest;

async function refused(promise: Promise<unknown>): Promise<PromotionRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PromotionRefusedError);
  return error as PromotionRefusedError;
}

describe('promotion through the ladder on a real registry', () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    first = await pushSignedImage(registry, client, repository, 1, keys.privateKey);
    second = await pushSignedImage(registry, client, repository, 2, keys.privateKey);
  });

  test('walks a digest dev → staging → canary → production, each step recording its previous digest and a signed record', async () => {
    const into = await promote(request(first, undefined, 'dev'));
    expect(into).toMatchObject({
      outcome: 'promoted',
      promotedTag: 'dev',
      imageRef: `${registry.host}/${repository}@${first}`,
    });
    expect(into.previousDigest).toBeUndefined();
    for (const [from, to] of [
      ['dev', 'staging'],
      ['staging', 'canary'],
      ['canary', 'production'],
    ] as const) {
      const result = await promote(request(first, from, to));
      expect(result.outcome).toBe('promoted');
      expect(result.checks.map((c) => c.name)).toEqual(['path', 'source tag', 'signature', 'stage proof']);
      expect(await tagOf(to)).toBe(first);
    }
    const records = await findPromotionRecords(client, repository, first, 'production', [keys.publicKey]);
    expect(records.records).toHaveLength(1);
    expect(records.records[0]).toMatchObject({
      environment: 'production',
      from: 'canary',
      mode: 'promote',
      tag: 'production',
      previousDigest: null,
    });
    // Another key does not make a record count.
    expect(
      (await findPromotionRecords(client, repository, first, 'production', [otherKeys.publicKey])).records,
    ).toEqual([]);
  });

  test('the second digest replaces the first and reports it as previous', async () => {
    await promote(request(second, undefined, 'dev'));
    const result = await promote(request(second, 'dev', 'staging'));
    expect(result.previousDigest).toBe(first);
    expect(await tagOf('staging')).toBe(second);
  });

  test('re-running a promotion changes nothing and reports the same previous digest', async () => {
    const before = await snapshotTags(client, [repository]);
    const referrers = (await client.referrers(repository, second)).length;
    const again = await promote(request(second, 'dev', 'staging'));
    expect(again).toMatchObject({ outcome: 'unchanged', previousDigest: first });
    expect(await snapshotTags(client, [repository])).toEqual(before);
    expect(await client.referrers(repository, second)).toHaveLength(referrers);
  });

  test('a digest re-tagged into staging by hand cannot reach canary: no stage proof', async () => {
    const third = await pushSignedImage(registry, client, repository, 3, keys.privateKey);
    const { bytes, mediaType } = await client.getManifest(repository, third);
    await client.putManifest(repository, 'staging', bytes, mediaType);
    const before = await snapshotTags(client, [repository]);
    const error = await refused(promote(request(third, 'staging', 'canary')));
    expect(error.check).toBe('stage-proof');
    expect(error.message).toMatch(
      /no signed promotion record for staging.*a tag moved by hand does not count/,
    );
    expect(await snapshotTags(client, [repository])).toEqual(before);
    await client.putManifest(repository, 'staging', ...(await manifestOf(second)));
  });

  test('rollback puts production back to a digest that was there before, and refuses one that never was', async () => {
    await promote(request(second, 'staging', 'canary'));
    await promote(request(second, 'canary', 'production'));
    expect(await tagOf('production')).toBe(second);

    const back = await promote(request(first, undefined, 'production', { mode: 'rollback' }));
    expect(back).toMatchObject({ outcome: 'rolled-back', previousDigest: second });
    expect(await tagOf('production')).toBe(first);
    const latest = (await findPromotionRecords(client, repository, first, 'production', [keys.publicKey]))
      .records[0];
    expect(latest).toMatchObject({ mode: 'rollback', previousDigest: second });

    const never = await pushSignedImage(registry, client, repository, 4, keys.privateKey);
    const before = await snapshotTags(client, [repository]);
    const error = await refused(promote(request(never, undefined, 'production', { mode: 'rollback' })));
    expect(error.check).toBe('rollback-record');
    expect(await snapshotTags(client, [repository])).toEqual(before);
  });

  test('refuses an unsigned digest and one signed only by another key, before writing anything', async () => {
    const unsigned = await pushSignedImage(registry, client, repository, 5, undefined);
    const foreign = await pushSignedImage(registry, client, repository, 6, otherKeys.privateKey);
    const before = await snapshotTags(client, [repository]);
    expect((await refused(promote(request(unsigned, undefined, 'dev')))).message).toMatch(/is not signed/);
    const wrong = await refused(promote(request(foreign, undefined, 'dev')));
    expect(wrong.check).toBe('signature');
    expect(wrong.message).toContain(`signed by key ${keyId(otherKeys.publicKey)}`);
    expect(await snapshotTags(client, [repository])).toEqual(before);
  });

  test('refuses a record signer whose key the next step would not trust', async () => {
    const error = await refused(
      promote(
        request(first, undefined, 'dev', {
          recordSigner: { signer: keySigner(otherKeys.privateKey), keyId: keyId(otherKeys.publicKey) },
        }),
      ),
    );
    expect(error.check).toBe('record-key');
  });
});

async function manifestOf(digest: string): Promise<[Buffer, string]> {
  const { bytes, mediaType } = await client.getManifest(repository, digest);
  return [bytes, mediaType];
}

describe('promotion into another repository or registry', () => {
  let digest: string;
  let other: LocalRegistry;
  let otherClient: RegistryClient;

  beforeAll(async () => {
    other = await startRegistry();
    otherClient = clientFor(other);
    digest = await pushSignedImage(registry, client, 'team/build', 7, keys.privateKey);
    const build = { source: { client, repository: 'team/build' } };
    await promote({ ...request(digest, undefined, 'dev'), ...build });
    await promote({ ...request(digest, 'dev', 'staging'), ...build });
  });
  afterAll(async () => {
    await otherClient?.close();
    await other?.stop();
  });

  test('another repository of the same registry: layers mounted, zero bytes moved, signatures and records along', async () => {
    const result = await promote({
      ...request(digest, 'staging', 'canary'),
      source: { client, repository: 'team/build' },
      target: { client, repository: 'prod/app' },
    });
    expect(result.copy?.blobs).toMatchObject({ copied: 0, bytes: 0 });
    expect(result.copy?.blobs.mounted).toBeGreaterThanOrEqual(3);
    expect(result.copy?.signatures).toBe('copied');
    expect(result.copy?.referrers).toBe(2);
    expect(await tagOf('canary', 'prod/app')).toBe(digest);
    expect((await verifyImage(client, 'prod/app', digest, keys.publicKey)).verified).toHaveLength(1);
    for (const env of ['dev', 'staging', 'canary']) {
      expect(
        (await findPromotionRecords(client, 'prod/app', digest, env, [keys.publicKey])).records,
      ).toHaveLength(1);
    }
    expect(await tagOf('canary', 'team/build')).toBeUndefined();
  });

  test('another registry: layers streamed and verified, and the next step works there', async () => {
    const result = await promote({
      ...request(digest, 'canary', 'production'),
      source: { client, repository: 'prod/app' },
      target: { client: otherClient, repository: 'app' },
      // The signature names the repository the build pushed to, which this step does not promote.
      signatureReferences: [`${registry.host}/team/build`],
    });
    expect(result.copy?.blobs.copied).toBeGreaterThanOrEqual(3);
    expect(result.copy?.blobs.bytes).toBeGreaterThan(4096);
    expect(await tagOf('production', 'app', otherClient)).toBe(digest);
    expect((await verifyImage(otherClient, 'app', digest, keys.publicKey)).verified).toHaveLength(1);
    const records = await otherClient.referrers('app', digest);
    expect(
      records.filter(
        (r) => r.annotations?.['dev.sigstore.bundle.predicateType'] === PROMOTION_PREDICATE_TYPE,
      ),
    ).toHaveLength(4);
  });

  test('the copy reports through onProgress and the logger, and only once every check has passed', async () => {
    const fresh = await pushSignedImage(registry, client, 'team/progress', 10, keys.privateKey);
    const image = JSON.parse(
      (await client.getManifest('team/progress', fresh)).bytes.toString(),
    ) as ImageManifest;
    const blobs = [image.config, ...image.layers];
    const bytes = blobs.reduce((sum, b) => sum + b.size, 0);
    const events: CopyProgress[] = [];
    const lines: string[] = [];
    const logger: Logger = {
      info: (m) => lines.push(`info: ${m}`),
      warning: (m) => lines.push(`warning: ${m}`),
      debug: (m) => lines.push(`debug: ${m}`),
    };
    const into = (digest: string, sourceEnv: string | undefined, targetEnv: string) => ({
      ...request(digest, sourceEnv, targetEnv),
      source: { client, repository: 'team/progress' },
      target: { client: otherClient, repository: 'progress' },
      onProgress: (p: CopyProgress) => events.push(p),
    });

    await refused(promote(into(fresh, 'dev', 'staging'), logger));
    expect(events).toEqual([]);
    expect(await otherClient.blobExists('progress', image.layers[0]?.digest as string)).toBe(false);

    await promote(into(fresh, undefined, 'dev'), logger);
    expect(events[0]).toEqual({
      step: 'start',
      from: `${registry.host}/team/progress`,
      to: `${other.host}/progress`,
      blobs: 3,
      bytes,
    });
    const streamed = new Map<string, number>();
    for (const e of events) if (e.step === 'blob') streamed.set(e.digest, e.bytes);
    expect(streamed).toEqual(new Map(blobs.map((b) => [b.digest, b.size])));
    expect(events.at(-1)).toEqual({ step: 'image', blobs: { copied: 3, mounted: 0, existed: 0, bytes } });
    expect(lines).toEqual([expect.stringMatching(/^info: Copied to .*: 0 blob\(s\) mounted, \d+ streamed/)]);
  });
});

describe('records under a key of their own', () => {
  test('a record signed by the image key is no stage proof once a record key is configured, and nothing moves', async () => {
    const repo = 'split/app';
    const digest = await pushSignedImage(registry, client, repo, 31, keys.privateKey);
    const split = (sourceEnv: string | undefined, targetEnv: string, recordKey: TestKeys) =>
      request(digest, sourceEnv, targetEnv, {
        source: { client, repository: repo },
        recordKeys: [otherKeys.publicKey],
        recordSigner: { signer: keySigner(recordKey.privateKey), keyId: keyId(recordKey.publicKey) },
      });
    // What can sign images writes a record for dev with the image key: the record key's check refuses it.
    await expect(promote(split(undefined, 'dev', keys))).rejects.toMatchObject({ check: 'record-key' });
    // A dev record minted with the image key, attached by hand, does not prove dev to the next step.
    await promote(request(digest, undefined, 'dev', { source: { client, repository: repo } }));
    const error = await refused(promote(split('dev', 'staging', otherKeys)));
    expect(error.check).toBe('stage-proof');
    expect(error.message).toMatch(/no signed promotion record for dev/);
    expect(await tagOf('staging', repo)).toBeUndefined();
    // Promoted with the record key, dev counts.
    await promote(split(undefined, 'dev', otherKeys));
    expect((await promote(split('dev', 'staging', otherKeys))).outcome).toBe('promoted');
  });
});

describe('promotionRequest: the one request the action and the CLI build', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  const opened: string[] = [];
  const settings = (extra: Partial<PromotionSettings> = {}): PromotionSettings => ({
    image: 'registry.example/team/app',
    connect: (registry, side) => {
      opened.push(`${side} ${registry}`);
      return new RegistryClient(registry);
    },
    digest,
    targetEnv: 'dev',
    publicKey: keys.publicKey,
    privateKey: keys.privateKey,
    ...extra,
  });

  test('the ladder as written: comma- or newline-separated, empty for the default', async () => {
    for (const [environments, ladder] of [
      ['dev, qa\nprod\n', ['dev', 'qa', 'prod']],
      [
        ['dev', 'prod'],
        ['dev', 'prod'],
      ],
      ['', ['dev', 'staging', 'canary', 'production']],
      [undefined, ['dev', 'staging', 'canary', 'production']],
    ] as const) {
      const { request, close } = promotionRequest(settings({ environments }));
      expect(request.environments).toEqual(ladder);
      await close();
    }
  });

  test('a target on the same registry shares the client, another registry gets its own', async () => {
    opened.length = 0;
    const same = promotionRequest(settings({ targetImage: 'registry.example/prod/app' }));
    expect(same.request.target?.client).toBe(same.request.source.client);
    expect(same.request.target?.repository).toBe('prod/app');
    expect(opened).toEqual(['source registry.example']);
    const other = promotionRequest(settings({ targetImage: 'mirror.example/app' }));
    expect(other.request.target?.client).not.toBe(other.request.source.client);
    expect(opened.slice(1)).toEqual(['source registry.example', 'target mirror.example']);
    await Promise.all([same.close(), other.close()]);
  });

  test('one key pair: the signature check can be skipped, the records are always verified and signed', async () => {
    const checked = promotionRequest(settings());
    expect(checked.request.signatureKeys).toEqual([keys.publicKey]);
    const skipped = promotionRequest(settings({ verifySignature: false }));
    expect(skipped.request.signatureKeys).toBeUndefined();
    expect(skipped.request.recordKeys).toEqual([keys.publicKey]);
    expect(skipped.request.recordSigner).toMatchObject({ keyId: keyId(keys.publicKey) });
    await Promise.all([checked.close(), skipped.close()]);
  });

  test('a record key pair of its own: the image key verifies images only, the record key signs and verifies records', async () => {
    const record = otherKeys;
    const split = promotionRequest(
      settings({ records: { publicKey: record.publicKey, privateKey: record.privateKey } }),
    );
    expect(split.request.signatureKeys).toEqual([keys.publicKey]);
    expect(split.request.recordKeys).toEqual([record.publicKey]);
    expect(split.request.recordSigner).toMatchObject({ keyId: keyId(record.publicKey) });
    await split.close();
  });

  test('refuses an image with a tag or a digest, before any client is opened', () => {
    opened.length = 0;
    expect(() => promotionRequest(settings({ targetImage: 'mirror.example/app:1.0' }))).toThrow(
      /the target image must name a repository without tag or digest, e.g. mirror.example\/app/,
    );
    expect(() => promotionRequest(settings({ image: `registry.example/team/app@${digest}` }))).toThrow(
      PromotionRefusedError,
    );
    expect(opened).toEqual([]);
  });
});

describe('failures after the checks', () => {
  let proxy: FaultProxy;
  let proxied: RegistryClient;
  const deployments: { created: number; statuses: string[] } = { created: 0, statuses: [] };
  const recorder: DeploymentRecorder = {
    create: async () => ++deployments.created,
    setStatus: async (id, state) => {
      deployments.statuses.push(`${id}:${state}`);
    },
  };

  beforeAll(async () => {
    proxy = await startFaultProxy({ url: registry.url });
    proxied = new RegistryClient(proxy.host, { retry: { attempts: 1 } });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
  });

  test('a 500 on the tag PUT leaves every tag as it was and marks the deployment failed', async () => {
    const digest = await pushSignedImage(registry, client, 'team/faulty', 8, keys.privateKey);
    const before = await snapshotTags(client, ['team/faulty']);
    proxy.fault({
      method: 'PUT',
      path: /\/manifests\/dev$/,
      respond: { status: 500, body: '{"errors":[{"code":"UNKNOWN"}]}' },
    });
    await expect(
      promote({
        ...request(digest, undefined, 'dev'),
        source: { client: proxied, repository: 'team/faulty' },
        signatureReferences: [`${registry.host}/team/faulty`],
        deployments: recorder,
      }),
    ).rejects.toThrow(/500/);
    expect(await snapshotTags(client, ['team/faulty'])).toEqual(before);
    expect(deployments.statuses).toEqual([`${deployments.created}:failure`]);

    const ok = await promote({
      ...request(digest, undefined, 'dev'),
      source: { client: proxied, repository: 'team/faulty' },
      signatureReferences: [`${registry.host}/team/faulty`],
      deployments: recorder,
    });
    expect(ok.deploymentId).toBe(2);
    expect(deployments.statuses.at(-1)).toBe('2:success');
  });

  test('the re-tag itself takes two registry round trips: PUT under the tag and the read-back', async () => {
    const digest = await pushSignedImage(registry, client, 'team/count', 9, keys.privateKey);
    const source = { client: proxied, repository: 'team/count' };
    const signatureReferences = [`${registry.host}/team/count`];
    await promote({ ...request(digest, undefined, 'dev'), source, signatureReferences });
    const seen = proxy.requests().length;
    await promote({ ...request(digest, 'dev', 'staging'), source, signatureReferences });
    const tagRequests = proxy
      .requests()
      .slice(seen)
      .filter((r) => r.path.endsWith('/manifests/staging'));
    expect(tagRequests.map((r) => r.method)).toEqual(['HEAD', 'PUT', 'HEAD']);
  });
});
