import { isDigest, isTag } from '@digestline/oci';
import { PromotionRefusedError } from './errors.js';

export const DEFAULT_ENVIRONMENTS: readonly string[] = ['dev', 'staging', 'canary', 'production'];
export const DEFAULT_TAG_TEMPLATE = '{env}';

export type PromotionMode = 'promote' | 'rollback';

const ENVIRONMENT = /^[a-z0-9][a-z0-9._-]*$/;
const quote = JSON.stringify;

/** Why `value` is not a digest a promotion can trust, in words that say how to fix it; undefined when it is one. */
export function digestProblem(value: string): string | undefined {
  if (isDigest(value)) return undefined;
  const at = value.lastIndexOf('@');
  if (at > 0 && isDigest(value.slice(at + 1))) {
    return `${quote(value)} is an image reference: pass only the digest part, ${quote(value.slice(at + 1))}.`;
  }
  if (!value.includes(':') && isTag(value)) {
    return `${quote(value)} is a tag, not a digest: a tag can move between the test and the promotion, so only a digest proves the same image is shipped; pass the sha256:<64 hex> digest the build printed (e.g. its "digest" output).`;
  }
  const hex = /^sha256:([0-9a-fA-F]*)$/.exec(value)?.[1];
  if (hex !== undefined && hex !== hex.toLowerCase()) {
    return `digest ${quote(value)} has upper-case hex: registries name content by lower-case sha256, so write ${quote(value.toLowerCase())}.`;
  }
  if (hex !== undefined) {
    return `digest ${quote(value)} has ${hex.length} hex characters; a sha256 digest has exactly 64: pass the full digest, not an abbreviation.`;
  }
  return `${quote(value)} is not a digest: expected sha256: followed by 64 lower-case hex characters.`;
}

/** The environments in promotion order, checked: at least two, unique, usable in a tag. */
export function parseLadder(environments: readonly string[]): string[] {
  if (environments.length < 2) {
    throw new PromotionRefusedError(
      'input',
      `the ladder needs at least two environments (e.g. dev,staging,canary,production); got ${quote(environments.join(','))}.`,
    );
  }
  const seen = new Set<string>();
  for (const environment of environments) {
    if (!ENVIRONMENT.test(environment)) {
      throw new PromotionRefusedError(
        'input',
        `environment ${quote(environment)} must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit.`,
      );
    }
    if (seen.has(environment)) {
      throw new PromotionRefusedError(
        'input',
        `environment ${quote(environment)} appears twice in the ladder.`,
      );
    }
    seen.add(environment);
  }
  return [...environments];
}

/** The tag an environment owns: `{env}` in the template replaced by the environment's name. */
export function environmentTag(template: string, environment: string): string {
  if (!template.includes('{env}')) {
    throw new PromotionRefusedError(
      'input',
      `the tag template ${quote(template)} has no {env}: every environment would own the same tag; use e.g. {env} or app-{env}.`,
    );
  }
  const tag = template.replaceAll('{env}', environment);
  if (!isTag(tag)) {
    throw new PromotionRefusedError(
      'input',
      `the tag template ${quote(template)} gives ${quote(tag)} for ${environment}, which is not a valid tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-").`,
    );
  }
  return tag;
}

function requireKnown(ladder: readonly string[], environment: string, what: string): void {
  if (!ladder.includes(environment)) {
    throw new PromotionRefusedError(
      'input',
      `${what} ${quote(environment)} is not an environment of the ladder ${ladder.join(' → ')}: use one of those names, or list yours in "environments".`,
    );
  }
}

/**
 * Allows only the next step of the ladder, or a fresh build into the first environment; a rollback may
 * go to any environment (its proof is the digest's own record for it, checked later).
 */
export function checkStep(
  ladder: readonly string[],
  source: string | undefined,
  target: string,
  mode: PromotionMode,
): void {
  requireKnown(ladder, target, 'target-env');
  if (source !== undefined) requireKnown(ladder, source, 'source-env');
  if (mode === 'rollback') return;
  const first = ladder[0] as string;
  const to = ladder.indexOf(target);
  if (source === undefined) {
    if (to === 0) return;
    throw new PromotionRefusedError(
      'path',
      `source-env is empty, which only the first environment (${first}) accepts: set source-env: ${ladder[to - 1]} to promote into ${target}.`,
    );
  }
  const from = ladder.indexOf(source);
  if (to === from + 1) return;
  const next = ladder[from + 1];
  const allowed =
    next === undefined
      ? `${source} is the last environment, so nothing comes after it`
      : `the allowed next step is ${source} → ${next}`;
  const hint =
    to <= from
      ? '; to put an earlier digest back, use mode: rollback'
      : `; promote through ${ladder.slice(from + 1, to).join(', ')} first`;
  const what =
    to === 0 ? `${target} is the first environment and takes fresh builds only (source-env empty); ` : '';
  throw new PromotionRefusedError(
    'path',
    `${what}${source} → ${target} is not a step of the ladder ${ladder.join(' → ')}: ${allowed}${hint}.`,
  );
}
