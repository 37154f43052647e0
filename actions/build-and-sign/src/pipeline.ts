import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { annotate, ConfigurationError, log } from '@digestline/action-kit';
import { type Platform, RegistryClient, RegistryError } from '@digestline/oci';
import {
  attach,
  imageSubject,
  provenanceStatement,
  type Statement,
  StatementError,
  sbomStatement,
} from '@digestline/signing';
import { type Builder, build, resolveBuilder } from './builder.js';
import { INPUT } from './constants.js';
import type { RunInputs } from './inputs.js';
import {
  assertDistinctPlatforms,
  fetchPlatformManifest,
  imageIndex,
  MergeError,
  type PushedManifest,
  pushLayout,
} from './layout.js';
import { generateSbom, givenSbom, type SbomResult } from './sbom.js';
import { createSigner, type ImageSigner } from './signer.js';
import { allTags } from './tags.js';

export interface Attested {
  /** The referrer manifest holding the signed bundle. */
  referrer: string;
  predicateType: string;
}

export interface Outcome {
  image: string;
  builder?: Builder;
  platforms: string[];
  /** Empty with `push: false`. */
  digest?: string;
  mediaType?: string;
  /** Full references, as applied in the registry. */
  tags: string[];
  signer?: string;
  signatureRef?: string;
  sbomPath?: string;
  sbomTool?: string;
  sbom?: Attested;
  provenance?: Attested;
  /** Why a part was left out, for the summary and notices. */
  skipped: { sbom?: string; provenance?: string; signature?: string };
}

/**
 * What has changed in the registry so far, so a failure can say exactly that: the promise is
 * that nothing is signed or tagged beyond what succeeded, and the error tells which.
 */
class Progress {
  readonly pushed: string[] = [];
  signature?: string;
  readonly attestations: string[] = [];
  readonly tags: string[] = [];

  report(): string {
    if (this.pushed.length === 0) return 'Nothing was pushed, signed or tagged.';
    const parts = [`Pushed ${this.pushed.join(', ')} (by digest)`];
    parts.push(this.signature === undefined ? 'not signed' : `signed (${this.signature})`);
    if (this.attestations.length > 0) parts.push(`attested (${this.attestations.join(', ')})`);
    parts.push(this.tags.length === 0 ? 'not tagged' : `tagged only ${this.tags.join(', ')}`);
    return `${parts.join('; ')}.`;
  }
}

