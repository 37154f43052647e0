import { isTag } from '@digestline/oci';

export interface TagContext {
  /** `refs/heads/main`, `refs/tags/v1.2.3`, `refs/pull/7/merge` */
  ref: string;
  /** The commit built (40 hex). */
  sha: string;
  /** The repository's default branch, from the event payload; unknown outside push-like events. */
  defaultBranch?: string;
}

const SHORT_SHA_LENGTH = 7;
const MAX_TAG_LENGTH = 128;
const RELEASE = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/**
 * A branch or git tag name as an image tag: characters a tag cannot hold become `-`, and the result
 * keeps room for the `-<short sha>` suffix so two branches never collide on a truncated name.
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
 * The tags teams expect: `sha-<short>` always; `<branch>-<short>` on branches and `latest` on the
 * default branch; `vX.Y.Z`, `X.Y`, `X` on a `vX.Y.Z` git tag (a pre-release or other git tag gets
 * only its own name, so it never moves a release line).
 */
export function defaultTags(context: TagContext): string[] {
  const short = context.sha.slice(0, SHORT_SHA_LENGTH);
  const tags = [`sha-${short}`];
  const branch = /^refs\/heads\/(.+)$/.exec(context.ref)?.[1];
  if (branch !== undefined) {
    const name = tagSafe(branch, MAX_TAG_LENGTH - short.length - 1);
    if (name !== '') tags.push(`${name}-${short}`);
    if (branch === context.defaultBranch) tags.push('latest');
  }
  const gitTag = /^refs\/tags\/(.+)$/.exec(context.ref)?.[1];
  if (gitTag !== undefined) {
    const release = RELEASE.exec(gitTag);
    if (release !== null) {
      const [, major, minor] = release;
      tags.push(gitTag, `${major}.${minor}`, `${major}`);
    } else {
      const name = tagSafe(gitTag);
      if (name !== '') tags.push(name);
    }
  }
  return tags.filter(isTag);
}

/** Default tags first, then the extra ones, each once. */
export function allTags(context: TagContext, extra: readonly string[]): string[] {
  return [...new Set([...defaultTags(context), ...extra])];
}
