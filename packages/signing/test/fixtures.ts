import type { GitHubBuildContext } from '../src/index.js';

/** The run a GitHub-hosted runner would describe for a push to main. */
export const github: GitHubBuildContext = {
  serverUrl: 'https://github.com',
  repository: 'octo/app',
  sha: 'a'.repeat(40),
  ref: 'refs/heads/main',
  workflow: 'octo/app/.github/workflows/build.yml@refs/heads/main',
  runId: 1234,
  runAttempt: 2,
  builderId: 'https://github.com/actions/runner/github-hosted',
  eventName: 'push',
};

export const spdx = { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'app', packages: [] };
export const cyclonedx = { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components: [] };
