import { describe, expect, test } from '@jest/globals';
import { childEnvironment } from '../src/child-env.js';

describe('the environment of a child process', () => {
  test("keeps what tools need and drops the action's inputs, the runner's tokens and saved state", () => {
    const env = childEnvironment({
      PATH: '/usr/bin:/bin',
      HOME: '/home/runner',
      GITHUB_REPOSITORY: 'octo-org/octo-repo',
      'INPUT_COSIGN-PRIVATE-KEY': '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----',
      INPUT_REGISTRY_PASSWORD: 'hunter2',
      ACTIONS_RUNTIME_TOKEN: 'runtime',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://token.example',
      STATE_previous: 'sha256:abc',
      UNSET: undefined,
    });
    expect(env).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/runner',
      GITHUB_REPOSITORY: 'octo-org/octo-repo',
    });
  });

  test('adds what the caller gives on purpose, after the scrub', () => {
    expect(
      childEnvironment({ PATH: '/bin', INPUT_X: 'x' }, { TRIVY_PASSWORD: 'p', PATH: '/opt/bin' }),
    ).toEqual({
      PATH: '/opt/bin',
      TRIVY_PASSWORD: 'p',
    });
  });

  test("defaults to this process's environment", () => {
    process.env.INPUT_CHILD_ENV_TEST = 'secret';
    try {
      const env = childEnvironment();
      expect(env.INPUT_CHILD_ENV_TEST).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.INPUT_CHILD_ENV_TEST;
    }
  });
});
