import { describe, expect, test } from '@jest/globals';
import { allTags, defaultTags, tagSafe } from '../src/tags.js';

const sha = 'ffac537e6cbbf934b08745a378932722df287a53';

describe('default tags', () => {
  test('a push to the default branch gets sha-<short>, <branch>-<short> and latest', () => {
    expect(defaultTags({ ref: 'refs/heads/main', sha, defaultBranch: 'main' })).toEqual([
      'sha-ffac537',
      'main-ffac537',
      'latest',
    ]);
  });

  test('another branch never gets latest, and its slashes become dashes', () => {
    expect(defaultTags({ ref: 'refs/heads/feature/Login+SSO', sha, defaultBranch: 'main' })).toEqual([
      'sha-ffac537',
      'feature-Login-SSO-ffac537',
    ]);
  });

  test('without a known default branch nothing is tagged latest', () => {
    expect(defaultTags({ ref: 'refs/heads/main', sha })).toEqual(['sha-ffac537', 'main-ffac537']);
  });

  test('a vX.Y.Z git tag moves vX.Y.Z, X.Y and X', () => {
    expect(defaultTags({ ref: 'refs/tags/v1.12.3', sha, defaultBranch: 'main' })).toEqual([
      'sha-ffac537',
      'v1.12.3',
      '1.12',
      '1',
    ]);
  });

  test('a pre-release or other git tag gets only its own name, so no release line moves', () => {
    expect(defaultTags({ ref: 'refs/tags/v2.0.0-rc.1', sha })).toEqual(['sha-ffac537', 'v2.0.0-rc.1']);
    expect(defaultTags({ ref: 'refs/tags/nightly/2024', sha })).toEqual(['sha-ffac537', 'nightly-2024']);
  });

  test('a pull request merge ref gets only sha-<short>', () => {
    expect(defaultTags({ ref: 'refs/pull/7/merge', sha, defaultBranch: 'main' })).toEqual(['sha-ffac537']);
  });

  test('a very long branch name is cut so the tag stays within 128 characters with its sha suffix', () => {
    const [, branchTag] = defaultTags({ ref: `refs/heads/${'b'.repeat(300)}`, sha });
    expect(branchTag).toHaveLength(128);
    expect(branchTag?.endsWith('-ffac537')).toBe(true);
  });

  test('extra tags follow the defaults, each once', () => {
    expect(allTags({ ref: 'refs/heads/main', sha, defaultBranch: 'main' }, ['stable', 'latest'])).toEqual([
      'sha-ffac537',
      'main-ffac537',
      'latest',
      'stable',
    ]);
  });

  test('tagSafe strips leading dots and dashes a tag cannot start with', () => {
    expect(tagSafe('-.hidden/branch.')).toBe('hidden-branch');
  });
});
