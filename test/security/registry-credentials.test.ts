import { runAction } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { snapshotTags } from '../../packages/promotion/test/helpers.js';
import { errorOf, type PromoteStage, startPromoteStage } from './promote-stage.js';

/**
 * Issue 13, item 6: credentials go only to the registry they were given for, and the workflow's GitHub
 * token only to GitHub's registry. The built promote and canary-deploy actions run against a real
 * registry and the hostile host, which challenges every client and keeps what it is sent.
 */
let stage: PromoteStage;
let digest: string;
const WORKFLOW_TOKEN = 'ghs_workflowToken0123456789abcdefXYZ';
const SOURCE_PASSWORD = 'source-registry-pa55word';

beforeAll(async () => {
  stage = await startPromoteStage('open');
  digest = await stage.signedImage('creds/app', 1);
});
afterAll(() => stage?.stop());
beforeEach(() => stage.clear());

/** Every secret the hostile host was sent, Basic credentials decoded. */
function harvested(): string {
  return stage.hostile
    .credentials()
    .map((value) => {
      const [scheme, credentials = ''] = value.split(' ');
      return scheme?.toLowerCase() === 'basic' ? Buffer.from(credentials, 'base64').toString('utf8') : value;
    })
    .join('\n');
}

const promote = (extra: Record<string, string>) =>
  stage.promote('creds/app', digest, { 'github-token': WORKFLOW_TOKEN, ...extra });

describe('promote: credentials stay with their registry', () => {
  test('a target-image on another registry never gets the source registry credentials', async () => {
    const result = await promote({
      'registry-username': 'ci',
      'registry-password': SOURCE_PASSWORD,
      'target-image': `${stage.hostile.host}/stolen/app`,
    });
    expect(result.exitCode).toBe(1);
    expect(stage.hostile.requests().length).toBeGreaterThan(0);
    expect(harvested()).not.toContain(SOURCE_PASSWORD);
    expect(result.log).toMatch(/not sent there; set "target-registry-username"/);
  });

  test('refuses the workflow GitHub token as the password of a registry that is not ghcr.io, before any request', async () => {
    const before = await snapshotTags(stage.client, ['creds/app']);
    const result = await promote({
      image: `${stage.hostile.host}/creds/app`,
      'registry-username': 'octocat',
      'registry-password': WORKFLOW_TOKEN,
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/GitHub token.*only to ghcr\.io/);
    expect(errorOf(result)).toMatch(/"registry-password"/);
    expect(stage.hostile.requests()).toEqual([]);
    expect(result.masks).toContain(WORKFLOW_TOKEN);
    expect(await snapshotTags(stage.client, ['creds/app'])).toEqual(before);
  });

  test('refuses the GitHub token as the target registry password for a target that is not ghcr.io', async () => {
    const result = await promote({
      'target-image': `${stage.hostile.host}/stolen/app`,
      'target-registry-username': 'octocat',
      'target-registry-password': WORKFLOW_TOKEN,
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/"target-registry-password".*GitHub token.*only to ghcr\.io/);
    expect(stage.hostile.requests()).toEqual([]);
  });
});

describe('canary-deploy: the GitHub token goes only to ghcr.io', () => {
  test('refuses a workflow token (ghs_…) as registry-password for a registry that is not ghcr.io, before any request', async () => {
    const result = await runAction('canary-deploy', {
      inputs: {
        image: `${stage.hostile.host}/creds/app`,
        digest,
        'health-url': `${stage.hostile.url}/healthz`,
        'registry-username': 'octocat',
        'registry-password': WORKFLOW_TOKEN,
      },
    });
    expect(result.exitCode).toBe(1);
    expect(errorOf(result)).toMatch(/GitHub token.*only to ghcr\.io/);
    expect(stage.hostile.requests()).toEqual([]);
    expect(harvested()).not.toContain(WORKFLOW_TOKEN);
  });
});
