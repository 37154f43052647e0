import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '@digestline/base';
import { type Platform, RegistryClient, RegistryError } from '@digestline/oci';
import {
  attach,
  imageSubject,
  provenanceStatement,
  type Statement,
  StatementError,
  sbomStatement,
} from '@digestline/signing';
import { type Builder, type BuildTool, build, resolveBuilder, resolveRuntime } from './builder.js';
import { BuildAndSignError, BuildOutputError, registryAdvice } from './errors.js';
import { type BuildHost, type BuildLog, fullLog } from './host.js';
import {
  assertDistinctPlatforms,
  fetchPlatformManifest,
  imageIndex,
  type PushedManifest,
  pushLayout,
} from './layout.js';
import { type BuildAndSignOptions, INPUT } from './options.js';
import { generateSbom, givenSbom, type SbomResult } from './sbom.js';
import { createSigner, type ImageSigner } from './signer.js';
import { planTags } from './tags.js';

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

interface Run {
  options: BuildAndSignOptions;
  host: BuildHost;
  log: Required<BuildLog>;
  client: RegistryClient;
  work: string;
  progress: Progress;
}

/**
 * Builds each platform (or merges per-platform digests into an index), pushes by digest, signs, attests
 * the SBOM and provenance, and tags last. A failure is a `BuildAndSignError` that says what to fix and
 * what had changed in the registry by then.
 */
export async function buildAndSign(options: BuildAndSignOptions, host: BuildHost): Promise<Outcome> {
  const run: Run = {
    options,
    host,
    log: fullLog(host.log),
    client: new RegistryClient(options.image.registry, { credentials: options.credentials }),
    work: join(options.runnerTemp, `build-and-sign-${randomBytes(6).toString('hex')}`),
    progress: new Progress(),
  };
  try {
    return await steps(run);
  } catch (error) {
    const state = run.progress.report();
    run.log.debug(`build-and-sign failed after: ${state}`);
    const advice = error instanceof RegistryError ? registryAdvice(error, options) : undefined;
    const message = advice ?? (error instanceof Error ? error.message : String(error));
    throw new BuildAndSignError(`${message} ${state}`, { cause: error });
  } finally {
    await run.client.close();
    await rm(run.work, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function steps(run: Run): Promise<Outcome> {
  const { options, client, work, progress } = run;
  const { image } = options;
  const repository = image.repository;
  const signer = await createSigner(options.signing, run.host, run.log);
  const sbom = await givenSbom(options.sbom);
  const outcome: Outcome = { image: image.name, platforms: options.platforms, tags: [], skipped: {} };
  const tags = options.tag ? tagsToApply(run) : [];
  // Before the build: an unreachable registry or refused credentials should not cost a build first.
  if (options.push) await client.ping();

  let result: PushedManifest;
  if (options.mergeDigests.length > 0) {
    const manifests: PushedManifest[] = [];
    for (const digest of options.mergeDigests)
      manifests.push(await fetchPlatformManifest(client, repository, digest));
    assertDistinctPlatforms(manifests);
    outcome.platforms = manifests.map((m) => platformName(m.platform));
    result = imageIndex(manifests);
    await client.putManifest(repository, result.digest, result.bytes, result.mediaType);
  } else {
    const builder = await resolveBuilder(run.host.processes, options.builder);
    const tool: BuildTool =
      builder === 'docker' ? { builder } : { builder, runtime: await resolveRuntime(run.host.processes) };
    outcome.builder = builder;
    const layouts: { layout: string; local?: string }[] = [];
    for (const [i, platform] of options.platforms.entries()) {
      const layout = join(work, `layout-${i}`);
      const local = await build(
        run.host.processes,
        run.log,
        tool,
        { context: options.context, file: options.file, platform, buildArgs: options.buildArgs, layout },
        join(work, `builder-${i}`),
      );
      layouts.push({ layout, local });
    }
    if (!options.push) {
      outcome.skipped.signature = `"${INPUT.push}: false"`;
      return outcome;
    }
    const manifests: PushedManifest[] = [];
    for (const { layout, local } of layouts) {
      const pushed = await pushLayout(client, repository, layout);
      if (local !== undefined && local !== pushed.digest) {
        throw new BuildOutputError(
          `the builder wrote manifest ${local}, but the layout holds ${pushed.digest}`,
        );
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
      run.host.processes,
      {
        ref: `${image.name}@${digest}`,
        registry: image.registry,
        credentials: options.credentials,
        plainHttp: /^(localhost|127\.|\[::1\])/.test(image.registry),
      },
      // Beside the work dir, not in it: the SBOM is an output that later steps upload after this one ends.
      join(options.runnerTemp, `digestline-sbom-${randomBytes(6).toString('hex')}`),
    ));
  await sbomAndSignatures(run, signer, found, outcome);

  for (const tag of tags) {
    await client.putManifest(repository, tag, result.bytes, result.mediaType);
    progress.tags.push(tag);
    outcome.tags.push(`${image.name}:${tag}`);
  }
  return outcome;
}

/** Decided before the build, so a refused extra tag costs nothing and a skipped one is said up front. */
function tagsToApply(run: Run): string[] {
  const { git, extraTags, ownedTags } = run.options;
  const plan = planTags(git, extraTags, ownedTags);
  for (const { tag, reason } of plan.skipped) {
    run.log.warning(
      `Not tagging ${JSON.stringify(tag)}, which the git ref ${git.ref} would give: ${reason}.`,
    );
  }
  return plan.tags;
}

/** The digest output is what the registry says it holds, read back, never what we computed. */
async function registryDigest(client: RegistryClient, repository: string, expected: string): Promise<string> {
  const head = await client.headManifest(repository, expected);
  if (head === undefined || head.digest !== expected) {
    throw new BuildOutputError(
      `after the push, ${client.registry}/${repository}@${expected} reads back as ${head?.digest ?? 'missing'}`,
    );
  }
  return head.digest;
}

async function sbomAndSignatures(
  run: Run,
  signer: ImageSigner | undefined,
  found: SbomResult,
  outcome: Outcome,
): Promise<void> {
  const { options, client, progress } = run;
  const { image } = options;
  const digest = outcome.digest as string;
  if ('sbom' in found) {
    outcome.sbomPath = found.sbom.path;
    outcome.sbomTool = found.sbom.tool;
  } else {
    outcome.skipped.sbom = found.skipped;
    run.log.notice(`No SBOM attestation: ${found.skipped}.`);
  }
  if (signer === undefined) {
    outcome.skipped.signature = `"${INPUT.signing}: none"`;
    outcome.skipped.provenance ??= 'nothing to sign it with';
    if ('sbom' in found) outcome.skipped.sbom = 'nothing to sign it with';
    return;
  }
  outcome.signer = signer.description;
  const subject = imageSubject(image.name, digest);

  outcome.signatureRef = await signer.signImage(client, image.repository, digest);
  progress.signature = outcome.signatureRef;
  const attestOne = async (statement: Statement): Promise<Attested> => {
    const bundle = await signer.signStatement(statement);
    const { digest: referrer } = await attach(client, image.repository, digest, bundle);
    progress.attestations.push(`${statement.predicateType} → ${referrer}`);
    return { referrer, predicateType: statement.predicateType };
  };
  if ('sbom' in found)
    outcome.sbom = await attestOne(sbomStatementFor(subject, found.sbom.document, found.sbom.path));
  if (options.provenance) {
    outcome.provenance = await attestOne(
      provenanceStatement(subject, options.run, { finishedOn: new Date() }),
    );
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
