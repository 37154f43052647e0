// main() in-process: inputs read from the environment as a runner sets them, passed to main, outputs
// written to GITHUB_OUTPUT. A merge of digests already in the registry needs no builder.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  inputEnvName,
  type LocalRegistry,
  makeTempDir,
  parseCommandFile,
  startRegistry,
} from '@digestline/local';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { buildImage } from '../../../test/harness/images.js';
import { clientFor } from './helpers.js';

let registry: LocalRegistry;
let temp: { path: string; remove(): Promise<void> };
const saved = { ...process.env };

beforeAll(async () => {
  [registry, temp] = await Promise.all([startRegistry({ mode: 'open' }), makeTempDir('build-and-sign-main')]);
});

afterAll(async () => {
  process.env = saved;
  await Promise.all([registry?.stop(), temp?.remove()]);
});

test('main(inputs) merges, tags and writes its outputs; the inputs can be changed before the call', async () => {
  const image = await buildImage(
    { host: registry.host },
    { repository: 'team/app', tag: 'amd64', platform: 'linux/amd64', files: { 'app.txt': 'amd64' } },
  );
  const output = join(temp.path, 'output');
  await writeFile(output, '');
  const inputs = {
    image: `${registry.host}/team/app`,
    'merge-digests': image.digest,
    signing: 'none',
    sbom: 'none',
    provenance: 'false',
  };
  Object.assign(process.env, {
    GITHUB_WORKSPACE: temp.path,
    GITHUB_OUTPUT: output,
    GITHUB_SHA: 'ffac537e6cbbf934b08745a378932722df287a53',
    GITHUB_REF: 'refs/heads/feature',
    ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [inputEnvName(name), value])),
  });
  // Imported once the environment is set: @actions/github reads its context when it loads.
  const { main } = await import('../src/main.js');
  const { readInputs } = await import('../src/inputs.js');

  await main({ ...readInputs(), extraTags: ['in-process'] });

  const outputs = parseCommandFile(await readFile(output, 'utf8'));
  const client = clientFor(registry);
  try {
    expect(outputs.digest).toBe((await client.headManifest('team/app', 'in-process'))?.digest);
    expect(outputs.tags?.split('\n')).toEqual(
      ['sha-ffac537', 'feature-ffac537', 'in-process'].map((t) => `${registry.host}/team/app:${t}`),
    );
  } finally {
    await client.close();
  }
});
