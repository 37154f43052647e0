import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { ConfigurationError, type Logger, silentLogger } from '@digestline/base';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { DEFAULT_MIRROR_URL, getTrustedRoot } from '@sigstore/tuf';
import { type TrustMaterial, toTrustMaterial } from '@sigstore/verify';

/**
 * The keys and certificates a keyless signature is checked against: Fulcio CAs, Rekor and CT log keys,
 * timestamp authorities. `source` says where they came from, for the summary.
 */
export interface TrustRoot {
  material: TrustMaterial;
  source: string;
  /** How many certificate-transparency proofs (SCTs) a certificate needs: 1 when the root names a CT log. */
  ctlogThreshold: number;
  /** The trusted root as JSON, e.g. to hand an independent verifier the same trust. */
  json: unknown;
}

/** A trusted root in its JSON form (`trusted_root.json` of a Sigstore instance, `cosign trusted-root create`). */
export function trustRootFromJSON(json: unknown, source: string): TrustRoot {
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(json);
  } catch (error) {
    throw new ConfigurationError(`${source} is not a Sigstore trusted root: ${(error as Error).message}.`);
  }
  if (root.certificateAuthorities.length === 0 || root.tlogs.length === 0) {
    throw new ConfigurationError(
      `${source} is not a usable Sigstore trusted root: it names ${root.certificateAuthorities.length} certificate authorities and ${root.tlogs.length} transparency logs, and keyless verification needs at least one of each.`,
    );
  }
  return {
    material: toTrustMaterial(root),
    source,
    ctlogThreshold: root.ctlogs.length > 0 ? 1 : 0,
    json,
  };
}

/** Reads a `trusted_root.json` file (a private Sigstore, GitHub's own instance for private repositories). */
export async function trustRootFromFile(path: string): Promise<TrustRoot> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`The trusted root ${path} could not be read: ${(error as Error).message}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError(`The trusted root ${path} is not JSON.`);
  }
  return trustRootFromJSON(json, `trusted root ${path}`);
}

interface Seeds {
  [mirror: string]: { targets: Record<string, string> };
}

/**
 * The public-good Sigstore root through TUF: refreshed from the mirror when it answers, otherwise the
 * trusted root embedded in @sigstore/tuf (its seed, signed and shipped with the package), with a warning.
 * A root that is merely old fails closed for keys added since; it never trusts more than it did.
 */
export async function publicGoodTrustRoot(
  options: { cachePath?: string; log?: Logger } = {},
): Promise<TrustRoot> {
  const log = options.log ?? silentLogger;
  try {
    const root = await getTrustedRoot({
      ...(options.cachePath === undefined ? {} : { cachePath: options.cachePath }),
      forceCache: true,
      retry: { retries: 1 },
      timeout: 5000,
    });
    return trustRootFromJSON(
      TrustedRoot.toJSON(root),
      `Sigstore public-good root (TUF ${DEFAULT_MIRROR_URL})`,
    );
  } catch (error) {
    const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Seeds;
    const seed = seeds[DEFAULT_MIRROR_URL]?.targets['trusted_root.json'];
    if (seed === undefined) throw error;
    log.warning(
      `The Sigstore TUF mirror ${DEFAULT_MIRROR_URL} could not be reached (${(error as Error).message}); using the trusted root embedded in @sigstore/tuf.`,
    );
    return trustRootFromJSON(
      JSON.parse(Buffer.from(seed, 'base64').toString('utf8')),
      'Sigstore public-good root (embedded TUF seed)',
    );
  }
}
