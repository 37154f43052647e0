import type { Command } from '../main.js';

export const verifyAttestationCommand: Command = {
  name: 'verify-attestation',
  summary:
    'Verifies a keyless Sigstore bundle (attestation) for a file or an image against a signer identity.',
  usage: `Usage: digestline verify-attestation <file | oci://image@digest> [--bundle <file>]
         (--certificate-identity <uri> | --certificate-identity-regexp <re>)
         --certificate-oidc-issuer <url> [--trusted-root <file>] [--predicate-type <uri>]

  --bundle <file>                         the sigstore bundle (.sigstore.json) to verify; required for a
                                          file, for an image the registry is searched (its referrer
                                          signature, then cosign's .sig; with --predicate-type, its
                                          attestations of that type)
  --certificate-identity <uri>            the signer identity the certificate must name, e.g.
                                          https://github.com/OWNER/REPO/.github/workflows/build.yml@refs/heads/main
  --certificate-identity-regexp <re>      or: a regular expression the whole identity must match
  --certificate-oidc-issuer <url>         the OIDC issuer, e.g. https://token.actions.githubusercontent.com
  --certificate-github-workflow-repository <owner/repo>
                                          also require the repository the workflow ran in
  --certificate-github-workflow-ref <ref> also require the ref it ran for (refs/heads/main)
  --certificate-github-workflow-sha <sha> also require the commit it ran for
  --trusted-root <file>                   trusted_root.json of the Sigstore instance (private Sigstore,
                                          GitHub's instance); default: the public-good root through TUF
  --predicate-type <uri>                  the in-toto predicate type the statement must have

The bundle must be about the artifact: a file by its sha256 or sha512, an image by its manifest
digest (oci://registry/repository@sha256:…; registry credentials from ~/.docker/config.json). Exits 0 when it verifies, 1 when it does not (with the
reason), 2 when the command line is wrong (for example no identity or no issuer).`,
  options: {
    bundle: { type: 'string' },
    'certificate-identity': { type: 'string' },
    'certificate-identity-regexp': { type: 'string' },
    'certificate-oidc-issuer': { type: 'string' },
    'certificate-github-workflow-repository': { type: 'string' },
    'certificate-github-workflow-ref': { type: 'string' },
    'certificate-github-workflow-sha': { type: 'string' },
    'trusted-root': { type: 'string' },
    'predicate-type': { type: 'string' },
  },
  run: async (args, io) => (await import('./verify-attestation-run.js')).verifyAttestation(args, io),
};
