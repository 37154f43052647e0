import { execFile } from 'node:child_process';
import { createCipheriv, createHash, type Hash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from '@digestline/local';

const run = promisify(execFile);

/** Where to push: a registry as `startRegistry()` describes it. */
export interface RegistryTarget {
  /** `127.0.0.1:PORT` */
  host: string;
  /** false (the default): plain HTTP. */
  tls?: boolean;
  username?: string;
  password?: string;
  /** With tls: a directory holding the registry's CA as `ca.crt`. */
  certDir?: string;
}

export interface BuiltImage {
  /** `host/repository:tag` */
  ref: string;
  repository: string;
  tag: string;
  /** `sha256:…` of the manifest as pushed. */
  digest: string;
}

export interface BuildOptions {
  repository: string;
  tag: string;
  /** Image path (e.g. `app/config.json`) → content, copied in one layer. */
  files?: Record<string, string | Buffer>;
  /** Shell commands run in the image (busybox `sh`); the host's static busybox becomes /bin/busybox. */
  run?: string[];
  /** `os/arch[/variant]`, e.g. `linux/arm64`; defaults to the host's. */
  platform?: string;
  labels?: Record<string, string>;
}

export interface RandomImageOptions {
  repository: string;
  tag: string;
  /** Number of layers, each an uncompressed tar holding one file of random bytes. */
  layers: number;
  /** Random payload bytes over all layers; each layer blob adds its tar framing (1.5 KiB plus padding). */
  totalBytes: number;
  /** The same seed gives the same bytes and so the same digest; without one every call differs. */
  seed?: number;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const BUSYBOX = '/bin/busybox';
/** Random bytes are made, hashed and written in pieces of this size, so a layer never sits in memory. */
const CHUNK = 1024 * 1024;

/** Builds a `FROM scratch` image with buildah (vfs storage, chroot isolation) and pushes it. */
export async function buildImage(target: RegistryTarget, options: BuildOptions): Promise<BuiltImage> {
  const ref = imageRef(target, options.repository, options.tag);
  const platform = options.platform === undefined ? undefined : parsePlatform(options.platform);
  const commands = options.run ?? [];
  if (commands.length > 0 && platform !== undefined && platform.arch !== hostArch()) {
    throw new Error(
      `buildImage cannot RUN commands for ${options.platform} on this linux/${hostArch()} host: that needs ` +
        'qemu emulation, which these machines lack; build the foreign image from files only',
    );
  }
  const files = Object.entries(options.files ?? {});
  if (files.length === 0 && commands.length === 0) {
    throw new Error('buildImage needs files or run commands: an image with no layers cannot be pushed');
  }

  const temp = await makeTempDir('image');
  try {
    const context = join(temp.path, 'context');
    const lines = ['FROM scratch'];
    // busybox goes in first, so a file given at the same path (say bin/sh) wins.
    if (commands.length > 0) {
      await writeBusyboxTree(join(context, 'busybox'));
      lines.push('COPY busybox/ /');
    }
    if (files.length > 0) {
      for (const [path, content] of files) {
        const destination = join(context, 'rootfs', imagePath(path));
        await mkdir(dirname(destination), { recursive: true });
        await writeFile(destination, content);
      }
      lines.push('COPY rootfs/ /');
    }
    // The exec form with sh -c keeps any command text (quotes, newlines) out of Containerfile parsing.
    for (const command of commands) lines.push(`RUN ${JSON.stringify(['/bin/sh', '-c', command])}`);
    await writeFile(join(context, 'Containerfile'), `${lines.join('\n')}\n`);

    const tools = await toolEnvironment(temp.path, target);
    const buildah = (args: string[]) =>
      tool('buildah', [...tools.buildahStorage, ...args], { cwd: context, env: tools.env });
    const labels = Object.entries(options.labels ?? {}).flatMap(([key, value]) => [
      '--label',
      `${key}=${value}`,
    ]);
    await buildah([
      'bud',
      '--isolation',
      'chroot',
      '--format',
      'oci',
      ...(options.platform === undefined ? [] : ['--platform', options.platform]),
      ...labels,
      '-f',
      'Containerfile',
      '-t',
      ref,
      '.',
    ]).catch((error: unknown) => {
      throw new Error(`buildah could not build ${ref}: ${toolOutput(error, { stdout: true })}`, {
        cause: error,
      });
    });

    const digestFile = join(temp.path, 'digest');
    const transport = target.tls
      ? target.certDir === undefined
        ? []
        : ['--cert-dir', target.certDir]
      : ['--tls-verify=false'];
    await buildah([
      'push',
      '--authfile',
      tools.authFile,
      ...transport,
      '--digestfile',
      digestFile,
      ref,
      `docker://${ref}`,
    ]).catch((error: unknown) => {
      throw pushError(target, ref, error);
    });
    return { ref, repository: options.repository, tag: options.tag, digest: await readDigest(digestFile) };
  } finally {
    await temp.remove();
  }
}

/**
 * The host's static busybox with a symlink per applet where `busybox --install` would put it. Built
 * here and copied in (`COPY <root>/ /`), because a RUN step for the install costs more than half a
 * second per image.
 */
export async function writeBusyboxTree(root: string): Promise<void> {
  let applets: string;
  try {
    await mkdir(join(root, 'bin'), { recursive: true });
    await copyFile(BUSYBOX, join(root, BUSYBOX));
    applets = (await run(BUSYBOX, ['--list-full'])).stdout;
  } catch (error) {
    throw new Error(`run commands need a static busybox at ${BUSYBOX} (Debian: busybox-static)`, {
      cause: error,
    });
  }
  for (const applet of applets.split('\n')) {
    const path = applet.trim();
    // linuxrc, the one applet outside a bin directory, is an init for initrds.
    if (!path.includes('/') || `/${path}` === BUSYBOX) continue;
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(BUSYBOX, join(root, path));
  }
}

/**
 * Pushes an image of incompressible random layers, for benchmarks. The OCI layout is written here
 * (no builder, no compression) and skopeo copies it verbatim, so the pushed manifest is ours byte for byte.
 */
export async function pushRandomImage(
  target: RegistryTarget,
  options: RandomImageOptions,
): Promise<BuiltImage> {
  const ref = imageRef(target, options.repository, options.tag);
  if (!Number.isSafeInteger(options.layers) || options.layers < 1) {
    throw new Error(`layers must be a whole number of at least 1, got ${options.layers}`);
  }
  if (!Number.isSafeInteger(options.totalBytes) || options.totalBytes < 0) {
    throw new Error(`totalBytes must be a whole number of bytes, got ${options.totalBytes}`);
  }

  const temp = await makeTempDir('random-image');
  try {
    const layout = join(temp.path, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const random = randomStream(options.seed);

    const layers: Descriptor[] = [];
    const diffIds: string[] = [];
    const base = Math.floor(options.totalBytes / options.layers);
    const remainder = options.totalBytes % options.layers;
    for (let index = 0; index < options.layers; index++) {
      const size = base + (index < remainder ? 1 : 0);
      const layer = await writeLayer(blobs, `layer-${index + 1}.bin`, size, random);
      layers.push({ mediaType: OCI_LAYER_TAR, digest: layer.digest, size: layer.size });
      // An uncompressed layer is its own diff: the diff_id is the blob digest.
      diffIds.push(layer.digest);
    }

    const config = await writeBlob(
      blobs,
      JSON.stringify({
        architecture: hostArch(),
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: layers.map(() => ({ created_by: 'digestline pushRandomImage' })),
      }),
    );
    const manifest = await writeBlob(
      blobs,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
        layers,
      }),
    );
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: OCI_MANIFEST,
            digest: manifest.digest,
            size: manifest.size,
            annotations: { 'org.opencontainers.image.ref.name': options.tag },
          },
        ],
      }),
    );

    const tools = await toolEnvironment(temp.path, target);
    const digestFile = join(temp.path, 'digest');
    const transport = target.tls
      ? target.certDir === undefined
        ? []
        : ['--dest-cert-dir', target.certDir]
      : ['--dest-tls-verify=false'];
    await tool(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        // Without this skopeo gzips uncompressed layers on the way, which would change every digest.
        '--preserve-digests',
        '--dest-authfile',
        tools.authFile,
        ...transport,
        '--digestfile',
        digestFile,
        `oci:${layout}:${options.tag}`,
        `docker://${ref}`,
      ],
      { env: tools.env },
    ).catch((error: unknown) => {
      throw pushError(target, ref, error);
    });
    const digest = await readDigest(digestFile);
    if (digest !== manifest.digest) {
      throw new Error(`skopeo pushed ${ref} as ${digest}, not as the manifest written (${manifest.digest})`);
    }
    return { ref, repository: options.repository, tag: options.tag, digest };
  } finally {
    await temp.remove();
  }
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

