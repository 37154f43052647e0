import { ConfigurationError } from '@digestline/base';
import { isTag } from '@digestline/oci';
import { INPUT } from './options.js';

export interface TagContext {
  /** `refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/7/merge` */
  ref: string;
  /** The commit built (40 hex). */
  sha: string;
  /** The repository's default branch, from the event payload; unknown outside push-like events. */
  defaultBranch?: string;
}

/**
 * The tags that later steps own and move only after their own checks: every environment's tag (promote
 * and canary-deploy), the blue-green slots, and cosign's `sha256-<hex>.sig`/`.att` and the referrers
 * fallback tags, which belong to the digest they name.
 */
export interface OwnedTags {
  /** The promote ladder's environments, as in promote's `environments` input. */
  environments: readonly string[];
  /** As in promote's `tag-template` input: `{env}` is replaced by an environment's name. */
  template: string;
}

/** promote's default ladder and tag template (actions/promote/action.yml). */
export const DEFAULT_ENVIRONMENTS: readonly string[] = ['dev', 'staging', 'canary', 'production'];
export const DEFAULT_TAG_TEMPLATE = '{env}';
/** The slot tags of the blue-green workflow, promoted into like environments. */
export const SLOTS: readonly string[] = ['blue', 'green'];

export interface SkippedTag {
  tag: string;
  reason: string;
}

export interface TagPlan {
  tags: string[];
  /** Tags a git ref would have given, left out: each is a warning naming it. */
  skipped: SkippedTag[];
}

const SHORT_SHA_LENGTH = 7;
const MAX_TAG_LENGTH = 128;
const RELEASE = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** A release or a pre-release (`v2.0.0-rc.1`), with or without the `v`. */
const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const ENVIRONMENT = /^[a-z0-9][a-z0-9._-]*$/;
const quote = JSON.stringify;

/**
 * A branch name as an image tag: characters a tag cannot hold become `-`, and the result keeps room
 * for the `-<short sha>` suffix so two branches never collide on a truncated name.
 */
export function tagSafe(name: string, room = MAX_TAG_LENGTH): string {
  const safe = name
    .replace(/[^a-zA-Z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, room)
    .replace(/[.-]+$/, '');
  return safe;
}

/**
 * Checks the `environments` and `tag-template` inputs the way promote reads its own, so both name the
 * same tags.
 */
export function ownedTags(environments: readonly string[], template: string): OwnedTags {
  for (const environment of environments) {
    if (!ENVIRONMENT.test(environment)) {
      throw new ConfigurationError(
        `Input "${INPUT.environments}" holds ${quote(environment)}: environments are lower-case letters, digits, ".", "_" or "-", starting with a letter or digit; list the same ladder as promote's "environments".`,
      );
    }
  }
  if (!template.includes('{env}')) {
    throw new ConfigurationError(
      `Input "${INPUT.tagTemplate}" is ${quote(template)}, which has no {env}: set it to promote's "tag-template", e.g. {env} or app-{env}.`,
    );
  }
  for (const environment of [...environments, ...SLOTS]) {
    const tag = template.replaceAll('{env}', environment);
    if (!isTag(tag)) {
      throw new ConfigurationError(
        `Input "${INPUT.tagTemplate}" (${quote(template)}) gives ${quote(tag)} for ${environment}, which is not a tag: letters, digits, "_", "." and "-", at most 128, not starting with "." or "-".`,
      );
    }
  }
  return { environments: [...environments], template };
}

/** Which step owns `tag`, in words for a warning or an error; undefined when a build may write it. */
export function tagOwner(tag: string, owned: OwnedTags): string | undefined {
  if (tag.startsWith('sha256-')) {
    return `the form of cosign's signature, attestation and referrers tags, which belong to the digest they name`;
  }
  for (const environment of owned.environments) {
    const envTag = owned.template.replaceAll('{env}', environment);
    if (tag === envTag || tag === environment) {
      return `the tag of the environment ${environment}, which only promote moves, after its signature and stage-proof checks and the environment's reviewers`;
    }
  }
  for (const slot of SLOTS) {
    if (tag === slot || tag === owned.template.replaceAll('{env}', slot)) {
      return `the blue-green slot ${slot}, which only promote moves`;
    }
  }
  return undefined;
}

/**
 * The tags a git ref gives: `sha-<short>` always; `<branch>-<short>` on branches and `latest` on the
 * default branch; `vX.Y.Z`, `X.Y`, `X` on a `vX.Y.Z` git tag and only its own name on a pre-release. Any
 * other git tag gives none: a git tag is pushed by anyone who can write to the repository, so it must
 * not be able to name an environment, `latest` or another commit's tags.
 */
export function refTags(context: TagContext): TagPlan {
  const short = context.sha.slice(0, SHORT_SHA_LENGTH);
  const plan: TagPlan = { tags: [`sha-${short}`], skipped: [] };
  const branch = /^refs\/heads\/(.+)$/.exec(context.ref)?.[1];
  if (branch !== undefined) {
    const name = tagSafe(branch, MAX_TAG_LENGTH - short.length - 1);
    if (name !== '') plan.tags.push(`${name}-${short}`);
    if (branch === context.defaultBranch) plan.tags.push('latest');
  }
  const gitTag = /^refs\/tags\/(.+)$/.exec(context.ref)?.[1];
  if (gitTag !== undefined) {
    const release = RELEASE.exec(gitTag);
    if (release !== null) {
      const [, major, minor] = release;
      plan.tags.push(gitTag, `${major}.${minor}`, `${major}`);
    } else if (VERSION.test(gitTag)) {
      plan.tags.push(gitTag);
    } else {
      plan.skipped.push({
        tag: gitTag,
        reason: 'only version git tags (v1.2.3, v1.2.3-rc.1) become image tags',
      });
    }
  }
  plan.tags = plan.tags.filter(isTag);
  return plan;
}

/** An explicit `tags:` entry that another step owns is a configuration error. */
export function checkExtraTags(extra: readonly string[], owned: OwnedTags): void {
  for (const tag of extra) {
    const owner = tagOwner(tag, owned);
    if (owner !== undefined) {
      throw new ConfigurationError(
        `Input "${INPUT.tags}" holds ${quote(tag)}, which is ${owner}: remove it from "${INPUT.tags}" (and promote the digest to move an environment).`,
      );
    }
  }
}

/**
 * The tags a run applies: the git ref's, less any another step owns (skipped, each a warning), then the
 * extra ones (refused when another step owns one), each once.
 */
export function planTags(context: TagContext, extra: readonly string[], owned: OwnedTags): TagPlan {
  checkExtraTags(extra, owned);
  const fromRef = refTags(context);
  const plan: TagPlan = { tags: [], skipped: [] };
  for (const { tag, reason } of fromRef.skipped) {
    const owner = tagOwner(tag, owned);
    plan.skipped.push({ tag, reason: owner === undefined ? reason : `it is ${owner}` });
  }
  for (const tag of fromRef.tags) {
    const owner = tagOwner(tag, owned);
    if (owner === undefined) plan.tags.push(tag);
    else plan.skipped.push({ tag, reason: `it is ${owner}` });
  }
  plan.tags = [...new Set([...plan.tags, ...extra])];
  return plan;
}
