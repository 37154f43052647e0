import { type Descriptor, MAX_INDEX_DEPTH, MAX_LIST_PAGES, MediaType, sha256Digest } from '@digestline/oci';
import { signImage } from '@digestline/signing';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 9, the list and nesting caps as the built promote action meets them: a referrers list
 * whose pages never end (read for the stage proof) and indexes nested without end (walked by the copy
 * into target-image). A real registry behind the fault proxy.
 */
let stage: PromoteStage;

beforeAll(async () => {
  stage = await startPromoteStage('open');
});
afterAll(() => stage?.stop());
beforeEach(() => stage.clear());

describe('promote against a registry whose lists and indexes never end', () => {
  test(`stops reading referrer pages after ${MAX_LIST_PAGES}, and moves no tag`, async () => {
    const repository = 'caps/pages';
    const digest = await stage.signedImage(repository, 11);
    const { bytes, mediaType } = await stage.client.getManifest(repository, digest);
    await stage.client.putManifest(repository, 'dev', bytes, mediaType);
    const pages = MAX_LIST_PAGES + 20;
    const referrers = new RegExp(`^/v2/${repository}/referrers/${digest}`);
    stage.proxy.fault({
      method: 'GET',
      path: referrers,
      times: pages,
      respond: ({ path }) => {
        const page = Number(new URL(path, 'http://x').searchParams.get('page') ?? 1);
        const next = `</v2/${repository}/referrers/${digest}?page=${page + 1}>; rel="next"`;
        return {
          status: 200,
          headers: { 'content-type': MediaType.ociIndex, ...(page < pages ? { link: next } : {}) },
          body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }),
        };
      },
    });
    const result = await stage.promote(repository, digest, { 'source-env': 'dev', 'target-env': 'staging' });

    expect(result.exitCode).toBe(1);
    expect(stage.proxy.requests().filter((r) => referrers.test(r.path))).toHaveLength(MAX_LIST_PAGES);
    expect(errorOf(result)).toContain(`still had a next page after ${MAX_LIST_PAGES} pages`);
    expect(await stage.client.headManifest(repository, 'staging')).toBeUndefined();
  });

  test(`refuses to copy indexes nested deeper than ${MAX_INDEX_DEPTH} into target-image, tagging nothing`, async () => {
    const repository = 'caps/deep';
    const image = await stage.signedImage(repository, 12);
    let child: Descriptor = {
      mediaType: MediaType.ociManifest,
      digest: image,
      size: (await stage.client.getManifest(repository, image)).bytes.length,
    };
    for (let level = 0; level <= MAX_INDEX_DEPTH; level++) {
      const bytes = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [child] }),
      );
      await stage.client.putManifest(repository, sha256Digest(bytes), bytes, MediaType.ociIndex);
      child = { mediaType: MediaType.ociIndex, digest: sha256Digest(bytes), size: bytes.length };
    }
    const top = child.digest;
    await signImage(stage.client, repository, top, stage.keys.privateKey, {
      reference: `${stage.proxy.host}/${repository}`,
    });
    const result = await stage.promote(repository, top, {
      'target-image': `${stage.proxy.host}/caps/deep-copy`,
    });

    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toContain(`its indexes nest more than ${MAX_INDEX_DEPTH} deep`);
    expect(await stage.client.headManifest('caps/deep-copy', 'dev')).toBeUndefined();
    expect(await stage.client.headManifest('caps/deep-copy', top)).toBeUndefined();
  });
});
