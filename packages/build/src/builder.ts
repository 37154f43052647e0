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
 * buildah with its own storage under `work` (vfs: no kernel overlay or fuse needed; chroot isolation:
 * no runc or user namespaces needed), so runs never share or leave state behind.
 */
export function buildahCommands(request: BuildRequest, work: string): { build: string[]; save: string[] } {
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
      'chroot',
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
  builder: Builder,
  request: BuildRequest,
  work: string,
): Promise<string | undefined> {
  await mkdir(work, { recursive: true });
  const tmp = join(work, 'tmp');
  await mkdir(tmp, { recursive: true });
  // Builders spill layers to TMPDIR (/var/tmp by default), which can be small on runners.
  const options = { env: { TMPDIR: tmp }, stream: true };
  return log.group(`Building ${request.platform} with ${builder}`, async () => {
    if (builder === 'docker') {
      await runner.run('docker', dockerCommand(request), options);
      return undefined;
    }
    const { build: bud, save } = buildahCommands(request, work);
    await runner.run('buildah', bud, options);
    await runner.run('buildah', save, options);
    const digest = (await readFile(join(work, 'digest'), 'utf8')).trim();
    return isDigest(digest) ? digest : undefined;
  });
}
