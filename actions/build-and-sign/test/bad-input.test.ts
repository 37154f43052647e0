import {
  type ActionResult,
  freePort,
  type LocalRegistry,
  makeTempDir,
  type RunActionOptions,
  runAction,
  startRegistry,
} from '@digestline/local';
import { encryptPrivateKey, generateKeyPair } from '@digestline/signing';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { clientFor, corpusKey, registryContents, WORKFLOW_REF, writeProject } from './helpers.js';

/*
 * Every bad input fails with exit 1 and one error annotation that says what was wrong and how to fix it,
 * and leaves the registry exactly as it was.
 */

let open: LocalRegistry;
let token: LocalRegistry;
let workspace: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  [open, token, workspace] = await Promise.all([
    startRegistry({ mode: 'open' }),
    startRegistry({ mode: 'token' }),
    makeTempDir('build-and-sign-bad'),
  ]);
  await writeProject(workspace.path, { 'not-an-sbom.json': '{"hello":"world"}' });
});

afterAll(async () => {
  await Promise.all([open?.stop(), token?.stop(), workspace?.remove()]);
});

async function fails(inputs: Record<string, string>, options: RunActionOptions = {}): Promise<string> {
  const result: ActionResult = await runAction('build-and-sign', {
    workspace: workspace.path,
    ...options,
    inputs: { 'cosign-private-key': corpusKey.pem, sbom: 'none', ...inputs },
    env: { GITHUB_WORKFLOW_REF: WORKFLOW_REF, ...options.env },
  });
  expect(result.exitCode).toBe(1);
  const errors = result.annotations.filter((a) => a.level === 'error');
  expect(errors).toHaveLength(1);
  expect(result.outputs).toEqual({});
  return errors[0]?.message ?? '';
}

describe('bad input changes nothing in the registry', () => {
  test('a missing image names the input', async () => {
    expect(await fails({})).toMatch(/Input "image" is required/);
  });

  test('an image with a tag is refused: tags go in "tags"', async () => {
    const message = await fails({ image: `${open.host}/team/app:v1` });
    expect(message).toContain('must name a repository without tag or digest');
    expect(message).toContain('"tags"');
  });

  test('an invalid repository name says which part is wrong', async () => {
    const message = await fails({ image: `${open.host}/Team/app` });
    expect(message).toMatch(/Input "image" is not a valid image repository.*"Team" must be lower case/);
  });

  test('a missing Dockerfile says where it was looked for', async () => {
    const message = await fails({ image: `${open.host}/team/app`, file: 'docker/Dockerfile.prod' });
    expect(message).toContain('Dockerfile not found');
    expect(message).toContain(`${workspace.path}/docker/Dockerfile.prod`);
  });

  test('"signing: key" without a key says which input to set', async () => {
    const message = await fails({ image: `${open.host}/team/app`, signing: 'key', 'cosign-private-key': '' });
    expect(message).toContain('"signing: key" needs a key');
    expect(message).toContain('"cosign-private-key"');
  });

  test('keyless signing without an OIDC token says to grant id-token: write', async () => {
    const message = await fails({
      image: `${open.host}/team/app`,
      signing: 'keyless',
      'cosign-private-key': '',
    });
    expect(message).toContain('permissions: id-token: write');
  });

  test('signing: auto with neither key nor OIDC token lists the three ways out', async () => {
    const message = await fails({ image: `${open.host}/team/app`, 'cosign-private-key': '' });
    expect(message).toMatch(/cosign-private-key.*id-token: write.*signing: none/);
  });

  test('a file that is not an SBOM fails before anything is built or pushed', async () => {
    const message = await fails({ image: `${open.host}/team/app`, sbom: 'not-an-sbom.json' });
    expect(message).toContain('not an SBOM in JSON');
    expect(message).toContain('Nothing was pushed, signed or tagged.');
  });

  test('builder: docker without a Docker engine says what to use instead', async () => {
    const message = await fails({ image: `${open.host}/team/app`, builder: 'docker' });
    expect(message).toContain('needs a running Docker engine');
    expect(message).toContain('"builder: buildah"');
  });

  test('a wrong key password names the password input, and nothing is pushed', async () => {
    const key = await encryptPrivateKey(generateKeyPair().privateKey, 'correct horse battery staple');
    const message = await fails({
      image: `${open.host}/team/app`,
      'cosign-private-key': key,
      'cosign-password': 'wrong horse',
    });
    expect(message).toContain('password for the cosign private key is wrong');
    expect(message).toContain('"cosign-password"');
    expect(message).toContain('Nothing was pushed, signed or tagged.');
  });

  test('an unreachable registry is named with the inputs that lead to it', async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const message = await fails({ image: `${host}/team/app` });
    expect(message).toContain(`Registry ${host} (from "image") could not be reached`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).toContain('Nothing was pushed, signed or tagged.');
  });

  test('a 401 names the registry and the credential inputs, and nothing is pushed', async () => {
    const message = await fails({
      image: `${token.host}/team/app`,
      'registry-username': token.username ?? '',
      'registry-password': 'not-the-password',
    });
    expect(message).toContain(`Registry ${token.host} refused access (HTTP 401)`);
    expect(message).toContain('"registry-username" and "registry-password"');
    expect(message).toContain('Nothing was pushed, signed or tagged.');
    const client = clientFor(token);
    try {
      await expect(client.listTags('team/app')).rejects.toMatchObject({ status: 404 });
    } finally {
      await client.close();
    }
  });

  test('no credentials for a registry that wants them says to set them', async () => {
    const message = await fails({ image: `${token.host}/team/app` });
    expect(message).toContain(`Registry ${token.host} refused access (HTTP 401): no credentials were given`);
  });

  test('none of the runs above left anything in the open registry', async () => {
    expect(await registryContents(open)).toEqual({});
  });
});
