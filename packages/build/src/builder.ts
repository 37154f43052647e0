import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '@digestline/base';
import { isDigest } from '@digestline/oci';
import type { BuildLog } from './host.js';
import { type BuilderChoice, INPUT } from './options.js';
import { answers, type ProcessRunner } from './process.js';

export type Builder = 'docker' | 'buildah';

export interface BuildRequest {
  context: string;
  file: string;
  platform: string;
  buildArgs: string[];
  /** An empty directory the image is written to as an OCI image layout. */
  layout: string;
}

/** The tag the one image of a layout is stored under. */
export const LAYOUT_TAG = 'image';

/** `auto` = docker when a Docker engine answers (the CLI alone is not enough), else buildah. */
export async function resolveBuilder(runner: ProcessRunner, choice: BuilderChoice): Promise<Builder> {
  const engine = () => answers(runner, 'docker', ['version', '--format', '{{.Server.Version}}']);
  const buildah = () => answers(runner, 'buildah', ['--version']);
  if (choice === 'docker') {
    if (await engine()) return 'docker';
    throw new ConfigurationError(
      `"${INPUT.builder}: docker" needs a running Docker engine, and none answered "docker version"; start one (e.g. docker/setup-buildx-action) or set "${INPUT.builder}: buildah" or "auto".`,
    );
  }
  if (choice === 'buildah') {
    if (await buildah()) return 'buildah';
    throw new ConfigurationError(
      `"${INPUT.builder}: buildah" needs buildah on PATH (Debian/Ubuntu: apt-get install buildah); install it or set "${INPUT.builder}: auto".`,
    );
  }
  if (await engine()) return 'docker';
  if (await buildah()) return 'buildah';
  throw new ConfigurationError(
    `"${INPUT.builder}: auto" found neither a Docker engine nor buildah: install buildah (apt-get install buildah) or set up Docker before this step.`,
  );
}

/**
 * The OCI runtimes buildah's `--isolation oci` can use, in the order tried: runc works with cgroup v1,
 * v2 and the hybrid layout; Debian 12's crun refuses hybrid cgroups.
 */
export const OCI_RUNTIMES = ['runc', 'crun'] as const;

/**
 * The runtime for buildah's RUN steps. There is no fallback to `--isolation chroot`: it shares the host's
 * PID namespace, so a RUN step (code from the repository) would see every process on the machine, this
 * action's included, and through /proc their command lines and environments.
 */
export async function resolveRuntime(runner: ProcessRunner): Promise<string> {
  for (const runtime of OCI_RUNTIMES) if (await answers(runner, runtime, ['--version'])) return runtime;
  throw new ConfigurationError(
    `buildah runs RUN steps in their own PID namespace ("--isolation oci"), which needs runc or crun on PATH, and neither answered "--version": install one (Debian/Ubuntu: apt-get install runc) or set "${INPUT.builder}: docker".`,
  );
}

/** The builder a run uses; buildah with the OCI runtime for its RUN steps. */
export type BuildTool = { builder: 'docker' } | { builder: 'buildah'; runtime: string };

/**
 * buildah with its own storage under `work` (vfs: no kernel overlay or fuse needed), so runs never share
 * or leave state behind; RUN steps in containers of their own (`--isolation oci`), so they see neither
 * the action nor any other process on the machine.
 */
export function buildahCommands(
  request: BuildRequest,
  work: string,
  runtime: string,
): { build: string[]; save: string[] } {
  const storage = [
    '--storage-driver',
    'vfs',
    '--root',
    join(work, 'root'),
    '--runroot',
    join(work, 'runroot'),
  ];
  const local = `localhost/build-and-sign:${request.platform.replace(/\//g, '-')}`;
  return {
    build: [
      ...storage,
      'bud',
      '--isolation',
      'oci',
      '--runtime',
      runtime,
      '--format',
      'oci',
      '--platform',
      request.platform,
      ...request.buildArgs.flatMap((arg) => ['--build-arg', arg]),
      '-f',
      request.file,
      '-t',
      local,
      request.context,
    ],
    save: [
      ...storage,
      'push',
      '--digestfile',
      join(work, 'digest'),
      local,
      `oci:${request.layout}:${LAYOUT_TAG}`,
    ],
  };
}

/**
 * docker buildx writing an OCI layout directory. Its own provenance and SBOM are off: they would turn
 * the single-platform result into an index, and this action attests (and signs) them itself.
 */
export function dockerCommand(request: BuildRequest): string[] {
  return [
    'buildx',
    'build',
    '--platform',
    request.platform,
    ...request.buildArgs.flatMap((arg) => ['--build-arg', arg]),
    '--file',
    request.file,
    '--provenance=false',
    '--sbom=false',
    '--output',
    `type=oci,dest=${request.layout},tar=false`,
    request.context,
  ];
}

/** Builds one platform into `request.layout`; returns the manifest digest the builder reports. */
export async function build(
  runner: ProcessRunner,
  log: Required<BuildLog>,
  tool: BuildTool,
  request: BuildRequest,
  work: string,
): Promise<string | undefined> {
  await mkdir(work, { recursive: true });
  const tmp = join(work, 'tmp');
  await mkdir(tmp, { recursive: true });
  // Builders spill layers to TMPDIR (/var/tmp by default), which can be small on runners.
  const options = { env: { TMPDIR: tmp }, stream: true };
  return log.group(`Building ${request.platform} with ${tool.builder}`, async () => {
    if (tool.builder === 'docker') {
      await runner.run('docker', dockerCommand(request), options);
      return undefined;
    }
    const { build: bud, save } = buildahCommands(request, work, tool.runtime);
    await runner.run('buildah', bud, options);
    await runner.run('buildah', save, options);
    const digest = (await readFile(join(work, 'digest'), 'utf8')).trim();
    return isDigest(digest) ? digest : undefined;
  });
}
