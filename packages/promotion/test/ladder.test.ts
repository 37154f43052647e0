import { describe, expect, test } from '@jest/globals';
import { checkStep, DEFAULT_ENVIRONMENTS, digestProblem, environmentTag, parseLadder } from '../src/index.js';

const ladder = DEFAULT_ENVIRONMENTS;
const refusal = (source: string | undefined, target: string) => {
  try {
    checkStep(ladder, source, target, 'promote');
  } catch (error) {
    return (error as Error).message;
  }
  return undefined;
};

describe('the ladder', () => {
  test('allows exactly the next step, and a fresh build only into the first environment', () => {
    expect(refusal(undefined, 'dev')).toBeUndefined();
    expect(refusal('dev', 'staging')).toBeUndefined();
    expect(refusal('staging', 'canary')).toBeUndefined();
    expect(refusal('canary', 'production')).toBeUndefined();
  });

  test('refuses staging → production and names the allowed next step', () => {
    expect(refusal('staging', 'production')).toMatch(
      /allowed next step is staging → canary; promote through canary first/,
    );
  });

  test('refuses production → staging and points to a rollback', () => {
    expect(refusal('production', 'staging')).toMatch(
      /production is the last environment.*use mode: rollback/,
    );
  });

  test('refuses an empty source for any environment but the first, naming the source to set', () => {
    expect(refusal(undefined, 'canary')).toMatch(
      /only the first environment \(dev\) accepts: set source-env: staging/,
    );
    expect(refusal('staging', 'dev')).toMatch(/dev is the first environment and takes fresh builds only/);
  });

  test('refuses an unknown environment and lists the ladder', () => {
    expect(refusal('dev', 'qa')).toMatch(
      /target-env "qa" is not an environment of the ladder dev → staging → canary → production/,
    );
    expect(refusal('test', 'staging')).toMatch(/source-env "test"/);
  });

  test('a rollback may target any known environment', () => {
    expect(() => checkStep(ladder, undefined, 'staging', 'rollback')).not.toThrow();
    expect(() => checkStep(ladder, undefined, 'nope', 'rollback')).toThrow(/not an environment/);
  });

  test('refuses ladders that are too short, repeat a name or hold unusable names', () => {
    expect(() => parseLadder(['prod'])).toThrow(/at least two/);
    expect(() => parseLadder(['dev', 'dev'])).toThrow(/appears twice/);
    expect(() => parseLadder(['dev', 'Prod'])).toThrow(/lower-case/);
  });

  test('derives the tag an environment owns from the template', () => {
    expect(environmentTag('{env}', 'canary')).toBe('canary');
    expect(environmentTag('app-{env}', 'canary')).toBe('app-canary');
    expect(() => environmentTag('stable', 'canary')).toThrow(/has no \{env\}/);
    expect(() => environmentTag('.{env}', 'canary')).toThrow(/not a valid tag/);
  });
});

describe('digests', () => {
  const good = `sha256:${'a'.repeat(64)}`;
  test('accepts a full lower-case sha256 digest', () => expect(digestProblem(good)).toBeUndefined());
  test('refuses a tag and says why a tag is not enough', () =>
    expect(digestProblem('v1.2.3')).toMatch(/is a tag, not a digest: a tag can move/));
  test('refuses an abbreviated digest', () =>
    expect(digestProblem('sha256:abc123')).toMatch(/has 6 hex characters; a sha256 digest has exactly 64/));
  test('refuses upper-case hex and shows the lower-case form', () =>
    expect(digestProblem(`sha256:${'A'.repeat(64)}`)).toContain(`write "${good}"`));
  test('refuses a whole image reference and shows the digest part', () =>
    expect(digestProblem(`ghcr.io/org/app@${good}`)).toContain(`pass only the digest part, "${good}"`));
  test('refuses another algorithm', () =>
    expect(digestProblem(`sha512:${'a'.repeat(128)}`)).toMatch(/is not a digest/));
});
