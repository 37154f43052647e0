import { ConfigurationError } from '@digestline/base';
import { parseReference } from '@digestline/oci';
import { describe, expect, test } from '@jest/globals';
import {
  checkPlatforms,
  checkProvenance,
  chooseSigning,
  parseBuildArgs,
  parseMergeDigests,
  registryCredentials,
} from '../src/index.js';

const image = parseReference('127.0.0.1:5000/team/app');
const digest = `sha256:${'a'.repeat(64)}`;

describe('options a run must have before anything is built', () => {
  test('platforms: linux/amd64 by default, os/arch[/variant] each once', () => {
    expect(checkPlatforms([])).toEqual(['linux/amd64']);
    expect(checkPlatforms(['linux/arm64/v8', 'linux/amd64'])).toEqual(['linux/arm64/v8', 'linux/amd64']);
    expect(() => checkPlatforms(['amd64'])).toThrow(/Input "platforms" must list platforms as os\/arch/);
    expect(() => checkPlatforms(['linux/amd64', 'linux/amd64'])).toThrow(/lists a platform twice/);
  });

  test('build args: one NAME=value per line, commas and quotes kept', () => {
    expect(parseBuildArgs('A=1, 2\n\n  B="x y"\r\n')).toEqual(['A=1, 2', 'B="x y"']);
    expect(() => parseBuildArgs('not an arg')).toThrow(ConfigurationError);
  });

  test('merge digests: bare or of the same repository; another repository or push: false is refused', () => {
    expect(parseMergeDigests([digest, `${image.name}@${digest}`], image, true)).toEqual([digest, digest]);
    expect(() => parseMergeDigests([`127.0.0.1:5000/team/other@${digest}`], image, true)).toThrow(
      /which is not in 127.0.0.1:5000\/team\/app/,
    );
    expect(() => parseMergeDigests(['latest'], image, true)).toThrow(/must list sha256:<64 hex> digests/);
    expect(() => parseMergeDigests([digest], image, false)).toThrow(/"push: false" forbids/);
    expect(parseMergeDigests([], image, false)).toEqual([]);
  });

  test("registry credentials: the workflow's token goes to ghcr.io only, and half a pair is refused", () => {
    const workflow = { actor: 'octocat', token: 'ghs_token' };
    expect(registryCredentials('ghcr.io', {}, workflow)).toEqual({
      username: 'octocat',
      password: 'ghs_token',
    });
    expect(registryCredentials('registry.example', {}, workflow)).toBeUndefined();
    expect(registryCredentials('registry.example', { username: 'u', password: 'p' }, workflow)).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(() => registryCredentials('registry.example', { username: 'u' }, workflow)).toThrow(
      /"registry-password" is empty/,
    );
  });

  test('signing: auto takes the key, else keyless with an OIDC token, else says the three ways out', () => {
    const key = { pem: 'PEM', password: 'pw' };
    expect(chooseSigning('auto', key, true)).toEqual({ kind: 'key', pem: 'PEM', password: 'pw' });
    expect(chooseSigning('auto', { password: '' }, true)).toEqual({ kind: 'keyless' });
    expect(chooseSigning('none', key, true)).toEqual({ kind: 'none' });
    expect(() => chooseSigning('key', { password: '' }, true)).toThrow(/"signing: key" needs a key/);
    expect(() => chooseSigning('keyless', key, false)).toThrow(/permissions: id-token: write/);
    expect(() => chooseSigning('auto', { password: '' }, false)).toThrow(
      /cosign-private-key.*id-token: write.*signing: none/,
    );
  });

  test('keyless signing needs provenance, and provenance needs the workflow ref', () => {
    expect(() => checkProvenance({ kind: 'keyless' }, false, 'o/r/.github/workflows/x.yml@main')).toThrow(
      /"provenance: false" turns off/,
    );
    expect(() => checkProvenance({ kind: 'none' }, true, '')).not.toThrow();
    expect(() => checkProvenance({ kind: 'keyless' }, true, '')).toThrow(/GITHUB_WORKFLOW_REF is not set/);
  });
});
