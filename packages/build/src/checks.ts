import { ConfigurationError } from '@digestline/base';
import { type Credentials, type ImageReference, isDigest, parseReference } from '@digestline/oci';
import { parseSigstoreEndpoints, type SigstoreEndpoints } from '@digestline/signing';
import { GHCR, INPUT, type Signing, type SigningChoice, type TlogUpload } from './options.js';

/*
 * The checks a run's options must pass before anything is built: each names the input to fix and how.
 */

const quote = JSON.stringify;
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** os/arch[/variant], each once; none given means linux/amd64. */
export function checkPlatforms(platforms: string[]): string[] {
  if (platforms.length === 0) return ['linux/amd64'];
  for (const platform of platforms) {
    if (!PLATFORM.test(platform)) {
      throw new ConfigurationError(
        `Input "${INPUT.platforms}" must list platforms as os/arch[/variant] such as linux/amd64 or linux/arm64/v8; got ${quote(platform)}.`,
      );
    }
  }
  if (new Set(platforms).size !== platforms.length) {
    throw new ConfigurationError(
      `Input "${INPUT.platforms}" lists a platform twice: ${platforms.join(', ')}.`,
    );
  }
  return platforms;
}

/** One NAME=value per line: a value may itself contain commas, which the usual list splitting would break. */
export function parseBuildArgs(raw: string): string[] {
  const args = raw
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  for (const arg of args) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) {
      throw new ConfigurationError(
        `Input "${INPUT.buildArgs}" must hold one NAME=value per line; got ${quote(arg)}.`,
      );
    }
  }
  return args;
}

/**
 * The digests to merge, each `sha256:…` or `<image>@sha256:…`: an index can only hold manifests of its
 * own repository, and it is written to the registry, which `push: false` forbids.
 */
export function parseMergeDigests(entries: string[], image: ImageReference, push: boolean): string[] {
  const digests = entries.map((entry) => mergeDigest(entry, image));
  if (digests.length > 0 && !push) {
    throw new ConfigurationError(
      `Input "${INPUT.mergeDigests}" merges manifests already in the registry into an index there, which "${INPUT.push}: false" forbids; remove one of the two.`,
    );
  }
  return digests;
}

function mergeDigest(entry: string, image: ImageReference): string {
  if (isDigest(entry)) return entry;
  const at = entry.lastIndexOf('@');
  const digest = entry.slice(at + 1);
  let name: string | undefined;
  try {
    name = at > 0 && isDigest(digest) ? parseReference(entry).name : undefined;
  } catch {
    name = undefined;
  }
  if (name === undefined) {
    throw new ConfigurationError(
      `Input "${INPUT.mergeDigests}" must list sha256:<64 hex> digests (or ${image.name}@sha256:…), one per platform; got ${quote(entry)}.`,
    );
  }
  if (name !== image.name) {
    throw new ConfigurationError(
      `Input "${INPUT.mergeDigests}" names ${quote(entry)}, which is not in ${image.name}: an index can only hold manifests of its own repository; push every platform to "${INPUT.image}".`,
    );
  }
  return digest;
}

/**
 * The credentials given, or on GitHub's own registry the workflow's (`github.actor` and its token): the
 * workflow's token is only ever sent to ghcr.io.
 */
export function registryCredentials(
  registry: string,
  given: { username?: string; password?: string },
  workflow: { actor?: string; token?: string },
): Credentials | undefined {
  const onGhcr = registry === GHCR;
  const username = given.username ?? (onGhcr ? workflow.actor : undefined);
  const password = given.password ?? (onGhcr ? workflow.token : undefined);
  if (username === undefined && password === undefined) return undefined;
  if (username === undefined || password === undefined) {
    const missing = username === undefined ? INPUT.registryUsername : INPUT.registryPassword;
    throw new ConfigurationError(
      `Registry credentials for ${registry} need both "${INPUT.registryUsername}" and "${INPUT.registryPassword}"; "${missing}" is empty.`,
    );
  }
  return { username, password };
}

/**
 * `auto` signs with the key when there is one, else keyless when the job has an OIDC token. A key
 * signature is logged in Rekor too unless `tlog-upload: false`.
 */
export function chooseSigning(
  choice: SigningChoice,
  key: { pem?: string; password: string },
  hasOidcToken: boolean,
  sigstore: SigstoreEndpoints,
  tlogUpload: TlogUpload = 'auto',
): Signing {
  if (choice === 'none') return { kind: 'none' };
  if (choice === 'key' || (choice === 'auto' && key.pem !== undefined)) {
    if (key.pem === undefined) {
      throw new ConfigurationError(
        `"${INPUT.signing}: key" needs a key: set "${INPUT.cosignPrivateKey}" to the cosign private key (e.g. \${{ secrets.COSIGN_PRIVATE_KEY }}) and "${INPUT.cosignPassword}" to its password.`,
      );
    }
    return {
      kind: 'key',
      pem: key.pem,
      password: key.password,
      ...(tlogUpload === 'false'
        ? {}
        : { tlog: { rekorURL: sigstore.rekorURL, required: tlogUpload === 'true' } }),
    };
  }
  if (hasOidcToken) return { kind: 'keyless', sigstore };
  if (choice === 'keyless') {
    throw new ConfigurationError(
      `"${INPUT.signing}: keyless" needs the job's OIDC token, which this job does not have: add "permissions: id-token: write" to the job (and keep "contents: read").`,
    );
  }
  throw new ConfigurationError(
    `"${INPUT.signing}: auto" found neither a key nor an OIDC token: set "${INPUT.cosignPrivateKey}" to sign with a key, add "permissions: id-token: write" to the job to sign keyless, or set "${INPUT.signing}: none" to push unsigned.`,
  );
}

/** Provenance names the workflow that built the image. */
export function checkProvenance(signing: Signing, provenance: boolean, workflowRef: string): void {
  if (provenance && signing.kind !== 'none' && workflowRef === '') {
    throw new ConfigurationError(
      `Input "${INPUT.provenance}" is true, but GITHUB_WORKFLOW_REF is not set (GitHub runners always set it): provenance needs the workflow that built the image; set "${INPUT.provenance}: false" when running elsewhere.`,
    );
  }
}

/**
 * The Sigstore instance keyless signing uses: the public-good Fulcio and Rekor unless the inputs name
 * others (a private Sigstore); a timestamp authority only when "tsa-url" is set.
 */
export function sigstoreEndpoints(given: {
  fulcio?: string;
  rekor?: string;
  tsa?: string;
}): SigstoreEndpoints {
  return parseSigstoreEndpoints(given, { fulcio: INPUT.fulcioUrl, rekor: INPUT.rekorUrl, tsa: INPUT.tsaUrl });
}
