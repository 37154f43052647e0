import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { ImageManifest, RegistryClient } from '@digestline/oci';
import { listenOnLoopback } from './util.js';

/** What the demo app image says about itself in /srv/release.json. */
export interface Release {
  version: string;
  /** Share of requests the release answers with 500, 0..1: release 2 ships with 1 (every request fails). */
  errorRate: number;
}

export interface DemoService {
  url: string;
  /** The digest currently served (what the followed tag pointed to at the last poll). */
  digest(): string | undefined;
  release(): Release | undefined;
  stop(): Promise<void>;
}

const RELEASE_FILE = 'srv/release.json';

/** Finds one regular file in a tar archive (ustar, with GNU/PAX extension headers skipped). */
export function fileFromTar(tar: Buffer, wanted: string): Buffer | undefined {
  const text = (start: number, length: number) =>
    tar
      .subarray(start, start + length)
      .toString('utf8')
      .replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const name = text(offset, 100);
    if (name === '') return undefined;
    const prefix = text(offset + 345, 155);
    const size = Number.parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = text(offset + 156, 1);
    const path = (prefix === '' ? name : `${prefix}/${name}`).replace(/^\.?\//, '');
    const body = offset + 512;
    if ((type === '0' || type === '') && path === wanted) return tar.subarray(body, body + size);
    offset = body + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** Reads /srv/release.json out of an image's layers, the last layer that has it winning. */
export async function readRelease(
  client: RegistryClient,
  repository: string,
  digest: string,
): Promise<Release | undefined> {
  let manifest = JSON.parse((await client.getManifest(repository, digest)).bytes.toString('utf8')) as
    | ImageManifest
    | { manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[] };
  if ('manifests' in manifest && Array.isArray(manifest.manifests)) {
    // A multi-platform index: the service "runs" on linux/amd64, as this machine does.
    const entries = manifest.manifests;
    const chosen =
      entries.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ?? entries[0];
    if (chosen === undefined) return undefined;
    manifest = JSON.parse((await client.getManifest(repository, chosen.digest)).bytes.toString('utf8'));
  }
  if (!('layers' in manifest)) return undefined;
  let found: Buffer | undefined;
  for (const layer of manifest.layers) {
    const blob = await client.getBlob(repository, layer.digest);
    // gzip magic: buildah compresses layers unless told not to.
    const tar = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
    found = fileFromTar(tar, RELEASE_FILE) ?? found;
  }
  return found === undefined ? undefined : (JSON.parse(found.toString('utf8')) as Release);
}

/**
 * The local sample service the demo canaries: it "runs" whatever image `tag` points to, by polling the
 * tag and reading the release file out of that image. A deploy or a rollback is therefore nothing but a
 * tag move in the registry, exactly what canary-deploy's registry-tag provider does. /api/health answers
 * 500 at the release's error rate; everything else says which version answered.
 */
export async function startDemoService(options: {
  client: RegistryClient;
  repository: string;
  tag: string;
  pollMs?: number;
}): Promise<DemoService> {
  let current: { digest: string; release: Release | undefined } | undefined;
  let stopped = false;
  const refresh = async () => {
    const head = await options.client.headManifest(options.repository, options.tag);
    if (head === undefined || head.digest === current?.digest) return;
    current = {
      digest: head.digest,
      release: await readRelease(options.client, options.repository, head.digest),
    };
  };
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(refresh).catch(() => undefined);
  }, options.pollMs ?? 200);

  const server: Server = createServer((request, response) => {
    const release = current?.release;
    if (release === undefined) {
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.end(`nothing deployed at ${options.repository}:${options.tag}\n`);
      return;
    }
    const failing = request.url?.startsWith('/api/health') && Math.random() < release.errorRate;
    response.writeHead(failing ? 500 : 200, {
      'content-type': 'application/json',
      'x-version': release.version,
    });
    response.end(`${JSON.stringify({ version: release.version, digest: current?.digest, ok: !failing })}\n`);
  });
  const port = await listenOnLoopback(server);
  await refresh().catch(() => undefined);
  return {
    url: `http://127.0.0.1:${port}`,
    digest: () => current?.digest,
    release: () => current?.release,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await polling;
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
