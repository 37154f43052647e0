import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  booleanInput,
  ConfigurationError,
  enumInput,
  githubContext,
  listInput,
  optionalString,
  requiredString,
  secret,
} from '@digestline/action-kit';
import {
  type BuildAndSignOptions,
  checkExtraTags,
  checkPlatforms,
  checkProvenance,
  chooseSigning,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  type OwnedTags,
  ownedTags,
  parseBuildArgs,
  parseMergeDigests,
  registryCredentials,
  type SbomSource,
  sigstoreEndpoints,
} from '@digestline/build';
import { type ImageReference, isTag, parseReference } from '@digestline/oci';
import type { GitHubBuildContext } from '@digestline/signing';
import { BUILDERS, INPUT, SIGNING, TLOG_UPLOAD } from './constants.js';

/** The options of one run, and what only the action needs to make them. */
export interface RunInputs extends BuildAndSignOptions {
  workspace: string;
  /** For keyless signing through GitHub's attestation API. */
  githubToken?: string;
}

const quote = JSON.stringify;

export function readInputs(env: NodeJS.ProcessEnv = process.env): RunInputs {
  // Secrets first: nothing below may print them before the runner knows to mask them.
  const pem = secret(optionalString(INPUT.cosignPrivateKey));
  const password = secret(optionalString(INPUT.cosignPassword)) ?? '';
  const registryPassword = secret(optionalString(INPUT.registryPassword));
  const githubToken = secret(optionalString(INPUT.githubToken));

  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const image = readImage();
  const push = booleanInput(INPUT.push, true);
  const mergeDigests = parseMergeDigests(listInput(INPUT.mergeDigests), image, push);
  const context = resolve(workspace, optionalString(INPUT.context) ?? '.');
  const building = mergeDigests.length === 0;
  const file = building ? dockerfile(workspace, context) : join(context, 'Dockerfile');
  const signing = push
    ? chooseSigning(
        enumInput(INPUT.signing, SIGNING, 'auto'),
        { pem, password },
        hasOidc(env),
        sigstoreEndpoints({
          fulcio: optionalString(INPUT.fulcioUrl),
          rekor: optionalString(INPUT.rekorUrl),
          tsa: optionalString(INPUT.tsaUrl),
        }),
        enumInput(INPUT.tlogUpload, TLOG_UPLOAD, 'auto'),
      )
    : { kind: 'none' as const };
  const provenance = booleanInput(INPUT.provenance, true);
  const ghContext = githubContext();
  const run = buildContext(env, ghContext);
  checkProvenance(signing, provenance, run.workflow);
  const owned = readOwnedTags();
  const extraTags = readTags();
  checkExtraTags(extraTags, owned);
  return {
    workspace,
    runnerTemp: env.RUNNER_TEMP || workspace,
    image,
    context,
    file,
    platforms: building ? checkPlatforms(listInput(INPUT.platforms)) : [],
    buildArgs: parseBuildArgs(optionalString(INPUT.buildArgs) ?? ''),
    extraTags,
    ownedTags: owned,
    builder: enumInput(INPUT.builder, BUILDERS, 'auto'),
    push,
    tag: booleanInput(INPUT.tag, true),
    credentials: registryCredentials(
      image.registry,
      { username: optionalString(INPUT.registryUsername), password: registryPassword },
      { actor: env.GITHUB_ACTOR, token: githubToken },
    ),
    signing,
    githubToken,
    sbom: readSbom(workspace),
    provenance,
    mergeDigests,
    git: {
      ref: ghContext.ref,
      sha: ghContext.sha,
      defaultBranch: (ghContext.payload.repository as { default_branch?: string } | undefined)
        ?.default_branch,
    },
    run,
  };
}

function readImage(): ImageReference {
  const raw = requiredString(INPUT.image).trim();
  let image: ImageReference;
  try {
    image = parseReference(raw);
  } catch (error) {
    throw new ConfigurationError(
      `Input "${INPUT.image}" is not a valid image repository: ${(error as Error).message}.`,
    );
  }
  if (image.tag !== undefined || image.digest !== undefined) {
    throw new ConfigurationError(
      `Input "${INPUT.image}" must name a repository without tag or digest, such as ghcr.io/org/app; got ${quote(raw)}: put extra tags in "${INPUT.tags}".`,
    );
  }
  return image;
}

function dockerfile(workspace: string, context: string): string {
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new ConfigurationError(
      `Input "${INPUT.context}" must be a directory; ${quote(context)} does not exist or is not a directory. Check out the repository first (actions/checkout) or fix the path.`,
    );
  }
  const given = optionalString(INPUT.file);
  const file = given === undefined ? join(context, 'Dockerfile') : resolve(workspace, given);
  if (!existsSync(file) || !statSync(file).isFile()) {
    const which =
      given === undefined ? `the default "${INPUT.file}" (<context>/Dockerfile)` : `"${INPUT.file}"`;
    throw new ConfigurationError(
      `Dockerfile not found: ${which} is ${quote(file)}, which does not exist. Set "${INPUT.file}" to the Dockerfile's path relative to the workspace.`,
    );
  }
  return file;
}

function readTags(): string[] {
  const tags = listInput(INPUT.tags);
  for (const tag of tags) {
    if (!isTag(tag)) {
      throw new ConfigurationError(
        `Input "${INPUT.tags}" holds ${quote(tag)}, which is not a tag: tags are tag names only (not image:tag), 1 to 128 of [a-zA-Z0-9_.-], not starting with . or -.`,
      );
    }
  }
  return tags;
}

function readOwnedTags(): OwnedTags {
  const environments = listInput(INPUT.environments);
  return ownedTags(
    environments.length === 0 ? DEFAULT_ENVIRONMENTS : environments,
    optionalString(INPUT.tagTemplate) ?? DEFAULT_TAG_TEMPLATE,
  );
}

function hasOidc(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
}

function readSbom(workspace: string): SbomSource {
  const raw = optionalString(INPUT.sbom)?.trim() ?? 'auto';
  if (raw === 'auto') return { kind: 'auto' };
  if (raw === 'none') return { kind: 'none' };
  const path = isAbsolute(raw) ? raw : resolve(workspace, raw);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new ConfigurationError(
      `Input "${INPUT.sbom}" must be "auto", "none" or the path of an SPDX or CycloneDX JSON file; ${quote(path)} does not exist.`,
    );
  }
  return { kind: 'file', path };
}

function buildContext(env: NodeJS.ProcessEnv, context: ReturnType<typeof githubContext>): GitHubBuildContext {
  const serverUrl = context.serverUrl;
  const runnerEnvironment = env.RUNNER_ENVIRONMENT || 'github-hosted';
  return {
    serverUrl,
    repository: env.GITHUB_REPOSITORY ?? '',
    sha: context.sha,
    ref: context.ref,
    workflow: env.GITHUB_WORKFLOW_REF ?? '',
    runId: context.runId,
    runAttempt: context.runAttempt,
    builderId: `${serverUrl}/actions/runner/${runnerEnvironment}`,
    eventName: context.eventName,
    repositoryId: env.GITHUB_REPOSITORY_ID,
    repositoryOwnerId: env.GITHUB_REPOSITORY_OWNER_ID,
    runnerEnvironment,
  };
}
