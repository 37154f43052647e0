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
import { type Credentials, type ImageReference, isDigest, isTag, parseReference } from '@digestline/oci';
import type { GitHubBuildContext } from '@digestline/signing';
import { BUILDERS, type BuilderChoice, GHCR, INPUT, SIGNING } from './constants.js';
import type { TagContext } from './tags.js';

export type Signing = { kind: 'key'; pem: string; password: string } | { kind: 'keyless' } | { kind: 'none' };
export type SbomSource = { kind: 'file'; path: string } | { kind: 'auto' } | { kind: 'none' };

export interface RunInputs {
  workspace: string;
  /** Per-run scratch space (builder storage, layouts, a generated SBOM). */
  runnerTemp: string;
  /** The repository images are pushed to, without tag or digest. */
  image: ImageReference;
  /** Absolute paths. */
  context: string;
  file: string;
  platforms: string[];
  buildArgs: string[];
  extraTags: string[];
  builder: BuilderChoice;
  push: boolean;
  /** false: push by digest only, for per-platform jobs a later `merge-digests` job combines. */
  tag: boolean;
  credentials?: Credentials;
  signing: Signing;
  /** For keyless signing through GitHub's attestation API. */
  githubToken?: string;
  sbom: SbomSource;
  provenance: boolean;
  /** Per-platform manifest digests to merge into one index instead of building. */
  mergeDigests: string[];
  git: TagContext;
  run: GitHubBuildContext;
}

const quote = JSON.stringify;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

