import type { Octokit } from './octokit.js';

/** A sigstore bundle in its JSON form, as GitHub's attestations API stores and returns it. */
type Bundle = { mediaType?: string; [field: string]: unknown };

/**
 * GitHub's artifact attestations API for one repository, on the octokit of createOctokit(): writing
 * needs `attestations: write`, reading `attestations: read` (or a public repository). The shape is the
 * one @digestline/signing's GitHubAttestations declares.
 */
export function githubAttestations(octokit: Octokit, repository: string) {
  const [owner = '', repo = ''] = repository.split('/');
  return {
    repository,
    async write(bundle: Bundle): Promise<{ id: number }> {
      const response = await octokit.request('POST /repos/{owner}/{repo}/attestations', {
        owner,
        repo,
        bundle: bundle as never,
      });
      return { id: response.data.id ?? 0 };
    },
    async list<B extends Bundle>(subjectDigest: string): Promise<B[]> {
      const response = await octokit.request('GET /repos/{owner}/{repo}/attestations/{subject_digest}', {
        owner,
        repo,
        subject_digest: subjectDigest,
        per_page: 100,
      });
      return (response.data.attestations ?? [])
        .map((attestation) => attestation.bundle as B | undefined)
        .filter((bundle): bundle is B => bundle !== undefined);
    },
  };
}
