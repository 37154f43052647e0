import { PROMOTION_PREDICATE_TYPE, type PromotionPredicate } from '@digestline/promotion';
import { keyId, verifyAttestations, verifyImage } from '@digestline/signing';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { clientFor, publicKeyFrom, reference, resolveTag } from '../registry.js';

export async function verify({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('give exactly one image reference');
  const ref = reference(positionals[0] as string, 'image');
  const key = await publicKeyFrom(values.key, '--key');
  const recordKey =
    values['record-key'] === undefined
      ? undefined
      : await publicKeyFrom(values['record-key'], '--record-key');
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
    // Promotion records signed by their own key (the starters' record key) are verified with it alone.
    const records =
      recordKey === undefined
        ? attestations
        : await verifyAttestations(client, ref.repository, digest, recordKey);
    const verified = new Set([...attestations.verified, ...records.verified].map((a) => a.digest));
    const environments: string[] = [];
    for (const a of attestations.verified) {
      if (a.statement.predicateType !== PROMOTION_PREDICATE_TYPE)
        io.out(`✔ attestation ${a.statement.predicateType}`);
      else if (recordKey !== undefined)
        io.out(
          `! promotion  ${(a.statement.predicate as PromotionPredicate).environment} is signed by the image key, not the record key: it does not count`,
        );
    }
    for (const a of records.verified) {
      if (a.statement.predicateType !== PROMOTION_PREDICATE_TYPE) continue;
      const p = a.statement.predicate as PromotionPredicate;
      environments.push(`${p.environment} (${p.promotedAt})`);
    }
    io.out(
      environments.length === 0 ? '  promotions  none recorded' : `✔ promotions  ${environments.join(', ')}`,
    );
    const warned = new Set<string>();
    for (const r of [...attestations.rejected, ...records.rejected]) {
      if (verified.has(r.digest) || warned.has(r.digest)) continue;
      warned.add(r.digest);
      io.out(`! attestation ${r.digest} does not verify: ${r.error.message}`);
    }
    return ExitCode.ok;
  } finally {
    await client.close();
  }
}