export function readInputs(env: NodeJS.ProcessEnv = process.env): RunInputs {
  // Secrets first: nothing below may print them before the runner knows to mask them.
  const pem = secret(optionalString(INPUT.cosignPrivateKey));
  const password = secret(optionalString(INPUT.cosignPassword)) ?? '';
  const registryPassword = secret(optionalString(INPUT.registryPassword));
  const githubToken = secret(optionalString(INPUT.githubToken));

  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const image = readImage();
  const push = booleanInput(INPUT.push, true);
  const mergeDigests = listInput(INPUT.mergeDigests).map((entry) => mergeDigest(entry, image));
  if (mergeDigests.length > 0 && !push) {
    throw new ConfigurationError(
      `Input "${INPUT.mergeDigests}" merges manifests already in the registry into an index there, which "${INPUT.push}: false" forbids; remove one of the two.`,
    );
  }
  const context = resolve(workspace, optionalString(INPUT.context) ?? '.');
  const building = mergeDigests.length === 0;
  const file = building ? dockerfile(workspace, context) : join(context, 'Dockerfile');
  const signing = push ? readSigning(pem, password, env) : { kind: 'none' as const };
  const provenance = booleanInput(INPUT.provenance, true);
  const ghContext = githubContext();
  const run = buildContext(env, ghContext);
  if (signing.kind === 'keyless' && !provenance) {
    throw new ConfigurationError(
      `Keyless signing stores the image's signature as its signed provenance, which "${INPUT.provenance}: false" turns off; set "${INPUT.provenance}: true" or sign with "${INPUT.cosignPrivateKey}".`,
    );
  }
  if (provenance && signing.kind !== 'none' && run.workflow === '') {
    throw new ConfigurationError(
      `Input "${INPUT.provenance}" is true, but GITHUB_WORKFLOW_REF is not set (GitHub runners always set it): provenance needs the workflow that built the image; set "${INPUT.provenance}: false" when running elsewhere.`,
    );
  }
  return {
    workspace,
    runnerTemp: env.RUNNER_TEMP || workspace,
    image,
    context,
    file,
    platforms: building ? readPlatforms() : [],
    buildArgs: readBuildArgs(),
    extraTags: readTags(),
    builder: enumInput(INPUT.builder, BUILDERS, 'auto'),
    push,
    tag: booleanInput(INPUT.tag, true),
    credentials: readCredentials(image.registry, registryPassword, githubToken, env),
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

function mergeDigest(entry: string, image: ImageReference): string {
  if (isDigest(entry)) return entry;
  const at = entry.lastIndexOf('@');
  const digest = entry.slice(at + 1);
  let name: string | undefined;
  try {
    name = at > 0 && isDigest(digest) ? parseReference(entry).name : undefined;
  } catch {
    name = undefined;
  }
  if (name === undefined) {
    throw new ConfigurationError(
      `Input "${INPUT.mergeDigests}" must list sha256:<64 hex> digests (or ${image.name}@sha256:…), one per platform; got ${quote(entry)}.`,
    );
  }
  if (name !== image.name) {
    throw new ConfigurationError(
      `Input "${INPUT.mergeDigests}" names ${quote(entry)}, which is not in ${image.name}: an index can only hold manifests of its own repository; push every platform to "${INPUT.image}".`,
    );
  }
  return digest;
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

function readPlatforms(): string[] {
  const platforms = listInput(INPUT.platforms);
  if (platforms.length === 0) return ['linux/amd64'];
  for (const platform of platforms) {
    if (!PLATFORM.test(platform)) {
      throw new ConfigurationError(
        `Input "${INPUT.platforms}" must list platforms as os/arch[/variant] such as linux/amd64 or linux/arm64/v8; got ${quote(platform)}.`,
      );
    }
  }
  if (new Set(platforms).size !== platforms.length) {
    throw new ConfigurationError(
      `Input "${INPUT.platforms}" lists a platform twice: ${platforms.join(', ')}.`,
    );
  }
  return platforms;
}

/** One per line: a value may itself contain commas, which the usual list splitting would break. */
function readBuildArgs(): string[] {
  const raw = optionalString(INPUT.buildArgs) ?? '';
  const args = raw
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  for (const arg of args) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) {
      throw new ConfigurationError(
        `Input "${INPUT.buildArgs}" must hold one NAME=value per line; got ${quote(arg)}.`,
      );
    }
  }
  return args;
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

function readCredentials(
  registry: string,
  password: string | undefined,
  githubToken: string | undefined,
  env: NodeJS.ProcessEnv,
): Credentials | undefined {
  const onGhcr = registry === GHCR;
  const username = optionalString(INPUT.registryUsername) ?? (onGhcr ? env.GITHUB_ACTOR : undefined);
  // The workflow's token is only ever sent to GitHub's own registry.
  const secretValue = password ?? (onGhcr ? githubToken : undefined);
  if (username === undefined && secretValue === undefined) return undefined;
  if (username === undefined || secretValue === undefined) {
    const missing = username === undefined ? INPUT.registryUsername : INPUT.registryPassword;
    throw new ConfigurationError(
      `Registry credentials for ${registry} need both "${INPUT.registryUsername}" and "${INPUT.registryPassword}"; "${missing}" is empty.`,
    );
  }
  return { username, password: secretValue };
}

function hasOidc(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
}

function readSigning(pem: string | undefined, password: string, env: NodeJS.ProcessEnv): Signing {
  const choice = enumInput(INPUT.signing, SIGNING, 'auto');
  if (choice === 'none') return { kind: 'none' };
  if (choice === 'key' || (choice === 'auto' && pem !== undefined)) {
    if (pem === undefined) {
      throw new ConfigurationError(
        `"${INPUT.signing}: key" needs a key: set "${INPUT.cosignPrivateKey}" to the cosign private key (e.g. \${{ secrets.COSIGN_PRIVATE_KEY }}) and "${INPUT.cosignPassword}" to its password.`,
      );
    }
    return { kind: 'key', pem, password };
  }
  if (hasOidc(env)) return { kind: 'keyless' };
  if (choice === 'keyless') {
    throw new ConfigurationError(
      `"${INPUT.signing}: keyless" needs the job's OIDC token, which this job does not have: add "permissions: id-token: write" to the job (and keep "contents: read").`,
    );
  }
  throw new ConfigurationError(
    `"${INPUT.signing}: auto" found neither a key nor an OIDC token: set "${INPUT.cosignPrivateKey}" to sign with a key, add "permissions: id-token: write" to the job to sign keyless, or set "${INPUT.signing}: none" to push unsigned.`,
  );
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
