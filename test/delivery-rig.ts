import type { RunResult } from '@digestline/workflow';
import { afterAll, beforeAll } from '@jest/globals';
import { expectDeployment } from '../actions/promote/test/deployments-fixture.js';
import { DeliveryRig, REPOSITORY } from '../packages/cli/src/demo/delivery.js';
import { type GitHubFixture, startGitHub } from './harness/github.js';

/** A delivery rig and the GitHub fixture its jobs call, started before a file's tests and stopped after. */
export function useDeliveryRig(signing: 'keys' | 'keyless'): { rig(): DeliveryRig; github(): GitHubFixture } {
  let github: GitHubFixture | undefined;
  let rig: DeliveryRig | undefined;
  beforeAll(async () => {
    github = await startGitHub();
    rig = await DeliveryRig.start({ signing, github: { url: github.url, token: 'fixture-token' } });
  }, 180_000);
  afterAll(async () => {
    await rig?.stop();
    await github?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} did not start`);
    return value;
  };
  return { rig: () => started(rig, 'delivery rig'), github: () => started(github, 'GitHub fixture') };
}

export const expectSuccess = (run: RunResult): void => {
  if (run.conclusion !== 'success') throw new Error(`run failed:\n${run.log()}`);
};

/** The GitHub calls a push makes: a deployment per environment reached, and the code-scanning uploads. */
export function expectGitHubCalls(github: GitHubFixture, environments: number, uploads: number): void {
  for (let i = 0; i < environments; i++) expectDeployment(github);
  for (let i = 0; i < uploads; i++) {
    github.on('code-scanning/upload-sarif', {
      status: 202,
      body: {
        id: `sarif-${i}`,
        url: `https://api.github.com/repos/${REPOSITORY}/code-scanning/sarifs/sarif-${i}`,
      },
    });
    github.on('code-scanning/get-sarif', {
      status: 200,
      body: { processing_status: 'complete', analyses_url: null },
    });
  }
}
