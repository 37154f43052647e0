import { describe, expect, test } from '@jest/globals';
import { InvalidReferenceError, isDigest, isTag, parseReference, sha256Digest } from '../src/index.js';

const digest = `sha256:${'a1'.repeat(32)}`;

describe('parseReference', () => {
  test.each([
    ['nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27', undefined],
    ['bitnami/redis', 'docker.io', 'bitnami/redis', undefined, undefined],
    ['index.docker.io/library/nginx:latest', 'docker.io', 'library/nginx', 'latest', undefined],
    ['docker.io/nginx', 'docker.io', 'library/nginx', undefined, undefined],
    ['ghcr.io/org/app:v1.2.3', 'ghcr.io', 'org/app', 'v1.2.3', undefined],
    ['127.0.0.1:5000/team/app:dev', '127.0.0.1:5000', 'team/app', 'dev', undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/a/b/c', 'localhost:5000', 'a/b/c', undefined, undefined],
    ['[::1]:5000/team/app:v1', '[::1]:5000', 'team/app', 'v1', undefined],
    [`ghcr.io/org/app@${digest}`, 'ghcr.io', 'org/app', undefined, digest],
    [`ghcr.io/org/app:v1@${digest}`, 'ghcr.io', 'org/app', 'v1', digest],
    [
      'registry.example.com/my-org/my__app.x:_tag-1.0',
      'registry.example.com',
      'my-org/my__app.x',
      '_tag-1.0',
      undefined,
    ],
    ['Registry.Example/app', 'Registry.Example', 'app', undefined, undefined],
  ])('%s', (input, registry, repository, tag, expectedDigest) => {
    const reference = parseReference(input);
    expect({ ...reference }).toEqual({ registry, repository, tag, digest: expectedDigest });
    expect(reference.name).toBe(`${registry}/${repository}`);
  });

  test('writes the canonical form back out', () => {
    expect(String(parseReference('nginx'))).toBe('docker.io/library/nginx');
    expect(parseReference(`127.0.0.1:5000/team/app:v1@${digest}`).toString()).toBe(
      `127.0.0.1:5000/team/app:v1@${digest}`,
    );
  });

  test('adds the default tag only when neither tag nor digest is given', () => {
    expect(parseReference('nginx', { defaultTag: 'latest' }).tag).toBe('latest');
    expect(parseReference('nginx:1', { defaultTag: 'latest' }).tag).toBe('1');
    expect(parseReference(`nginx@${digest}`, { defaultTag: 'latest' }).tag).toBeUndefined();
    expect(() => parseReference('nginx', { defaultTag: '-bad' })).toThrow('default tag "-bad"');
  });

  test.each([
    ['', 'it is empty'],
    ['https://ghcr.io/org/app', 'remove the scheme "https://"'],
    ['ghcr.io/Org/app', 'repository path component "Org" must be lower case'],
    ['nginx:-bad', 'tag "-bad" must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'],
    [`nginx:${'t'.repeat(129)}`, `tag "${'t'.repeat(129)}" must match`],
    ['nginx:', 'tag "" must match'],
    ['nginx@sha256:abc', 'digest "sha256:abc" must be sha256: followed by 64 lower-case hex characters'],
    [`nginx@sha256:${'A'.repeat(64)}`, 'must be sha256: followed by 64 lower-case hex characters'],
    [`nginx@sha512:${'a'.repeat(128)}`, 'digest algorithm "sha512" is not supported'],
    [`nginx@${digest}@${digest}`, `digest "${digest}@${digest}"`],
    ['ghcr.io/org//app', 'repository "org//app" has an empty path component'],
    ['ghcr.io/org/app-', 'repository path component "app-" must be lower-case letters and digits'],
    ['ghcr.io/', 'the repository is missing'],
    ['exa_mple.com:5000/app', 'registry "exa_mple.com:5000" is not a host name'],
    ['ghcr.io:http/app', 'registry "ghcr.io:http" is not a host name'],
    [`ghcr.io/${'a'.repeat(250)}`, 'is longer than 255 characters'],
  ])('refuses %j, naming the bad part', (input, problem) => {
    const parse = () => parseReference(input);
    expect(parse).toThrow(InvalidReferenceError);
    expect(parse).toThrow(`invalid image reference ${JSON.stringify(input)}: `);
    expect(parse).toThrow(problem);
  });
});

describe('tags and digests', () => {
  test('tell tags and sha256 digests from anything else', () => {
    expect(isTag('v1.0_rc-1')).toBe(true);
    expect(isTag('.hidden')).toBe(false);
    expect(isTag('a'.repeat(128))).toBe(true);
    expect(isTag('a'.repeat(129))).toBe(false);
    expect(isDigest(digest)).toBe(true);
    expect(isDigest(digest.toUpperCase())).toBe(false);
    expect(isDigest(`sha512:${'a'.repeat(128)}`)).toBe(false);
  });

  test('sha256Digest hashes bytes and strings alike', () => {
    const empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(sha256Digest('')).toBe(empty);
    expect(sha256Digest(new Uint8Array())).toBe(empty);
    expect(sha256Digest('{}')).toBe(
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
  });
});
