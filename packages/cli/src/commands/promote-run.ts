import type { KeyObject } from 'node:crypto';
import { terminalLogger } from '@digestline/base';
import {
  type CopyProgress,
  digestProblem,
  environmentTag,
  findPromotionRecords,
  type PromotionMode,
  PromotionRefusedError,
  promote,
  promotionRequest,
} from '@digestline/promotion';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { progressReporter } from '../progress.js';
import { clientFor, privateKeyFrom, publicKeyFrom, reference, resolveTag } from '../registry.js';

function repositoryArg(value: string, what: string): { registry: string; repository: string; name: string } {
  const ref = reference(value, what);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new UsageError(
      `${what} must name a repository without tag or digest, e.g. ${ref.registry}/${ref.repository}`,
    );
  }
  return { registry: ref.registry, repository: ref.repository, name: `${ref.registry}/${ref.repository}` };
}

/** Draws the copy into another repository: the image's bytes as they stream, then how its blobs got there. */
function copyProgress(io: Io): (progress: CopyProgress) => void {
  let reporter: ReturnType<typeof progressReporter> | undefined;
  let blobs = 0;
  return (progress) => {
    if (progress.step === 'start') {
      reporter = progressReporter(io, `copying ${progress.from} → ${progress.to}`, progress.bytes);
      blobs = progress.blobs;
    } else if (progress.step === 'blob') {
      reporter?.update(progress.digest, progress.bytes);
    } else {
      const streamed = progress.blobs.copied;
      reporter?.finish(`${blobs} blob(s), ${streamed} streamed, ${blobs - streamed} already there`);
    }
  };
}

/** The record key pair (`--record-key` and `--record-pub`, both or neither), or undefined. */
async function recordKeysFrom(
  values: Record<string, unknown>,
): Promise<{ publicKey: KeyObject; privateKey: KeyObject } | undefined> {
  const [key, pub] = [values['record-key'], values['record-pub']];
  if (key === undefined && pub === undefined) return undefined;
  if (key === undefined || pub === undefined)
    throw new UsageError(
      '--record-key and --record-pub go together: the record key signs, its public half verifies',
    );
  return {
    privateKey: await privateKeyFrom(key, '--record-key', 'RECORD_PASSWORD'),
    publicKey: await publicKeyFrom(pub, '--record-pub'),
  };
}

/**
 * One promotion as the action runs it: the request from the same factory, every check before the first
 * write, and the copy into another repository drawn through `onProgress` once the checks passed.
 */
async function runPromotion(
  values: Record<string, unknown>,
  request: { image: string; digest: string; from?: string; to: string; mode: PromotionMode },
  io: Io,
): Promise<number> {
  const problem = digestProblem(request.digest);
  if (problem !== undefined) throw new UsageError(`--digest: ${problem}`);
  const publicKey = await publicKeyFrom(values.pub);
  const records = await recordKeysFrom(values);
  const privateKey =
    records === undefined || values.key !== undefined ? await privateKeyFrom(values.key) : undefined;
  const promotion = promotionRequest({
    image: request.image,
    targetImage: values['target-image'] as string | undefined,
    connect: clientFor,
    digest: request.digest,
    sourceEnv: request.from,
    targetEnv: request.to,
    environments: values.environments as string | undefined,
    mode: request.mode,
    tagTemplate: values['tag-template'] as string | undefined,
    publicKey,
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(records === undefined ? {} : { records }),
    verifySignature: values['skip-signature'] !== true,
    signatureReferences: ((values['signature-references'] as string | undefined) ?? '')
      .split(/[\s,]+/)
      .filter((name) => name !== ''),
    onProgress: copyProgress(io),
  });
  try {
    // stdout is the result; what promote() says on the way goes to stderr with the progress.
    const result = await promote(
      promotion.request,
      terminalLogger({ out: (line) => io.err(line), err: (line) => io.err(line) }),
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
    await promotion.close();
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
      const current = await resolveTag(client, image.repository, tag);
      if (current === undefined) {
        io.err(`✘ ${image.name}:${tag} does not exist: nothing to roll back`);
        return ExitCode.failed;
      }
      const recordKey =
        values['record-pub'] === undefined
          ? publicKey
          : await publicKeyFrom(values['record-pub'], '--record-pub');
      const found = await findPromotionRecords(client, image.repository, current, env, [recordKey]);
      to = found.records[0]?.previousDigest ?? undefined;
      if (to === undefined) {
        io.err(
          `✘ ${image.name}:${tag} (${current}) has no signed record of what ${env} ran before: give --to <digest>`,
        );
        return ExitCode.failed;
      }
      io.out(`${env} runs ${current}; its promotion record says it ran ${to} before`);
    } finally {
      await client.close();
    }
  }
  return runPromotion(values, { image: values.image, digest: to, to: env, mode: 'rollback' }, io);
}
