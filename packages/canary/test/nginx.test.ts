import { type LocalNginx, startNginx, waitUntil } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type SampleApp, startSampleApp } from '../../../test/harness/sample-app.js';
import { NginxProvider, renderUpstream } from '../src/index.js';

let stable: SampleApp;
let canary: SampleApp;
let nginx: LocalNginx;
let provider: NginxProvider;

beforeAll(async () => {
  [stable, canary] = await Promise.all([startSampleApp('stable'), startSampleApp('canary')]);
  nginx = await startNginx({ stable: stable.address, canary: canary.address });
  provider = new NginxProvider({
    configPath: nginx.upstreamFile,
    reloadCommand: nginx.reloadCommand,
    upstreamName: nginx.upstreamName,
    stableServer: stable.address,
    canaryServer: canary.address,
  });
});
afterAll(async () => {
  await nginx?.stop();
  await Promise.all([stable?.stop(), canary?.stop()]);
});

async function versionOf(): Promise<string> {
  const response = await fetch(`${nginx.url}/api/health`);
  return (await response.text()).trim();
}

/** Waits until the reloaded workers answer (a canary answer appears, or none for `expectCanary: false`), then counts. */
async function measureCanaryShare(requests: number, expectCanary: boolean): Promise<number> {
  if (expectCanary)
    await waitUntil('nginx to route to the canary', async () => (await versionOf()) === 'canary');
  else
    await waitUntil('nginx to route only to stable', async () => {
      for (let i = 0; i < 20; i++) if ((await versionOf()) === 'canary') return false;
      return true;
    });
  let canaryAnswers = 0;
  for (let i = 0; i < requests; i++) if ((await versionOf()) === 'canary') canaryAnswers++;
  return (canaryAnswers / requests) * 100;
}

describe('nginx provider with a real nginx splitting real requests', () => {
  test('renders weights per mille and marks a side without share as down', () => {
    const options = {
      configPath: '',
      reloadCommand: '',
      upstreamName: 'app',
      stableServer: 's:1',
      canaryServer: 'c:2',
    };
    expect(renderUpstream(options, 2.5)).toContain('  server s:1 weight=975;\n  server c:2 weight=25;\n');
    expect(renderUpstream(options, 0)).toContain('  server c:2 down;');
    expect(renderUpstream(options, 100)).toContain('  server s:1 down;');
  });

  test.each([5, 25])(
    'at weight %i the measured canary share over 2,000 requests is within ±2 points',
    async (weight) => {
      await provider.setWeight(weight);
      const share = await measureCanaryShare(2000, true);
      expect(Math.abs(share - weight)).toBeLessThanOrEqual(2);
    },
  );

  test('rollback sends every request to stable', async () => {
    await provider.setWeight(50);
    await provider.rollback();
    expect(await measureCanaryShare(200, false)).toBe(0);
  });

  test('a failing reload command is reported', async () => {
    const broken = new NginxProvider({
      configPath: nginx.upstreamFile,
      reloadCommand: 'exit 1',
      upstreamName: nginx.upstreamName,
      stableServer: stable.address,
      canaryServer: canary.address,
    });
    await expect(broken.setWeight(10)).rejects.toThrow(/the nginx reload command failed with exit code 1/);
  });
});