export async function buildAndSign(inputs: RunInputs): Promise<Outcome> {
  const progress = new Progress();
  const work = join(inputs.runnerTemp, `build-and-sign-${randomBytes(6).toString('hex')}`);
  const client = new RegistryClient(inputs.image.registry, { credentials: inputs.credentials });
  try {
    return await steps(inputs, client, work, progress);
  } catch (error) {
    throw explain(error, inputs, progress);
  } finally {
    await client.close();
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function steps(
  inputs: RunInputs,
  client: RegistryClient,
  work: string,
  progress: Progress,
): Promise<Outcome> {
  const { image } = inputs;
  const repository = image.repository;
  const signer = await createSigner(inputs.signing, inputs.githubToken);
  const sbom = await givenSbom(inputs.sbom);
  const outcome: Outcome = { image: image.name, platforms: inputs.platforms, tags: [], skipped: {} };
  // Before the build: an unreachable registry or refused credentials should not cost a build first.
  if (inputs.push) await client.ping();

  let result: PushedManifest;
  if (inputs.mergeDigests.length > 0) {
    const manifests: PushedManifest[] = [];
    for (const digest of inputs.mergeDigests)
      manifests.push(await fetchPlatformManifest(client, repository, digest));
    assertDistinctPlatforms(manifests);
    outcome.platforms = manifests.map((m) => platformName(m.platform));
    result = imageIndex(manifests);
    await client.putManifest(repository, result.digest, result.bytes, result.mediaType);
  } else {
    const builder = await resolveBuilder(inputs.builder);
    outcome.builder = builder;
    const layouts: { layout: string; local?: string }[] = [];
    for (const [i, platform] of inputs.platforms.entries()) {
      const layout = join(work, `layout-${i}`);
      const local = await build(
        builder,
        { context: inputs.context, file: inputs.file, platform, buildArgs: inputs.buildArgs, layout },
        join(work, `builder-${i}`),
      );
      layouts.push({ layout, local });
    }
    if (!inputs.push) {
      outcome.skipped.signature = `"${INPUT.push}: false"`;
      return outcome;
    }
    const manifests: PushedManifest[] = [];
    for (const { layout, local } of layouts) {
      const pushed = await pushLayout(client, repository, layout);
      if (local !== undefined && local !== pushed.digest) {
        throw new Error(`the builder wrote manifest ${local}, but the layout holds ${pushed.digest}`);
      }
      manifests.push(pushed);
      progress.pushed.push(`${image.name}@${pushed.digest}`);
    }
    result = manifests.length === 1 ? (manifests[0] as PushedManifest) : imageIndex(manifests);
    if (manifests.length > 1)
      await client.putManifest(repository, result.digest, result.bytes, result.mediaType);
  }
  const ref = `${image.name}@${result.digest}`;
  if (!progress.pushed.includes(ref)) progress.pushed.push(ref);
  const digest = await registryDigest(client, repository, result.digest);
  Object.assign(outcome, { digest, mediaType: result.mediaType });

  const found =
    sbom ??
    (await generateSbom(
      {
        ref: `${image.name}@${digest}`,
        registry: image.registry,
        credentials: inputs.credentials,
        plainHttp: /^(localhost|127\.|\[::1\])/.test(image.registry),
      },
      join(work, 'sbom'),
    ));
  await sbomAndSignatures(inputs, client, signer, found, outcome, progress);

  const tags = inputs.tag ? allTags(inputs.git, inputs.extraTags) : [];
  for (const tag of tags) {
    await client.putManifest(repository, tag, result.bytes, result.mediaType);
    progress.tags.push(tag);
    outcome.tags.push(`${image.name}:${tag}`);
  }
  return outcome;
}

/** The digest output is what the registry says it holds, read back, never what we computed. */
async function registryDigest(client: RegistryClient, repository: string, expected: string): Promise<string> {
  const head = await client.headManifest(repository, expected);
  if (head === undefined || head.digest !== expected) {
    throw new Error(
      `after the push, ${client.registry}/${repository}@${expected} reads back as ${head?.digest ?? 'missing'}`,
    );
  }
  return head.digest;
}

async function sbomAndSignatures(
  inputs: RunInputs,
  client: RegistryClient,
  signer: ImageSigner | undefined,
  found: SbomResult,
  outcome: Outcome,
  progress: Progress,
): Promise<void> {
  const { image } = inputs;
  const digest = outcome.digest as string;
  if ('sbom' in found) {
    outcome.sbomPath = found.sbom.path;
    outcome.sbomTool = found.sbom.tool;
  } else {
    outcome.skipped.sbom = found.skipped;
    annotate('notice', `No SBOM attestation: ${found.skipped}.`);
  }
  if (signer === undefined) {
    outcome.skipped.signature = `"${INPUT.signing}: none"`;
    outcome.skipped.provenance ??= 'nothing to sign it with';
    if ('sbom' in found) outcome.skipped.sbom = 'nothing to sign it with';
    return;
  }
  outcome.signer = signer.description;
  const subject = imageSubject(image.name, digest);

  if (signer.signImage !== undefined) {
    outcome.signatureRef = await signer.signImage(client, image.repository, digest);
    progress.signature = outcome.signatureRef;
  }
  const attestOne = async (statement: Statement): Promise<Attested> => {
    const bundle = await signer.signStatement(statement);
    const { digest: referrer } = await attach(client, image.repository, digest, bundle);
    progress.attestations.push(`${statement.predicateType} → ${referrer}`);
    return { referrer, predicateType: statement.predicateType };
  };
  if ('sbom' in found)
    outcome.sbom = await attestOne(sbomStatementFor(subject, found.sbom.document, found.sbom.path));
  if (inputs.provenance) {
    outcome.provenance = await attestOne(
      provenanceStatement(subject, inputs.run, { finishedOn: new Date() }),
    );
    outcome.signatureRef ??= `${image.name}@${outcome.provenance.referrer}`;
  } else {
    outcome.skipped.provenance = `"${INPUT.provenance}: false"`;
  }
}

function sbomStatementFor(
  subject: ReturnType<typeof imageSubject>,
  document: Record<string, unknown>,
  path: string,
) {
  try {
    return sbomStatement(subject, document);
  } catch (error) {
    if (!(error instanceof StatementError)) throw error;
    throw new ConfigurationError(`Input "${INPUT.sbom}" (${path}): ${error.message}.`);
  }
}

function platformName(platform: Platform | undefined): string {
  if (platform === undefined) return 'unknown';
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Turns a failure into the user's fix (registry, credentials, input) plus what already changed. */
function explain(error: unknown, inputs: RunInputs, progress: Progress): Error {
  const registry = inputs.image.registry;
  const state = progress.report();
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ConfigurationError || error instanceof MergeError) {
    return new ConfigurationError(`${message} ${state}`);
  }
  if (error instanceof RegistryError && (error.status === 401 || error.status === 403)) {
    const who =
      inputs.credentials === undefined
        ? `no credentials were given: set "${INPUT.registryUsername}" and "${INPUT.registryPassword}"`
        : `check "${INPUT.registryUsername}" and "${INPUT.registryPassword}"`;
    return new ConfigurationError(
      `Registry ${registry} refused access (HTTP ${error.status}): ${who}. ${message} ${state}`,
    );
  }
  if (error instanceof RegistryError && error.status === undefined) {
    return new Error(
      `Registry ${registry} (from "${INPUT.image}") could not be reached or answered badly: ${message}. Check the registry host and port in "${INPUT.image}"; credentials come from "${INPUT.registryUsername}"/"${INPUT.registryPassword}". ${state}`,
      { cause: error },
    );
  }
  if (error instanceof RegistryError && error.status === 404 && inputs.mergeDigests.length > 0) {
    return new ConfigurationError(
      `A digest in "${INPUT.mergeDigests}" is not in ${inputs.image.name}: ${message} Push every platform first. ${state}`,
    );
  }
  log.debug(`build-and-sign failed after: ${state}`);
  return new Error(`${message} ${state}`, { cause: error });
}
