export {
  type Builder,
  type BuildRequest,
  type BuildTool,
  buildahCommands,
  dockerCommand,
  LAYOUT_TAG,
  OCI_RUNTIMES,
  resolveBuilder,
  resolveRuntime,
} from './builder.js';
export {
  checkPlatforms,
  checkProvenance,
  chooseSigning,
  parseBuildArgs,
  parseMergeDigests,
  registryCredentials,
  sigstoreEndpoints,
} from './checks.js';
export { BuildAndSignError, BuildOutputError, MergeError, registryAdvice } from './errors.js';
export { type BuildHost, type BuildLog, fullLog } from './host.js';
export {
  assertDistinctPlatforms,
  fetchPlatformManifest,
  imageIndex,
  type PushedManifest,
  platformOf,
  pushLayout,
} from './layout.js';
export {
  BUILDERS,
  type BuildAndSignOptions,
  type BuilderChoice,
  GHCR,
  INPUT,
  type SbomSource,
  SIGNING,
  type Signing,
  type SigningChoice,
  TLOG_UPLOAD,
  type TlogUpload,
} from './options.js';
export { type Attested, buildAndSign, type Outcome } from './pipeline.js';
export {
  answers,
  type ProcessRunner,
  type RunOptions,
  ToolError,
  toolEnvironment,
  toolFailed,
  toolNotStarted,
} from './process.js';
export {
  generateSbom,
  givenSbom,
  onPath,
  type Sbom,
  type SbomResult,
  type ScanTarget,
  syftCommand,
  trivyCommand,
} from './sbom.js';
export { createSigner, type ImageSigner } from './signer.js';
export {
  checkExtraTags,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  type OwnedTags,
  ownedTags,
  planTags,
  refTags,
  type SkippedTag,
  SLOTS,
  type TagContext,
  type TagPlan,
  tagOwner,
  tagSafe,
} from './tags.js';
