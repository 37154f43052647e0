import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { build } from '../src/builder.js';
import { fullLog } from '../src/host.js';
import {
  type ProcessRunner,
  type RunOptions,
  resolveBuilder,
  resolveRuntime,
  toolFailed,
} from '../src/index.js';

/** A host where only the commands in `present` run; every call is recorded. */
function host(present: string[], onRun: (args: string[]) => Promise<void> = async () => {}) {
  const calls: { command: string; args: string[]; options?: RunOptions }[] = [];
  const runner: ProcessRunner = {
    async run(command, args, options) {
      calls.push({ command, args, options });
      if (!present.includes(command)) throw toolFailed(command, args, { code: 127, signal: null }, '');
      await onRun(args);
      return '';
    },
  };
  return { runner, calls };
}

describe('choosing the builder', () => {
  test('auto takes a Docker engine that answers, else buildah', async () => {
    expect(await resolveBuilder(host(['docker', 'buildah']).runner, 'auto')).toBe('docker');
    const { runner, calls } = host(['buildah']);
    expect(await resolveBuilder(runner, 'auto')).toBe('buildah');
    expect(calls.map((c) => [c.command, c.options?.timeoutMs])).toEqual([
      ['docker', 10_000],
      ['buildah', 10_000],
    ]);
  });

  test('a builder asked for but missing says what to use instead', async () => {
    await expect(resolveBuilder(host(['buildah']).runner, 'docker')).rejects.toMatchObject({
      fault: 'user',
      message: expect.stringContaining('"builder: buildah"'),
    });
    await expect(resolveBuilder(host([]).runner, 'auto')).rejects.toThrow(
      /neither a Docker engine nor buildah/,
    );
  });
});

describe('the runtime for RUN steps', () => {
  test('runc first, else crun', async () => {
    expect(await resolveRuntime(host(['runc', 'crun']).runner)).toBe('runc');
    expect(await resolveRuntime(host(['crun']).runner)).toBe('crun');
  });

  test('without either the run is refused, never built with chroot isolation', async () => {
    await expect(resolveRuntime(host(['buildah']).runner)).rejects.toMatchObject({
      fault: 'user',
      message: expect.stringContaining('apt-get install runc'),
    });
  });
});

test('buildah builds, then saves to the layout; the digest comes from its digest file, TMPDIR from the work dir', async () => {
  const work = await mkdtemp(join(tmpdir(), 'build-builder-'));
  try {
    const digest = `sha256:${'b'.repeat(64)}`;
    const { runner, calls } = host(['buildah'], async (args) => {
      if (args.includes('--digestfile')) await writeFile(join(work, 'digest'), `${digest}\n`);
    });
    const request = {
      context: '/src',
      file: '/src/Dockerfile',
      platform: 'linux/amd64',
      buildArgs: [],
      layout: '/l',
    };
    expect(await build(runner, fullLog(), { builder: 'buildah', runtime: 'runc' }, request, work)).toBe(
      digest,
    );
    expect(calls.map((c) => c.args.find((a) => a === 'bud' || a === 'push'))).toEqual(['bud', 'push']);
    expect(
      calls.every((c) => c.options?.stream === true && c.options.env?.TMPDIR === join(work, 'tmp')),
    ).toBe(true);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
