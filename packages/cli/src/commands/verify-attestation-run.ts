import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigurationError } from '@digestline/base';
import {
  type ArtifactDigests,
  type IdentityPolicy,
  identityPolicy,
  KeylessVerificationError,
  type KeylessVerified,
  publicGoodTrustRoot,
  type TrustRoot,
  trustRootFromFile,
  verifyKeylessBundle,
} from '@digestline/signing';
import { ExitCode, type Io, UsageError } from '../errors.js';
import type { CommandArgs } from '../main.js';
import { reference } from '../registry.js';

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

export async function verifyAttestation({ positionals, values }: CommandArgs, io: Io): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError(
      'give exactly one artifact: a file, or an image as oci://registry/repository@sha256:…',
    );
  }
  const bundlePath = text(values.bundle);
  if (bundlePath === undefined) throw new UsageError('--bundle <file> is required');
  const policy = policyFrom(values);
  const subject = await subjectOf(positionals[0] as string);
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
