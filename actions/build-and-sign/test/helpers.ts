import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { httpRequest, type LocalRegistry } from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { loadPublicKey } from '@digestline/signing';
import { corpusBytes, corpusText } from '../../../test/harness/corpus.js';

/** cosign's own encrypted key (empty password) and its public key. */
export const corpusKey = {
  pem: corpusText('cosign/encrypted-key/cosign.key'),
  publicKey: loadPublicKey(corpusBytes('cosign/encrypted-key/cosign.pub')),
};

export const WORKFLOW_REF = 'octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main';

/** A COPY-only Dockerfile (no base image, no RUN): builds for any platform on this machine. */
export async function writeProject(workspace: string, files: Record<string, string> = {}): Promise<void> {
  const all = {
    Dockerfile: 'FROM scratch\nARG GREETING=hello\nCOPY app.txt /app.txt\nLABEL greeting=$GREETING\n',
    'app.txt': 'digestline\n',
    ...files,
  };
  for (const [path, content] of Object.entries(all)) {
    await mkdir(dirname(join(workspace, path)), { recursive: true });
    await writeFile(join(workspace, path), content);
  }
}

/** The event payload a push to `main` carries, which is where the default branch comes from. */
export async function writePushEvent(dir: string): Promise<string> {
  const path = join(dir, 'event.json');
  await writeFile(path, JSON.stringify({ repository: { default_branch: 'main' } }));
  return path;
}

export function clientFor(registry: LocalRegistry): RegistryClient {
  return new RegistryClient(registry.host, {
    credentials:
      registry.username === undefined
        ? undefined
        : { username: registry.username, password: registry.password ?? '' },
    retry: { attempts: 1 },
  });
}

/** A minimal SPDX 2.3 document, as syft writes it. */
export const SPDX = JSON.stringify({
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'app',
  documentNamespace: 'https://example.com/spdx/app',
  creationInfo: { created: '2025-01-01T00:00:00Z', creators: ['Tool: test'] },
  packages: [],
});

/** Every repository and tag of an open registry: what a failed run must have left unchanged. */
export async function registryContents(registry: LocalRegistry): Promise<Record<string, string[]>> {
  const response = await httpRequest(`${registry.url}/v2/_catalog`);
  if (response.status !== 200) throw new Error(`GET /v2/_catalog answered ${response.status}`);
  const { repositories } = JSON.parse(response.body.toString('utf8')) as { repositories: string[] };
  const client = clientFor(registry);
  try {
    const contents: Record<string, string[]> = {};
    for (const repository of repositories) contents[repository] = (await client.listTags(repository)).sort();
    return contents;
  } finally {
    await client.close();
  }
}
