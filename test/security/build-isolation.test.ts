import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalRegistry, makeTempDir, runAction, startRegistry } from '@digestline/local';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { WORKFLOW_REF, writeProject } from '../../actions/build-and-sign/test/helpers.js';
import { writeBusyboxTree } from '../harness/images.js';

/*
 * Issue 13, item 4: a Dockerfile RUN step is code from the repository, run while the action holds the
 * cosign key, the registry password and the runner's tokens. It must not see the action's process (its
 * command line, its environment through /proc) nor any INPUT_ or ACTIONS_ variable; the builder itself
 * gets an environment without them.
 */

const RUNNER_TOKENS = {
  ACTIONS_RUNTIME_TOKEN: 'runtime-token-marker-5b1f',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-request-token-marker-9c2e',
};

/**
 * Fails the RUN step when any process it can see is the action (`…/dist/index.js`, written as a
 * pattern that its own command line does not match) or carries an INPUT_ or ACTIONS_ variable, or when
 * its own environment does.
 */
const PROBE = [
  'seen=0',
  'for dir in /proc/[0-9]*; do',
  '  [ -r "$dir/cmdline" ] || continue',
  '  seen=$((seen + 1))',
  `  if tr '\\0' ' ' < "$dir/cmdline" | grep -q 'dist/inde[x][.]js'; then echo "PROBE sees the action: $(tr '\\0' ' ' < "$dir/cmdline")"; exit 1; fi`,
  `  if tr '\\0' '\\n' < "$dir/environ" 2>/dev/null | grep -qE '^(INPUT|ACTIONS)_'; then echo "PROBE sees runner variables in $dir"; exit 1; fi`,
  'done',
  `if env | grep -qE '^(INPUT|ACTIONS)_'; then echo 'PROBE has runner variables'; exit 1; fi`,
  'echo "PROBE sees $seen processes"',
].join('\n');

let registry: LocalRegistry;
let workspace: { path: string; remove(): Promise<void> };
let shims: string;
let shimLog: string;

beforeAll(async () => {
  [registry, workspace] = await Promise.all([startRegistry({ mode: 'open' }), makeTempDir('isolation')]);
  await writeBusyboxTree(join(workspace.path, 'busybox'));
  await writeProject(workspace.path, {
    Dockerfile: `FROM scratch\nCOPY busybox/ /\nCOPY app.txt /app.txt\nRUN ${JSON.stringify(['/bin/sh', '-c', PROBE])}\n`,
  });
  // A buildah in front of the real one that records the environment the action starts it with.
  shims = join(workspace.path, 'shims');
  shimLog = join(workspace.path, 'shim-log');
  await mkdir(shims);
  await mkdir(shimLog);
  await writeFile(
    join(shims, 'buildah'),
    `#!/bin/sh\nenv > "${shimLog}/buildah.$$.env"\nexec /usr/bin/buildah "$@"\n`,
  );
  await chmod(join(shims, 'buildah'), 0o755);
});

afterAll(async () => {
  await Promise.all([registry?.stop(), workspace?.remove()]);
});

describe('a RUN step and the builder see nothing of the action', () => {
  test('the RUN step cannot see the action process or any INPUT_/ACTIONS_ variable; buildah gets none either', async () => {
    const result = await runAction('build-and-sign', {
      workspace: workspace.path,
      env: {
        ...RUNNER_TOKENS,
        GITHUB_WORKFLOW_REF: WORKFLOW_REF,
        PATH: `${shims}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      },
      inputs: {
        image: `${registry.host}/team/probe`,
        builder: 'buildah',
        signing: 'none',
        sbom: 'none',
      },
      timeoutMs: 180_000,
    });
    const probe = result.log.split('\n').filter((line) => line.includes('PROBE'));
    expect(probe.filter((line) => !line.includes('echo'))).toEqual([
      expect.stringMatching(/^PROBE sees \d+ processes$/),
    ]);
    expect(result.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const envs = await readdir(shimLog);
    expect(envs.length).toBeGreaterThan(0);
    for (const file of envs) {
      const variables = (await readFile(join(shimLog, file), 'utf8')).split('\n');
      expect(variables.filter((line) => /^(INPUT|ACTIONS|STATE)_/.test(line))).toEqual([]);
      expect(variables).toContainEqual(expect.stringMatching(/^PATH=/));
    }
  });
});
