import { describeKeylessFailure, verifyImageKeyless } from '@digestline/signing';
import type { Plan } from './checks.js';
import { PromotionRefusedError } from './errors.js';
import type { KeylessImageRule, PassedCheck } from './request.js';

/**
 * The image carries a keyless signature by the required identity, for a repository whose signatures
 * count here: referrer bundles first, then cosign 2's `.sig`, then GitHub's attestations API.
 */
export async function checkKeylessSignature(
  plan: Plan,
  rule: KeylessImageRule,
  accepts: (reference: string) => boolean,
): Promise<PassedCheck> {
  const { origin, digest } = plan;
  const check = await verifyImageKeyless(origin.client, origin.repository, digest, rule.root, rule.policy, {
    accepts,
    ...(rule.github === undefined ? {} : { github: rule.github }),
  });
  const verified = check.verified;
  if (verified !== undefined) {
    const { identity, issuer } = verified.claims;
    return {
      name: 'signature',
      detail: `keyless, signed by ${identity} (issuer ${issuer ?? 'none'}), from the ${verified.source} at ${verified.signedAt.toISOString()}`,
    };
  }
  throw new PromotionRefusedError(
    'signature',
    `${origin.client.registry}/${origin.repository}@${digest}: ${describeKeylessFailure(check, rule.policy)}.`,
  );
}
