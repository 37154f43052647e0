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
  sigstoreEndpoints,
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
    const sigstore = sigstoreEndpoints({});
    expect(chooseSigning('auto', key, true, sigstore)).toEqual({
      kind: 'key',
      pem: 'PEM',
      password: 'pw',
      tlog: { rekorURL: 'https://rekor.sigstore.dev', required: false },
    });
    expect(chooseSigning('key', key, false, sigstore, 'true')).toMatchObject({ tlog: { required: true } });
    expect(chooseSigning('key', key, false, sigstore, 'false')).toEqual({
      kind: 'key',
      pem: 'PEM',
      password: 'pw',
    });
    expect(chooseSigning('auto', { password: '' }, true, sigstore)).toEqual({ kind: 'keyless', sigstore });
    expect(chooseSigning('none', key, true, sigstore)).toEqual({ kind: 'none' });
    expect(() => chooseSigning('key', { password: '' }, true, sigstore)).toThrow(
      /"signing: key" needs a key/,
    );
    expect(() => chooseSigning('keyless', key, false, sigstore)).toThrow(/permissions: id-token: write/);
    expect(() => chooseSigning('auto', { password: '' }, false, sigstore)).toThrow(
      /cosign-private-key.*id-token: write.*signing: none/,
    );
  });

  test('keyless signs with the public-good Sigstore unless the inputs name another, over https', () => {
    expect(sigstoreEndpoints({})).toEqual({
      fulcioURL: 'https://fulcio.sigstore.dev',
      rekorURL: 'https://rekor.sigstore.dev',
    });
    expect(
      sigstoreEndpoints({ fulcio: 'https://fulcio.example/', rekor: ' ', tsa: 'http://127.0.0.1:8080' }),
    ).toEqual({
      fulcioURL: 'https://fulcio.example',
      rekorURL: 'https://rekor.sigstore.dev',
      tsaURL: 'http://127.0.0.1:8080',
    });
    expect(() => sigstoreEndpoints({ rekor: 'http://rekor.example' })).toThrow(/"rekor-url" must use https/);
    expect(() => sigstoreEndpoints({ tsa: 'timestamp' })).toThrow(/"tsa-url" must be a URL/);
  });

  test('provenance needs the workflow ref; keyless signing no longer needs provenance', () => {
    const keyless = { kind: 'keyless' as const, sigstore: sigstoreEndpoints({}) };
    expect(() => checkProvenance(keyless, false, 'o/r/.github/workflows/x.yml@main')).not.toThrow();
    expect(() => checkProvenance({ kind: 'none' }, true, '')).not.toThrow();
    expect(() => checkProvenance(keyless, true, '')).toThrow(/GITHUB_WORKFLOW_REF is not set/);
  });
});
