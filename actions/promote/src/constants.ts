export const Input = {
  image: 'image',
  digest: 'digest',
  sourceEnv: 'source-env',
  targetEnv: 'target-env',
  environments: 'environments',
  mode: 'mode',
  tagTemplate: 'tag-template',
  verify: 'verify',
  publicKey: 'public-key',
  signatureReferences: 'signature-references',
  certificateIdentity: 'certificate-identity',
  certificateOidcIssuer: 'certificate-oidc-issuer',
  cosignPrivateKey: 'cosign-private-key',
  cosignPassword: 'cosign-password',
  requireStageProof: 'require-stage-proof',
  targetImage: 'target-image',
  registryUsername: 'registry-username',
  registryPassword: 'registry-password',
  targetRegistryUsername: 'target-registry-username',
  targetRegistryPassword: 'target-registry-password',
  githubToken: 'github-token',
  recordDeployment: 'record-deployment',
} as const;

export const Output = {
  imageRef: 'image-ref',
  previousDigest: 'previous-digest',
  promotedTag: 'promoted-tag',
  deploymentId: 'deployment-id',
} as const;

/** GitHub's container registry: the only one the workflow's GitHub token may be sent to. */
export const GHCR = 'ghcr.io';