function imageRef(target: RegistryTarget, repository: string, tag: string): string {
  if (
    !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)
  ) {
    throw new Error(
      `repository ${JSON.stringify(repository)} is not valid: use lower-case path components like team/app`,
    );
  }
  if (!/^\w[\w.-]{0,127}$/.test(tag)) {
    throw new Error(`tag ${JSON.stringify(tag)} is not valid: use up to 128 letters, digits, _, . and -`);
  }
  if ((target.username === undefined) !== (target.password === undefined)) {
    throw new Error('a registry target needs both username and password, or neither');
  }
  return `${target.host}/${repository}:${tag}`;
}

function parsePlatform(platform: string): { os: string; arch: string } {
  const [os, arch, ...rest] = platform.split('/');
  if (os !== 'linux' || arch === undefined || arch === '' || rest.length > 1) {
    throw new Error(`platform ${JSON.stringify(platform)} is not valid: expected linux/<arch>[/<variant>]`);
  }
  return { os, arch };
}

/** The OCI name of the architecture this process runs on. */
function hostArch(): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le' };
  return names[process.arch] ?? process.arch;
}

/** `/etc/app.conf` and `etc/app.conf` both mean the same file; nothing may point outside the image. */
function imagePath(path: string): string {
  const normalized = posix.normalize(path.replace(/^\/+/, ''));
  if (normalized === '.' || normalized === '' || normalized.startsWith('../') || normalized === '..') {
    throw new Error(`file path ${JSON.stringify(path)} does not name a file inside the image`);
  }
  return normalized;
}

