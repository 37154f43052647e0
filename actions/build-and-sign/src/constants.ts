/** Input and output names: the one place they are spelled (action.yml must match). */
export const INPUT = {
  image: 'image',
  context: 'context',
  file: 'file',
  platforms: 'platforms',
  buildArgs: 'build-args',
  tags: 'tags',
  builder: 'builder',
  push: 'push',
  tag: 'tag',
  registryUsername: 'registry-username',
  registryPassword: 'registry-password',
  githubToken: 'github-token',
  signing: 'signing',
  cosignPrivateKey: 'cosign-private-key',
  cosignPassword: 'cosign-password',
  sbom: 'sbom',
  provenance: 'provenance',
  mergeDigests: 'merge-digests',
} as const;

export const OUTPUT = {
  digest: 'digest',
  imageRef: 'image-ref',
  tags: 'tags',
  sbomPath: 'sbom-path',
  signatureRef: 'signature-ref',
} as const;

export const BUILDERS = ['auto', 'docker', 'buildah'] as const;
export type BuilderChoice = (typeof BUILDERS)[number];

export const SIGNING = ['auto', 'key', 'keyless', 'none'] as const;
export type SigningChoice = (typeof SIGNING)[number];

/** The registry whose default credentials are the workflow's own (`github.actor` and its token). */
export const GHCR = 'ghcr.io';
