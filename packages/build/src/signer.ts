import type { KeyObject } from 'node:crypto';
import { ConfigurationError } from '@digestline/base';
import type { RegistryClient } from '@digestline/oci';
import {
  type GitHubAttestations,
  KeyError,
  keyId,
  keylessSigner,
  keySigner,
  loadPrivateKey,
  type SerializedBundle,
  type SigstoreEndpoints,
  SigstoreError,
  type Statement,
  signImage,
  signImageKeyless,
  signStatement,
} from '@digestline/signing';
import type { BuildHost, BuildLog } from './host.js';
import { INPUT, type Signing } from './options.js';

/** How this run signs: the image itself (cosign format) and in-toto statements about it. */
export interface ImageSigner {
  /** For the summary: `key 3f2a…` or `keyless (Fulcio …, Rekor …)`. */
  description: string;
  /** Signs the image where cosign and GitHub look; returns where the signature is. */
  signImage(client: RegistryClient, repository: string, digest: string): Promise<string>;
  signStatement(statement: Statement): Promise<SerializedBundle>;
}

/**
 * Opens the key before anything is built or pushed, so a wrong password fails a run that changed
 * nothing.
 */
export async function createSigner(
  signing: Signing,
  host: Pick<BuildHost, 'identityTokens' | 'githubAttestations'>,
  log: Required<BuildLog>,
): Promise<ImageSigner | undefined> {
  if (signing.kind === 'none') return undefined;
  if (signing.kind === 'keyless') return keylessImageSigner(signing.sigstore, host, log);
  let key: KeyObject;
  try {
    key = await loadPrivateKey(signing.pem, signing.password);
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    throw new ConfigurationError(
      `Input "${INPUT.cosignPrivateKey}" could not be used: ${error.message}. Check "${INPUT.cosignPassword}" (the password given to cosign generate-key-pair) and that the secret holds the whole PEM.`,
    );
  }
  const signer = keySigner(key);
  let tlog = signing.tlog;
  return {
    description: `key ${keyId(key).slice(0, 16)}${tlog === undefined ? '' : `, logged in Rekor ${tlog.rekorURL}`}`,
    async signImage(client, repository, digest) {
      let result: Awaited<ReturnType<typeof signImage>>;
      try {
        result = await signImage(
          client,
          repository,
          digest,
          key,
          tlog === undefined ? {} : { rekorURL: tlog.rekorURL },
        );
      } catch (error) {
        if (!(error instanceof SigstoreError) || tlog === undefined || tlog.required) throw error;
        log.notice(
          `The key signature was not logged in Rekor (${error.message}): "cosign verify --key" needs "--insecure-ignore-tlog" for it. Set "${INPUT.tlogUpload}: true" to require the log, or "false" to skip it.`,
        );
        tlog = undefined;
        result = await signImage(client, repository, digest, key);
      }
      return `${client.registry}/${repository}:${result.tag}@${result.signatureDigest}`;
    },
    signStatement: (statement) => signStatement(statement, signer),
  };
}

/**
 * Keyless: the job's OIDC identity buys a Fulcio certificate, each signature is logged in Rekor (and
 * timestamped where a TSA is set). The image signature goes to the registry twice (cosign 3's referrer
 * bundle, cosign 2's `.sig` layer) and, like every attestation, to GitHub when the host can reach it.
 */
function keylessImageSigner(
  sigstore: SigstoreEndpoints,
  host: Pick<BuildHost, 'identityTokens' | 'githubAttestations'>,
  log: BuildLog,
): ImageSigner {
  if (host.identityTokens === undefined) {
    throw new ConfigurationError(
      `"${INPUT.signing}: keyless" needs the job's OIDC token: add "permissions: id-token: write" to the job.`,
    );
  }
  const signer = keylessSigner(host.identityTokens, sigstore);
  const github =
    host.githubAttestations === undefined ? undefined : recordingOnly(host.githubAttestations, log);
  return {
    description: `keyless (Fulcio ${sigstore.fulcioURL}, Rekor ${sigstore.rekorURL}${sigstore.tsaURL === undefined ? '' : `, TSA ${sigstore.tsaURL}`})`,
    async signImage(client, repository, digest) {
      const signed = await signImageKeyless(client, repository, digest, signer, {
        ...(github === undefined ? {} : { github }),
      });
      log.info(`Signed ${digest} keyless as ${signed.identity}.`);
      return `${client.registry}/${repository}@${signed.referrer}`;
    },
    async signStatement(statement) {
      const bundle = await signStatement(statement, signer);
      await github?.write(bundle);
      return bundle;
    },
  };
}

/**
 * GitHub's copy is for `gh attestation verify`; the registry holds the signatures that count here. A
 * token without `attestations: write` (or a plan without the API) costs a warning, not the build.
 */
function recordingOnly(github: GitHubAttestations, log: BuildLog): GitHubAttestations {
  let warned = false;
  return {
    ...github,
    async write(bundle: SerializedBundle) {
      try {
        return await github.write(bundle);
      } catch (error) {
        if (!warned) {
          log.warning(
            `The attestation was not recorded with GitHub (${github.repository}): ${(error as Error).message}. Give the job "permissions: attestations: write" for gh attestation verify to find it; the registry has the signature.`,
          );
        }
        warned = true;
        return { id: 0 };
      }
    },
  };
}
