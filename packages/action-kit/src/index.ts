export { ConfigurationError, DigestlineError } from '@digestline/base';
export { githubAttestations } from './attestations.js';
export { type EventPayload, type GitHubContext, githubContext } from './context.js';
export {
  booleanInput,
  durationInput,
  enumInput,
  listInput,
  optionalString,
  parseBoolean,
  parseDuration,
  parseList,
  parsePercentage,
  parsePositiveInteger,
  percentageInput,
  positiveIntegerInput,
  requiredString,
} from './inputs.js';
export { type AnnotationLocation, annotate, log } from './log.js';
export { createAtMostOnce, createOctokit, type Octokit, type OctokitOptions } from './octokit.js';
export { hasIdToken, idToken } from './oidc.js';
export { type OutputValue, secret, setOutput, setOutputs } from './outputs.js';
export { run } from './run.js';
export { getState, isPost, saveState } from './state.js';
export { details, fitSummary, mermaid, SUMMARY_LIMIT_BYTES, table, writeSummary } from './summary.js';
