import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigurationError } from '@digestline/base';
import {
  type ArtifactDigests,
  describeKeylessFailure,
  describePolicy,
  type IdentityPolicy,
  identityPolicy,
  KeylessVerificationError,
  type KeylessVerified,
  publicGoodTrustRoot,
  type TrustRoot,
  trustRootFromFile,
  verifyAttestationsWith,
  verifyImageKeyless,
  verifyKeylessBundle,
} from '@digestline/signing';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { clientFor, reference } from '../registry.js';

const OCI = 'oci://';

interface Subject {
  /** How the output names it. */
  label: string;
  digests: ArtifactDigests;
  /** The file's bytes, for a bundle that signs the file itself rather than a statement about it. */
  artifact?: Buffer;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

async function readOrUsage(path: string, option: string): Promise<Buffer> {
  return readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`${option} ${path}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
}

async function subjectOf(target: string): Promise<Subject> {
  if (target.startsWith(OCI)) {
    const ref = reference(target.slice(OCI.length), 'the image');
    const hex = /^sha256:([a-f0-9]{64})$/.exec(ref.digest ?? '')?.[1];
    if (hex === undefined) {
      throw new UsageError(
        `${target} names no sha256 digest: give the image as oci://registry/repository@sha256:<64 hex> (a tag can move).`,
      );
    }
    return { label: `${ref.registry}/${ref.repository}@sha256:${hex}`, digests: { sha256: hex } };
  }
  const bytes = await readOrUsage(target, 'the artifact');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sha512 = createHash('sha512').update(bytes).digest('hex');
  return { label: `${target} (sha256:${sha256})`, digests: { sha256, sha512 }, artifact: bytes };
}

function policyFrom(values: CommandArgs['values']): IdentityPolicy {
  try {
    return identityPolicy(
      {
        identity: text(values['certificate-identity']),
        identityRegExp: text(values['certificate-identity-regexp']),
        issuer: text(values['certificate-oidc-issuer']),
        github: {
          repository: text(values['certificate-github-workflow-repository']),
          ref: text(values['certificate-github-workflow-ref']),
          sha: text(values['certificate-github-workflow-sha']),
        },
      },
      {
        identity: '--certificate-identity',
        identityRegExp: '--certificate-identity-regexp',
        issuer: '--certificate-oidc-issuer',
      },
    );
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  }
}

async function trustFrom(values: CommandArgs['values'], io: Io): Promise<TrustRoot> {
  const path = text(values['trusted-root']);
  if (path === undefined) {
    return publicGoodTrustRoot({
      log: { info: () => undefined, debug: () => undefined, warning: (m) => io.err(`! ${m}`) },
    });
  }
  try {
    return await trustRootFromFile(path);
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(`--trusted-root: ${error.message}`);
    throw error;
  }
}

function report(io: Io, subject: Subject, result: KeylessVerified, trust: TrustRoot): void {
  const { claims } = result;
  io.out(`✔ verified    ${subject.label}`);
  io.out(`  identity    ${claims.identity}`);
  io.out(`  issuer      ${claims.issuer ?? '(none)'}`);
  if (claims.sourceRepositoryURI !== undefined) {
    const ref = claims.sourceRepositoryRef === undefined ? '' : ` ${claims.sourceRepositoryRef}`;
    const sha = claims.sourceRepositoryDigest === undefined ? '' : ` @ ${claims.sourceRepositoryDigest}`;
    io.out(`  source      ${claims.sourceRepositoryURI}${ref}${sha}`);
  }
  const index = result.logIndex === undefined ? '' : `, log index ${result.logIndex}`;
  io.out(`  signed at   ${result.signedAt.toISOString()} (${result.timeSource}${index})`);
  if (result.statement !== undefined) io.out(`  statement   ${result.statement.predicateType}`);
  io.out(`  trust       ${trust.source}`);
}

/**
 * An image without --bundle: its signatures where build-and-sign and cosign store them (the referrer
 * bundle, then the legacy .sig), or with --predicate-type its attestations of that type.
 */
async function fromRegistry(
  target: string,
  subject: Subject,
  policy: IdentityPolicy,
  values: CommandArgs['values'],
  io: Io,
): Promise<number> {
  const ref = reference(target.slice(OCI.length), 'the image');
  const digest = `sha256:${subject.digests.sha256}`;
  const trust = await trustFrom(values, io);
  const predicateType = text(values['predicate-type']);
  const client = clientFor(ref.registry);
  try {
    if (predicateType !== undefined) {
      const found = await verifyAttestationsWith(
        client,
        ref.repository,
        digest,
        { kind: 'keyless', root: trust, policy },
        predicateType,
      );
      const first = found.verified[0];
      if (first === undefined) {
        const why = found.rejected.map((r) => `${r.digest}: ${r.message}`).join('; ');
        io.out(
          `✘ not verified: no ${predicateType} attestation by ${describePolicy(policy)}${why === '' ? '' : ` (${why})`}`,
        );
        return ExitCode.failed;
      }
      io.out(`✔ verified    ${subject.label}`);
      io.out(`  identity    ${first.signer}`);
      io.out(`  statement   ${predicateType} (referrer ${first.digest})`);
      io.out(`  trust       ${trust.source}`);
      return ExitCode.ok;
    }
    const check = await verifyImageKeyless(client, ref.repository, digest, trust, policy);
    if (check.verified === undefined) {
      io.out(`✘ not verified: ${describeKeylessFailure(check, policy)}`);
      return ExitCode.failed;
    }
    const { claims, source, location, signedAt } = check.verified;
    io.out(`✔ verified    ${subject.label}`);
    io.out(`  identity    ${claims.identity}`);
    io.out(`  issuer      ${claims.issuer ?? '(none)'}`);
    io.out(`  signed at   ${signedAt.toISOString()}`);
    io.out(`  found in    ${source} ${location}`);
    io.out(`  trust       ${trust.source}`);
    return ExitCode.ok;
  } finally {
    await client.close();
  }
}

export async function verifyAttestation({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError(
      'give exactly one artifact: a file, or an image as oci://registry/repository@sha256:…',
    );
  }
  const target = positionals[0] as string;
  const bundlePath = text(values.bundle);
  if (bundlePath === undefined && !target.startsWith(OCI)) {
    throw new UsageError('--bundle <file> is required for a file (an image is looked up in its registry)');
  }
  const policy = policyFrom(values);
  const subject = await subjectOf(target);
  if (bundlePath === undefined) return fromRegistry(target, subject, policy, values, io);
  const bundle = await readOrUsage(bundlePath, '--bundle');
  const trust = await trustFrom(values, io);
  const predicateType = text(values['predicate-type']);
  try {
    const result = verifyKeylessBundle(bundle, trust, policy, {
      digests: subject.digests,
      ...(subject.artifact === undefined ? {} : { artifact: subject.artifact }),
      ...(predicateType === undefined ? {} : { predicateType }),
    });
    report(io, subject, result, trust);
    return ExitCode.ok;
  } catch (error) {
    if (!(error instanceof KeylessVerificationError)) throw error;
    io.out(`✘ not verified (${error.reason}): ${error.message}`);
    return ExitCode.failed;
  }
}
