// Promotion cost by image size: the re-tag in-process, promote() with every check and the record, the
// whole action run, and skopeo for the same moves (same repository, cross-repository), plus the manual
// pull + tag + push through a local directory that teams use today. Requests are counted by a proxy.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, runAction, startRegistry } from '@digestline/local';
import { copyImage, RegistryClient } from '@digestline/oci';
import { promote } from '@digestline/promotion';
import { keyId, keySigner, signImage } from '@digestline/signing';
import { makeKeys } from '../../packages/promotion/test/helpers.js';
import { startFaultProxy } from '../harness/fault-proxy.js';
import { pushRandomImage } from '../harness/images.js';
import { type BenchTable, round } from './lib.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
const SIZES = [10 * MB, 100 * MB, 1024 * MB];
const LAYERS = 4;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

export default async function promoteBench(): Promise<BenchTable> {
  const [registry, keys] = await Promise.all([startRegistry(), makeKeys('bench')]);
  const proxy = await startFaultProxy({ url: registry.url });
  const client = new RegistryClient(proxy.host);
  const temp = await makeTempDir('promote-bench');
  const rows: (string | number)[][] = [];
  const request = {
    recordKeys: [keys.publicKey],
    signatureKeys: [keys.publicKey],
    recordSigner: { signer: keySigner(keys.privateKey), keyId: keyId(keys.publicKey) },
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
      const label = size >= 1024 * MB ? `${size / 1024 / MB} GB` : `${size / MB} MB`;
      const repository = `bench/s${size / MB}`;
      const pushed = await timed(() =>
        pushRandomImage(registry, { repository, tag: 'build', layers: LAYERS, totalBytes: size }),
      );
      const digest = pushed.value.digest;
      await signImage(client, repository, digest, keys.privateKey);
      await promote({ ...request, source: { client, repository }, digest, targetEnv: 'dev' });
      const at = `${proxy.host}/${repository}`;
      const row = (
        method: string,
        r: { ms: number; requests: number | string; uploads?: number },
        bytes: number | string,
      ) => rows.push([label, method, round(r.ms), r.requests, bytes]);

      const retag = await counted(async () => {
        const { bytes, mediaType } = await client.getManifest(repository, digest);
        await client.putManifest(repository, 'retag', bytes, mediaType);
        return client.headManifest(repository, 'retag');
      });
      row('re-tag in-process (GET bytes, PUT tag, read back)', retag, 0);
      const full = await counted(() =>
        promote({
          ...request,
          source: { client, repository },
          digest,
          sourceEnv: 'dev',
          targetEnv: 'staging',
        }),
      );
      row('promote() in-process: checks + re-tag + record', full, 0);
      const action = await counted(() =>
        runAction('promote', {
          inputs: {
            image: at,
            digest,
            'source-env': 'staging',
            'target-env': 'canary',
            'public-key': keys.publicPem,
            'cosign-private-key': keys.encryptedPem,
            'cosign-password': keys.password,
            'record-deployment': 'false',
          },
        }),
      );
      if (action.value.exitCode !== 0) throw new Error(`the action failed: ${action.value.log}`);
      row('whole action run (Node 24 bundle, scrypt key open)', action, 0);
      const sameRepo = await counted(() => skopeo(`docker://${at}@${digest}`, `docker://${at}:skopeo`));
      row('skopeo copy --preserve-digests, same repo', sameRepo, sameRepo.uploads === 0 ? 0 : 'uploads');

      const cross = await counted(() =>
        copyImage(
          { client, repository, reference: digest },
          { client, repository: `${repository}-prod`, tag: 'production' },
        ),
      );
      row('copyImage cross-repo (blob mount)', cross, cross.value.blobs.bytes);
      const skopeoCross = await counted(() =>
        skopeo(`docker://${at}@${digest}`, `docker://${at}-skopeo:production`),
      );
      row(
        'skopeo copy --preserve-digests, cross-repo',
        skopeoCross,
        skopeoCross.uploads === 0 ? 0 : `${skopeoCross.uploads} upload requests`,
      );

      const dir = join(temp.path, `dir-${size}`);
      const manual = await counted(async () => {
        await skopeo(`docker://${at}@${digest}`, `dir:${dir}`);
        await skopeo(`dir:${dir}`, `docker://${at}:manual`);
      });
      row('manual: skopeo pull to dir + push as tag', manual, `${LAYERS}×${size / LAYERS / MB} MB pulled`);
      await run('rm', ['-rf', dir]);
      rows.push([label, `(setup: pushRandomImage ${LAYERS} layers)`, round(pushed.ms), '-', size]);
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
    columns: ['image', 'method', 'wall ms', 'registry requests', 'layer bytes moved'],
    rows,
    notes: [
      'registry requests: every HTTP request the proxy saw, auth and blob checks included.',
      'promote() and the action also verify the cosign signature and the stage proof and write a signed record (referrer via fallback tag index).',
      'the whole action run includes Node 24 start-up and opening the encrypted cosign key (scrypt N=65536, about 0.5 s).',
    ],
  };
}
