// Promotion cost by image size: the re-tag in-process, promote() with every check and the record, the
// whole promote action as its own process (Node 24 bundle, unencrypted keys), and skopeo for the same
// move (its reference: a copy by digest into a tag of the same repository), the action and skopeo timed in
// the same loop; then cross-repository copies and the manual pull + tag + push through a local directory
// that teams use today. Requests are counted by a proxy.
import { execFile } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, runAction, startRegistry } from '@digestline/local';
import { copyImage, type ImageManifest, RegistryClient, sha256Digest } from '@digestline/oci';
import { promote } from '@digestline/promotion';
import { generateKeyPair, keyId, keySigner, publicKeyPem, signImage } from '@digestline/signing';
import { startFaultProxy } from '../harness/fault-proxy.js';
import { pushRandomImage } from '../harness/images.js';
import { type BenchTable, percentile, round } from './lib.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
const SIZES = [10 * MB, 500 * MB];
const LAYERS = 4;
/** Whole action runs (and skopeo runs) per size, alternating. */
const RUNS = 7;
/** The goal of issue 16 for the whole action run. */
const GOAL_MS = 300;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

/**
 * Another image of the same size: the same layers under a config with one more label, so a digest of its
 * own. Each timed promotion moves a fresh digest with the records a pipeline gives it (dev, staging).
 */
async function variant(
  client: RegistryClient,
  repository: string,
  digest: string,
  run: number,
): Promise<string> {
  const { bytes, mediaType } = await client.getManifest(repository, digest);
  const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest;
  const config = JSON.parse((await client.getBlob(repository, manifest.config.digest)).toString('utf8'));
  config.config = { ...config.config, Labels: { ...config.config?.Labels, 'bench.run': String(run) } };
  const pushed = await client.pushBlob(repository, JSON.stringify(config));
  const next = Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, ...pushed } }));
  return (await client.putManifest(repository, sha256Digest(next), next, mediaType)).digest;
}

const pem = (key: ReturnType<typeof generateKeyPair>['privateKey']) =>
  key.export({ format: 'pem', type: 'pkcs8' }).toString();

