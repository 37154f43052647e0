import type { KeyObject } from 'node:crypto';
import {
  copyBlob,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  type RegistryClient,
} from '@digestline/oci';
import {
  DEFAULT_ENVIRONMENTS,
  digestProblem,
  environmentTag,
  findPromotionRecords,
  type PromotionMode,
  PromotionRefusedError,
  promote,
} from '@digestline/promotion';
import { keyId, keySigner, verifyImage } from '@digestline/signing';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { progressReporter } from '../progress.js';
import { clientFor, privateKeyFrom, publicKeyFrom, reference } from '../registry.js';

interface Location {
  client: RegistryClient;
  repository: string;
  name: string;
}

function repositoryArg(value: string, what: string): Omit<Location, 'client'> & { registry: string } {
  const ref = reference(value, what);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(
      `${what} must name a repository without tag or digest, e.g. ${ref.registry}/${ref.repository}`,
    );
  }
  return { registry: ref.registry, repository: ref.repository, name: `${ref.registry}/${ref.repository}` };
}

async function blobsOf(from: Location, digest: string): Promise<Descriptor[]> {
  const manifest = await from.client.getManifest(from.repository, digest);
  const parsed = JSON.parse(manifest.bytes.toString('utf8')) as Partial<ImageManifest & ImageIndex>;
  if (isIndexMediaType(manifest.mediaType) || Array.isArray(parsed.manifests)) {
    const children = await Promise.all((parsed.manifests ?? []).map((m) => blobsOf(from, m.digest)));
    return children.flat();
  }
  return parsed.config === undefined ? [] : [parsed.config, ...(parsed.layers ?? [])];
}

/**
 * Streams the image's blobs to another registry with progress, once its signature has verified: the
 * promotion that follows then finds them there and only moves manifests and the tag. Blobs are
 * content-addressed and untagged, so a refusal after this step still leaves every tag as it was.
 */
async function copyBlobsWithProgress(
  from: Location,
  to: Location,
  digest: string,
  keys: KeyObject[],
  io: Io,
) {
  if ((await verifyImage(from.client, from.repository, digest, keys)).verified.length === 0) return;
  const blobs = [...new Map((await blobsOf(from, digest)).map((d) => [d.digest, d])).values()];
  const total = blobs.reduce((sum, b) => sum + b.size, 0);
  const progress = progressReporter(io, `copying ${from.name} → ${to.name}`, total);
  let streamed = 0;
  for (const blob of blobs) {
    const result = await copyBlob(from, to, blob, {
      onProgress: (bytes) => progress.update(blob.digest, bytes),
    });
    progress.update(blob.digest, blob.size);
    if (result === 'copied') streamed++;
  }
  progress.finish(`${blobs.length} blob(s), ${streamed} streamed, ${blobs.length - streamed} already there`);
}

async function runPromotion(
  values: Record<string, unknown>,
  request: { image: string; digest: string; from?: string; to: string; mode: PromotionMode },
  io: Io,
): Promise<number> {
  const problem = digestProblem(request.digest);
  if (problem !== undefined) throw new UsageError(`--digest: ${problem}`);
  const publicKey = await publicKeyFrom(values.pub);
  const privateKey = await privateKeyFrom(values.key);
  const sourceArg = repositoryArg(request.image, 'image');
  const targetArg =
    values['target-image'] === undefined
      ? undefined
      : repositoryArg(values['target-image'] as string, '--target-image');
  const source: Location = { ...sourceArg, client: clientFor(sourceArg.registry) };
  const target: Location | undefined =
    targetArg === undefined
      ? undefined
      : {
          ...targetArg,
          client: targetArg.registry === sourceArg.registry ? source.client : clientFor(targetArg.registry),
        };
  const environments =
    values.environments === undefined
      ? DEFAULT_ENVIRONMENTS
      : String(values.environments)
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean);
  try {
    if (target !== undefined && target.client !== source.client && request.mode === 'promote') {
      await copyBlobsWithProgress(source, target, request.digest, [publicKey], io);
    }
    const result = await promote(
      {
        source,
        ...(target === undefined ? {} : { target }),
        digest: request.digest,
        ...(request.from === undefined ? {} : { sourceEnv: request.from }),
        targetEnv: request.to,
        environments,
        mode: request.mode,
        ...(values['tag-template'] === undefined ? {} : { tagTemplate: values['tag-template'] as string }),
        ...(values['skip-signature'] === true ? {} : { signatureKeys: [publicKey] }),
        recordKeys: [publicKey],
        recordSigner: { signer: keySigner(privateKey), keyId: keyId(privateKey) },
      },
      { info: (m) => io.err(m), warning: (m) => io.err(`warning: ${m}`) },
    );
    for (const check of result.checks) io.out(`✔ ${check.name.padEnd(12)} ${check.detail}`);
    const verb = {
      promoted: 'promoted',
      'rolled-back': 'rolled back',
      unchanged: 'already there, nothing changed',
    }[result.outcome];
    io.out(
      `${result.promotedTag} → ${result.imageRef} (${verb}; previously ${result.previousDigest ?? 'nothing'})`,
    );
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof PromotionRefusedError) {
      io.err(`✘ refused, nothing changed: ${error.message}`);
      return ExitCode.failed;
    }
    throw error;
  } finally {
    await Promise.all([
      source.client.close(),
      target === undefined || target.client === source.client ? undefined : target.client.close(),
    ]);
  }
}

export async function promoteRun({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('give exactly one repository, e.g. ghcr.io/org/app');
  if (typeof values.digest !== 'string') throw new UsageError('--digest <sha256:…> is required');
  if (typeof values.to !== 'string') throw new UsageError('--to <env> is required');
  return runPromotion(
    values,
    {
      image: positionals[0] as string,
      digest: values.digest,
      ...(typeof values.from === 'string' ? { from: values.from } : {}),
      to: values.to,
      mode: 'promote',
    },
    io,
  );
}

export async function rollbackRun({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('give exactly one environment, e.g. production');
  const env = positionals[0] as string;
  if (typeof values.image !== 'string') throw new UsageError('--image <registry/repository> is required');
  let to = values.to as string | undefined;
  if (to === undefined) {
    const image = repositoryArg(values.image, '--image');
    const publicKey = await publicKeyFrom(values.pub);
    const client = clientFor(image.registry);
    try {
      const tag = environmentTag((values['tag-template'] as string | undefined) ?? '{env}', env);
      const current = (await client.headManifest(image.repository, tag))?.digest;
      if (current === undefined) {
        io.err(`✘ ${image.name}:${tag} does not exist: nothing to roll back`);
        return ExitCode.failed;
      }
      const found = await findPromotionRecords(client, image.repository, current, env, [publicKey]);
      to = found.records[0]?.previousDigest ?? undefined;
      if (to === undefined) {
        io.err(
          `✘ ${image.name}:${tag} (${current}) has no signed record of what ${env} ran before: give --to <digest>`,
        );
        return ExitCode.failed;
      }
      io.out(`${env} runs ${current}; its promotion record says it ran ${to} before`);
    } catch (error) {
      if (error instanceof PromotionRefusedError) throw new UsageError(error.message);
      throw error;
    } finally {
      await client.close();
    }
  }
  return runPromotion(values, { image: values.image, digest: to, to: env, mode: 'rollback' }, io);
}
