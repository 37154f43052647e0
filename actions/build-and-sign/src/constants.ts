/** Input names are spelled once, in @digestline/build, whose errors name them; action.yml must match. */
export { BUILDERS, INPUT, SIGNING, TLOG_UPLOAD } from '@digestline/build';

export const OUTPUT = {
  digest: 'digest',
  imageRef: 'image-ref',
  tags: 'tags',
  sbomPath: 'sbom-path',
  signatureRef: 'signature-ref',
} as const;