export default async function promoteBench(): Promise<BenchTable> {
  const loadBefore = loadavg()[0] ?? Number.NaN;
  const registry = await startRegistry();
  const proxy = await startFaultProxy({ url: registry.url });
  const client = new RegistryClient(proxy.host);
  const temp = await makeTempDir('promote-bench');
  // The image key signs images; promotion records are signed by a key of their own, as docs/ recommend.
  const imageKey = generateKeyPair();
  const recordKey = generateKeyPair();
  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const request = {
    recordKeys: [recordKey.publicKey],
    signatureKeys: [imageKey.publicKey],
    recordSigner: { signer: keySigner(recordKey.privateKey), keyId: keyId(recordKey.publicKey) },
  };
  const counted = async <T>(work: () => Promise<T>) => {
    const seen = proxy.requests().length;
    const result = await timed(work);
    const requests = proxy.requests().slice(seen);
    const uploads = requests.filter(
      (r) => r.method === 'PATCH' || (r.method === 'PUT' && r.path.includes('/blobs/uploads/')),
    ).length;
    return { ...result, requests: requests.length, uploads };
  };
  const skopeo = (from: string, to: string) =>
    run(
      'skopeo',
      [
        '--insecure-policy',
        'copy',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        from,
        to,
      ],
      { maxBuffer: 16 * MB },
    );

  try {
    for (const size of SIZES) {
      const label = `${size / MB} MB`;
      const repository = `bench/s${size / MB}`;
      const pushed = await timed(() =>
        pushRandomImage(registry, { repository, tag: 'build', layers: LAYERS, totalBytes: size }),
      );
      const digest = pushed.value.digest;
      await signImage(client, repository, digest, imageKey.privateKey);
      await promote({ ...request, source: { client, repository }, digest, targetEnv: 'dev' });
      const at = `${proxy.host}/${repository}`;
      const single = (method: string, r: { ms: number; requests: number | string }, bytes: number | string) =>
        rows.push([label, method, round(r.ms), round(r.ms), 1, r.requests, bytes]);

      const retag = await counted(async () => {
        const { bytes, mediaType } = await client.getManifest(repository, digest);
        await client.putManifest(repository, 'retag', bytes, mediaType);
        return client.headManifest(repository, 'retag');
      });
      single('re-tag in-process (GET bytes, PUT tag, read back)', retag, 0);
      const full = await counted(() =>
        promote({
          ...request,
          source: { client, repository },
          digest,
          sourceEnv: 'dev',
          targetEnv: 'staging',
        }),
      );
      single('promote() in-process: checks + re-tag + record', full, 0);

      // Each run promotes a digest of its own from staging to canary, as a pipeline does: every check, the
      // re-tag and a signed record, never "already done".
      const action: number[] = [];
      const reference: number[] = [];
      let actionRequests = 0;
      let referenceRequests = 0;
      for (let i = 0; i < RUNS; i++) {
        // Untimed: the build of this run's digest, signed, and its way through dev into staging.
        const next = await variant(client, repository, digest, i);
        await signImage(client, repository, next, imageKey.privateKey);
        const step = { ...request, source: { client, repository }, digest: next };
        await promote({ ...step, targetEnv: 'dev' });
        await promote({ ...step, sourceEnv: 'dev', targetEnv: 'staging' });
        const one = await counted(() =>
          runAction('promote', {
            inputs: {
              image: at,
              digest: next,
              'source-env': 'staging',
              'target-env': 'canary',
              'public-key': publicKeyPem(imageKey.publicKey),
              'record-private-key': pem(recordKey.privateKey),
              'record-public-key': publicKeyPem(recordKey.publicKey),
              'record-deployment': 'false',
            },
          }),
        );
        if (one.value.exitCode !== 0) throw new Error(`the action failed: ${one.value.log}`);
        action.push(one.ms);
        actionRequests = one.requests;
        const copy = await counted(() => skopeo(`docker://${at}@${digest}`, `docker://${at}:skopeo${i}`));
        if (copy.uploads !== 0) throw new Error('skopeo uploaded blobs into the same repository');
        reference.push(copy.ms);
        referenceRequests = copy.requests;
      }
      action.sort((a, b) => a - b);
      reference.sort((a, b) => a - b);
      const p50 = percentile(action, 50);
      const referenceP50 = percentile(reference, 50);
      rows.push([
        label,
        'whole promote action (own process, Node 24 bundle, unencrypted keys)',
        round(p50),
        round(action[0] ?? Number.NaN),
        RUNS,
        actionRequests,
        0,
      ]);
      rows.push([
        label,
        'reference: skopeo copy --preserve-digests, same repo',
        round(referenceP50),
        round(reference[0] ?? Number.NaN),
        RUNS,
        referenceRequests,
        0,
      ]);
      notes.push(
        `${label}: whole action p50 ${round(p50)} ms (goal < ${GOAL_MS} ms) = ${round(p50 / referenceP50, 2)}× skopeo's same-repository copy.`,
      );

      const cross = await counted(() =>
        copyImage(
          { client, repository, reference: digest },
          { client, repository: `${repository}-prod`, tag: 'production' },
        ),
      );
      single('copyImage cross-repo (blob mount)', cross, cross.value.blobs.bytes);
      const skopeoCross = await counted(() =>
        skopeo(`docker://${at}@${digest}`, `docker://${at}-skopeo:production`),
      );
      single(
        'skopeo copy --preserve-digests, cross-repo',
        skopeoCross,
        skopeoCross.uploads === 0 ? 0 : `${skopeoCross.uploads} upload requests`,
      );

      const dir = join(temp.path, `dir-${size}`);
      const manual = await counted(async () => {
        await skopeo(`docker://${at}@${digest}`, `dir:${dir}`);
        await skopeo(`dir:${dir}`, `docker://${at}:manual`);
      });
      single('manual: skopeo pull to dir + push as tag', manual, `${LAYERS}×${size / LAYERS / MB} MB pulled`);
      await run('rm', ['-rf', dir]);
      rows.push([label, `(setup: pushRandomImage ${LAYERS} layers)`, round(pushed.ms), '-', 1, '-', size]);
    }
  } finally {
    await client.close();
    await proxy.close();
    await registry.stop();
    await temp.remove();
  }
  return {
    name: 'promote',
    title:
      'Promotion by re-tag vs copy, by image size (local distribution 2.8 registry, through a counting proxy)',
    columns: ['image', 'method', 'wall ms (p50)', 'min ms', 'runs', 'registry requests', 'layer bytes moved'],
    rows,
    notes: [
      ...notes,
      'registry requests: every HTTP request the proxy saw in one run, auth and blob checks included.',
      'promote() and the action verify the cosign signature and the stage proof, move the tag and write a signed record (a referrer under a tag of its own, added to the fallback tag index: distribution 2.8 has no referrers API).',
      'the action and skopeo run alternately in one loop, so both see the same load on the machine.',
      `load average (1 min) ${round(loadBefore, 2)} before, ${round(loadavg()[0] ?? Number.NaN, 2)} after, on ${cpus().length} CPUs.`,
    ],
  };
}
