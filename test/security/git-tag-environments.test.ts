import {
  type ActionResult,
  type LocalRegistry,
  makeTempDir,
  runAction,
  startRegistry,
} from '@digestline/local';
import type { RegistryClient } from '@digestline/oci';
import { generateKeyPair, signImage, verifyImage } from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  clientFor,
  registryContents,
  WORKFLOW_REF,
  writeProject,
} from '../../actions/build-and-sign/test/helpers.js';
import { buildImage } from '../harness/images.js';

/*
 * Issue 13, item 1: a git tag must never move a tag that promote, canary-deploy or cosign owns. A build
 * on `refs/tags/production` would otherwise move production past the ladder, its signature and
 * stage-proof checks and the environment's reviewers; a git tag `sha256-<hex>.sig` would overwrite
 * another digest's signatures.
 */

const REPOSITORY = 'team/app';
let registry: LocalRegistry;
let client: RegistryClient;
let workspace: { path: string; remove(): Promise<void> };
/** What `production` pointed at before any build here, and its signature tag. */
let production: { digest: string; signatureTag: string; signatureDigest: string };
const keys = generateKeyPair();

beforeAll(async () => {
  [registry, workspace] = await Promise.all([startRegistry({ mode: 'open' }), makeTempDir('git-tags')]);
  client = clientFor(registry);
  await writeProject(workspace.path);
  const released = await buildImage(
    { host: registry.host },
    { repository: REPOSITORY, tag: 'production', files: { 'release.txt': 'the reviewed release\n' } },
  );
  const signed = await signImage(client, REPOSITORY, released.digest, keys.privateKey);
  production = {
    digest: released.digest,
    signatureTag: signed.tag,
    signatureDigest: signed.signatureDigest,
  };
});

afterAll(async () => {
  await client?.close();
  await Promise.all([registry?.stop(), workspace?.remove()]);
});

function build(ref: string, inputs: Record<string, string> = {}): Promise<ActionResult> {
  return runAction('build-and-sign', {
    workspace: workspace.path,
    env: { GITHUB_REF: ref, GITHUB_WORKFLOW_REF: WORKFLOW_REF },
    inputs: { image: `${registry.host}/${REPOSITORY}`, signing: 'none', sbom: 'none', ...inputs },
  });
}

async function digestOf(tag: string): Promise<string | undefined> {
  return (await client.headManifest(REPOSITORY, tag))?.digest;
}

function warnings(result: ActionResult): string[] {
  return result.annotations.filter((a) => a.level === 'warning').map((a) => a.message);
}

describe('a tag derived from a git ref never takes a name another step owns', () => {
  test('a build on the git tag "production" leaves the production tag where it was and warns, naming it', async () => {
    const result = await build('refs/tags/production');
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(await digestOf('production')).toBe(production.digest);
    expect(result.outputs.tags?.split('\n')).toEqual([`${registry.host}/${REPOSITORY}:sha-ffac537`]);
    expect(await digestOf('sha-ffac537')).toBe(result.outputs.digest);
    expect(warnings(result)).toContainEqual(expect.stringContaining('"production"'));
  });

  test("a build on the git tag sha256-<hex>.sig leaves that digest's signatures intact and warns", async () => {
    const result = await build(`refs/tags/${production.signatureTag}`);
    expect(result.exitCode).toBe(0);
    expect(await digestOf(production.signatureTag)).toBe(production.signatureDigest);
    const verified = await verifyImage(client, REPOSITORY, production.digest, keys.publicKey);
    expect(verified.verified).toHaveLength(1);
    expect(result.outputs.tags).not.toContain('sha256-');
    expect(warnings(result)).toContainEqual(expect.stringContaining(`"${production.signatureTag}"`));
  });

  test('a git tag outside the version patterns (here "latest") gives no image tag', async () => {
    const before = await digestOf('latest');
    const result = await build('refs/tags/latest');
    expect(result.exitCode).toBe(0);
    expect(await digestOf('latest')).toBe(before);
    expect(result.outputs.tags?.split('\n')).toEqual([`${registry.host}/${REPOSITORY}:sha-ffac537`]);
    expect(warnings(result)).toContainEqual(expect.stringContaining('"latest"'));
  });

  test('a version git tag still moves its release line', async () => {
    const result = await build('refs/tags/v1.4.2');
    expect(result.exitCode).toBe(0);
    expect(result.outputs.tags?.split('\n')).toEqual(
      ['sha-ffac537', 'v1.4.2', '1.4', '1'].map((t) => `${registry.host}/${REPOSITORY}:${t}`),
    );
    expect(warnings(result)).toEqual([]);
  });
});

describe('an explicit tag that another step owns is a configuration error, and nothing is pushed', () => {
  test.each([
    ['an environment of the default ladder', 'production', {}],
    ['a blue-green slot', 'blue', {}],
    [
      'a cosign signature tag',
      'sha256-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.sig',
      {},
    ],
    [
      'an environment of a custom ladder and tag template',
      'app-prod',
      { environments: 'qa,prod', 'tag-template': 'app-{env}' },
    ],
  ])('%s (%s)', async (_what, tag, extra: Record<string, string>) => {
    const before = await registryContents(registry);
    const result = await build('refs/heads/main', { tags: `stable,${tag}`, ...extra });
    expect(result.exitCode).toBe(1);
    const errors = result.annotations.filter((a) => a.level === 'error').map((a) => a.message);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`"${tag}"`);
    expect(errors[0]).toContain('"tags"');
    expect(result.outputs).toEqual({});
    expect(await registryContents(registry)).toEqual(before);
  });
});
