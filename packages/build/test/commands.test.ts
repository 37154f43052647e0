import { describe, expect, test } from '@jest/globals';
import { buildahCommands, dockerCommand } from '../src/builder.js';
import { syftCommand, trivyCommand } from '../src/sbom.js';

const request = {
  context: '/work/app',
  file: '/work/app/build/Dockerfile',
  platform: 'linux/arm64',
  buildArgs: ['VERSION=1.2.3', 'NOTE=a, b and "c"'],
  layout: '/tmp/run/layout-0',
};

describe('builder command lines', () => {
  test('docker buildx writes an OCI layout without its own attestations, so the result is one manifest', () => {
    expect(dockerCommand(request)).toEqual([
      'buildx',
      'build',
      '--platform',
      'linux/arm64',
      '--build-arg',
      'VERSION=1.2.3',
      '--build-arg',
      'NOTE=a, b and "c"',
      '--file',
      '/work/app/build/Dockerfile',
      '--provenance=false',
      '--sbom=false',
      '--output',
      'type=oci,dest=/tmp/run/layout-0,tar=false',
      '/work/app',
    ]);
  });

  test('buildah builds in its own vfs storage, RUN steps in an OCI runtime, and saves to the layout with a digest file', () => {
    const { build, save } = buildahCommands(request, '/tmp/run/b0', 'runc');
    const storage = [
      '--storage-driver',
      'vfs',
      '--root',
      '/tmp/run/b0/root',
      '--runroot',
      '/tmp/run/b0/runroot',
    ];
    expect(build.slice(0, 6)).toEqual(storage);
    expect(build.slice(6)).toEqual([
      'bud',
      '--isolation',
      'oci',
      '--runtime',
      'runc',
      '--format',
      'oci',
      '--platform',
      'linux/arm64',
      '--build-arg',
      'VERSION=1.2.3',
      '--build-arg',
      'NOTE=a, b and "c"',
      '-f',
      '/work/app/build/Dockerfile',
      '-t',
      'localhost/build-and-sign:linux-arm64',
      '/work/app',
    ]);
    expect(save).toEqual([
      ...storage,
      'push',
      '--digestfile',
      '/tmp/run/b0/digest',
      'localhost/build-and-sign:linux-arm64',
      'oci:/tmp/run/layout-0:image',
    ]);
  });
});

describe('SBOM generator command lines', () => {
  const target = {
    ref: '127.0.0.1:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    registry: '127.0.0.1:5000',
    credentials: { username: 'pusher', password: 's3cret-pass' },
    plainHttp: true,
  };

  test('syft scans the pushed digest and gets credentials only through its environment', () => {
    const { args, env } = syftCommand(target, '/tmp/sbom.json');
    expect(args).toEqual(['scan', `registry:${target.ref}`, '-o', 'spdx-json=/tmp/sbom.json']);
    expect(args.join(' ')).not.toContain('s3cret-pass');
    expect(env).toEqual({
      SYFT_REGISTRY_INSECURE_USE_HTTP: 'true',
      SYFT_REGISTRY_AUTH_AUTHORITY: '127.0.0.1:5000',
      SYFT_REGISTRY_AUTH_USERNAME: 'pusher',
      SYFT_REGISTRY_AUTH_PASSWORD: 's3cret-pass',
    });
  });

  test('trivy scans the pushed digest and gets credentials only through its environment', () => {
    const { args, env } = trivyCommand({ ...target, plainHttp: false }, '/tmp/sbom.json');
    expect(args).toEqual(['image', '--format', 'spdx-json', '--output', '/tmp/sbom.json', target.ref]);
    expect(env).toEqual({ TRIVY_USERNAME: 'pusher', TRIVY_PASSWORD: 's3cret-pass' });
  });
});
