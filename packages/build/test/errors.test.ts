import { ConfigurationError } from '@digestline/base';
import { parseReference, RegistryError } from '@digestline/oci';
import { describe, expect, test } from '@jest/globals';
import { BuildAndSignError, MergeError, registryAdvice } from '../src/index.js';

const image = parseReference('registry.example/team/app');
const refused = (status?: number) =>
  new RegistryError('the registry said no.', { registry: image.registry, status });

describe('a registry failure in terms of the inputs that lead to it', () => {
  test('401 and 403 name the credential inputs, and say when none were given', () => {
    expect(registryAdvice(refused(401), { image, mergeDigests: [] })).toBe(
      'Registry registry.example refused access (HTTP 401): no credentials were given: set "registry-username" and "registry-password". the registry said no.',
    );
    const credentials = { username: 'u', password: 'p' };
    expect(registryAdvice(refused(403), { image, credentials, mergeDigests: [] })).toContain(
      '(HTTP 403): check "registry-username" and "registry-password"',
    );
  });

  test('no answer names the image input; a missing digest to merge says to push every platform first', () => {
    expect(registryAdvice(refused(), { image, mergeDigests: [] })).toContain(
      'Registry registry.example (from "image") could not be reached or answered badly',
    );
    expect(registryAdvice(refused(404), { image, mergeDigests: ['sha256:x'] })).toBe(
      'A digest in "merge-digests" is not in registry.example/team/app: the registry said no. Push every platform first.',
    );
  });

  test("other answers keep the registry's own message", () => {
    expect(registryAdvice(refused(404), { image, mergeDigests: [] })).toBeUndefined();
    expect(registryAdvice(refused(500), { image, mergeDigests: [] })).toBeUndefined();
  });
});

describe('a failed run is reported as its cause would be', () => {
  test.each([
    [new ConfigurationError('bad input'), 'CONFIGURATION', 'user'],
    [new MergeError('two amd64'), 'MERGE', 'user'],
    [refused(), 'REGISTRY_UNAVAILABLE', 'environment'],
    [new Error('surprise'), 'BUILD_FAILED', 'bug'],
  ])('%s', (cause, code, fault) => {
    const error = new BuildAndSignError('what failed. Nothing was pushed, signed or tagged.', { cause });
    expect(error).toMatchObject({ name: 'BuildAndSignError', code, fault, cause });
  });
});