/**
 * buildah and skopeo otherwise read the machine's and the user's auth.json and write large temporary
 * files to /var/tmp; everything here stays in the call's own directory.
 */
async function toolEnvironment(dir: string, target: RegistryTarget) {
  const authFile = join(dir, 'auth.json');
  const auths: Record<string, { auth: string }> = {};
  if (target.username !== undefined && target.password !== undefined) {
    auths[target.host] = { auth: Buffer.from(`${target.username}:${target.password}`).toString('base64') };
  }
  // A file rather than --creds keeps the password off the process list.
  await writeFile(authFile, JSON.stringify({ auths }), { mode: 0o600 });
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  return {
    authFile,
    env: { ...process.env, REGISTRY_AUTH_FILE: authFile, TMPDIR: tmp },
    buildahStorage: [
      '--storage-driver',
      'vfs',
      '--root',
      join(dir, 'storage', 'root'),
      '--runroot',
      join(dir, 'storage', 'runroot'),
    ],
  };
}

function tool(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }) {
  return run(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 });
}

/** The tool's stderr (and with `stdout`, what the build steps printed), trimmed to the last 4000 characters. */
function toolOutput(error: unknown, { stdout = false } = {}): string {
  const { stderr, stdout: out } = error as { stderr?: unknown; stdout?: unknown };
  const tail = (text: string) => (text.length > 4_000 ? `…${text.slice(-4_000)}` : text);
  const problem = typeof stderr === 'string' && stderr.trim() !== '' ? stderr.trim() : String(error);
  if (!stdout || typeof out !== 'string' || out.trim() === '') return tail(problem);
  return `${tail(problem)}\n--- build output ---\n${tail(out.trim())}`;
}

function pushError(target: RegistryTarget, ref: string, error: unknown): Error {
  const output = toolOutput(error);
  let reason = 'the push failed';
  if (/unauthorized|authentication required|401/i.test(output)) {
    reason =
      target.username === undefined
        ? `the registry at ${target.host} requires authentication: give username and password`
        : `the registry at ${target.host} refused the credentials of ${target.username}`;
  } else if (/x509|certificate/i.test(output)) {
    reason = `the registry's certificate was not trusted: give certDir, a directory holding its CA as ca.crt`;
  } else if (/server gave HTTP response to HTTPS client/i.test(output)) {
    reason = `the registry at ${target.host} speaks plain HTTP: set tls to false`;
  }
  return new Error(`could not push ${ref}: ${reason}\n${output}`, { cause: error });
}

async function readDigest(path: string): Promise<string> {
  const digest = (await readFile(path, 'utf8')).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new Error(`the digest file held ${JSON.stringify(digest)}`);
  return digest;
}

/** AES-CTR keystream: incompressible, deterministic for a seed, and far faster than a JS PRNG. */
function randomStream(seed: number | undefined): (size: number) => Buffer {
  const key =
    seed === undefined
      ? randomBytes(32)
      : createHash('sha256').update(`digestline-random-image:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  return (size) => cipher.update(size <= CHUNK ? zeros.subarray(0, size) : Buffer.alloc(size));
}

async function writeBlob(blobs: string, content: string): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.from(content);
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** A tar with one regular file, streamed to disk and hashed on the way. */
async function writeLayer(
  blobs: string,
  name: string,
  size: number,
  random: (size: number) => Buffer,
): Promise<{ digest: string; size: number }> {
  const partial = join(blobs, `${name}.partial`);
  const file = await open(partial, 'w');
  const hash: Hash = createHash('sha256');
  let written = 0;
  const write = async (bytes: Buffer) => {
    hash.update(bytes);
    await file.write(bytes);
    written += bytes.length;
  };
  try {
    await write(tarHeader(name, size));
    for (let left = size; left > 0; left -= CHUNK) await write(random(Math.min(CHUNK, left)));
    // File data is padded to a 512-byte block; two zero blocks end the archive.
    await write(Buffer.alloc(((512 - (size % 512)) % 512) + 1024));
  } finally {
    await file.close();
  }
  const hex = hash.digest('hex');
  await rename(partial, join(blobs, hex));
  return { digest: `sha256:${hex}`, size: written };
}

/** A POSIX ustar header for a regular file owned by root, mode 0644, mtime 0 (so layers are reproducible). */
function tarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar member name too long: ${name}`);
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'utf8');
  const octal = (offset: number, length: number, value: number) =>
    field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  // 11 octal digits reach 8 GiB, plenty for a benchmark layer.
  if (size >= 8 ** 11) throw new Error(`a layer of ${size} bytes is too large for a ustar header`);
  octal(124, 12, size);
  octal(136, 12, 0);
  field(148, 8, ' '.repeat(8));
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}
