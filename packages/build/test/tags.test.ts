import { ConfigurationError } from '@digestline/base';
import { describe, expect, test } from '@jest/globals';
import { DEFAULT_ENVIRONMENTS, DEFAULT_TAG_TEMPLATE, ownedTags, planTags, tagSafe } from '../src/tags.js';

const sha = 'ffac537e6cbbf934b08745a378932722df287a53';
const owned = ownedTags(DEFAULT_ENVIRONMENTS, DEFAULT_TAG_TEMPLATE);
const tagsFor = (ref: string, defaultBranch?: string) => planTags({ ref, sha, defaultBranch }, [], owned);

describe('tags from the git ref', () => {
  test('a push to the default branch gets sha-<short>, <branch>-<short> and latest', () => {
    expect(tagsFor('refs/heads/main', 'main')).toEqual({
      tags: ['sha-ffac537', 'main-ffac537', 'latest'],
      skipped: [],
    });
  });

  test('another branch never gets latest, and its slashes become dashes', () => {
    expect(tagsFor('refs/heads/feature/Login+SSO', 'main').tags).toEqual([
      'sha-ffac537',
      'feature-Login-SSO-ffac537',
    ]);
  });

  test('without a known default branch nothing is tagged latest', () => {
    expect(tagsFor('refs/heads/main').tags).toEqual(['sha-ffac537', 'main-ffac537']);
  });

  test('a vX.Y.Z git tag moves vX.Y.Z, X.Y and X', () => {
    expect(tagsFor('refs/tags/v1.12.3', 'main').tags).toEqual(['sha-ffac537', 'v1.12.3', '1.12', '1']);
  });

  test('a pre-release git tag gets only its own name, so no release line moves', () => {
    expect(tagsFor('refs/tags/v2.0.0-rc.1')).toEqual({ tags: ['sha-ffac537', 'v2.0.0-rc.1'], skipped: [] });
  });

  test('any other git tag gives no image tag, and says why', () => {
    expect(tagsFor('refs/tags/nightly/2024')).toEqual({
      tags: ['sha-ffac537'],
      skipped: [{ tag: 'nightly/2024', reason: expect.stringContaining('only version git tags') }],
    });
  });

  test("a git tag named like an environment, a slot or a digest's signatures is skipped as theirs", () => {
    for (const [ref, owner] of [
      ['refs/tags/production', 'environment production'],
      ['refs/tags/green', 'blue-green slot green'],
      [`refs/tags/sha256-${'a'.repeat(64)}.sig`, "cosign's signature"],
    ] as const) {
      const plan = tagsFor(ref);
      expect(plan.tags).toEqual(['sha-ffac537']);
      expect(plan.skipped).toEqual([{ tag: ref.slice(10), reason: expect.stringContaining(owner) }]);
    }
  });

  test('a branch tag that would start with sha256- is skipped', () => {
    expect(tagsFor('refs/heads/sha256-x').skipped).toEqual([
      { tag: 'sha256-x-ffac537', reason: expect.stringContaining("cosign's") },
    ]);
  });

  test('with a tag template the environment tags it gives are owned too', () => {
    const custom = ownedTags(['qa', 'prod'], 'app-{env}');
    expect(planTags({ ref: 'refs/heads/main', sha, defaultBranch: 'main' }, ['latest'], custom).tags).toEqual(
      ['sha-ffac537', 'main-ffac537', 'latest'],
    );
    expect(() => planTags({ ref: 'refs/heads/main', sha }, ['app-prod'], custom)).toThrow(ConfigurationError);
    expect(() => planTags({ ref: 'refs/heads/main', sha }, ['app-blue'], custom)).toThrow(/"tags"/);
  });

  test('a pull request merge ref gets only sha-<short>', () => {
    expect(tagsFor('refs/pull/7/merge', 'main').tags).toEqual(['sha-ffac537']);
  });

  test('a very long branch name is cut so the tag stays within 128 characters with its sha suffix', () => {
    const [, branchTag] = tagsFor(`refs/heads/${'b'.repeat(300)}`).tags;
    expect(branchTag).toHaveLength(128);
    expect(branchTag?.endsWith('-ffac537')).toBe(true);
  });

  test('extra tags follow the defaults, each once', () => {
    expect(
      planTags({ ref: 'refs/heads/main', sha, defaultBranch: 'main' }, ['stable', 'latest'], owned).tags,
    ).toEqual(['sha-ffac537', 'main-ffac537', 'latest', 'stable']);
  });

  test('an extra tag another step owns is refused, naming it and the input', () => {
    expect(() => planTags({ ref: 'refs/heads/main', sha }, ['canary'], owned)).toThrow(
      /Input "tags" holds "canary", which is the tag of the environment canary/,
    );
  });

  test('tagSafe strips leading dots and dashes a tag cannot start with', () => {
    expect(tagSafe('-.hidden/branch.')).toBe('hidden-branch');
  });
});

describe('the environments and tag template inputs', () => {
  test('a template without {env} or giving an invalid tag is refused, naming the input', () => {
    expect(() => ownedTags(['prod'], 'app')).toThrow(/Input "tag-template" is "app", which has no \{env\}/);
    expect(() => ownedTags(['prod'], '-{env}')).toThrow(/gives "-prod"/);
  });

  test('an environment that promote would refuse is refused here too', () => {
    expect(() => ownedTags(['Prod'], '{env}')).toThrow(/Input "environments" holds "Prod"/);
  });
});
