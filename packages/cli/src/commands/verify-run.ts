import { PROMOTION_PREDICATE_TYPE, type PromotionPredicate } from '@digestline/promotion';
import { keyId, verifyAttestations, verifyImage } from '@digestline/signing';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { clientFor, publicKeyFrom, reference, resolveTag } from '../registry.js';

export async function verify({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('give exactly one image reference');
  const ref = reference(positionals[0] as string, 'image');
  const key = await publicKeyFrom(values.key, '--key');
  const client = clientFor(ref.registry);
  try {
    const digest = ref.digest ?? (await resolveTag(client, ref.repository, ref.tag ?? 'latest'));
    if (digest === undefined) {
      io.err(`✘ ${ref.registry}/${ref.repository}:${ref.tag ?? 'latest'} does not exist`);
      return ExitCode.failed;
    }
    io.out(`image        ${ref.registry}/${ref.repository}@${digest}`);
    const signatures = await verifyImage(client, ref.repository, digest, key);
    const good = signatures.verified[0];
    if (good === undefined) {
      const why = signatures.rejected.map((r) => r.message).join('; ') || `no signature at ${signatures.tag}`;
      io.out(`✘ signature  ${why}`);
      return ExitCode.failed;
    }
    io.out(`✔ signature  verified with key ${keyId(key).slice(0, 16)}… (${signatures.tag})`);
    const attestations = await verifyAttestations(client, ref.repository, digest, key);
    const environments: string[] = [];
    for (const a of attestations.verified) {
      if (a.statement.predicateType === PROMOTION_PREDICATE_TYPE) {
        const p = a.statement.predicate as PromotionPredicate;
        environments.push(`${p.environment} (${p.promotedAt})`);
      } else io.out(`✔ attestation ${a.statement.predicateType}`);
    }
    io.out(
      environments.length === 0 ? '  promotions  none recorded' : `✔ promotions  ${environments.join(', ')}`,
    );
    for (const r of attestations.rejected)
      io.out(`! attestation ${r.digest} does not verify: ${r.error.message}`);
    return ExitCode.ok;
  } finally {
    await client.close();
  }
}
