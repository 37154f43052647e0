import { createOctokit, githubAttestations, idToken, log } from '@digestline/action-kit';
import {
  type KeylessSigner,
  keylessSigner,
  publicGoodTrustRoot,
  type SigstoreEndpoints,
  type TrustRoot,
  trustRootFromFile,
} from '@digestline/signing';

// What only a keyless setup needs (the TUF client, octokit for GitHub's attestations API), loaded by
// trust.ts when the inputs ask for it.

/** The trust root in the file given, else the public-good one through TUF. */
export function trustRoot(file: string | undefined): Promise<TrustRoot> {
  return file === undefined ? publicGoodTrustRoot({ log }) : trustRootFromFile(file);
}

export function attestationsSource(token: string, repository: string) {
  return githubAttestations(createOctokit(token), repository);
}

/** Signs with this job's OIDC identity, which the runner issues as the job's token. */
export function jobSigner(endpoints: SigstoreEndpoints): KeylessSigner {
  return keylessSigner({ getToken: idToken }, endpoints);
}
