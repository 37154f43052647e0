export {
  type CopyOptions,
  type CopyProgress,
  type CopyReport,
  copyWithEvidence,
} from './copy.js';
export { PromotionIncompleteError, PromotionRefusedError, type RefusedCheck } from './errors.js';
export {
  checkStep,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  digestProblem,
  environmentTag,
  type PromotionMode,
  parseLadder,
} from './ladder.js';
export { promote } from './promote.js';
export {
  findPromotionRecords,
  PROMOTION_PREDICATE_TYPE,
  type PromotionPredicate,
  promotionStatement,
  type RunContext,
  writePromotionRecord,
} from './record.js';
export {
  type DeploymentRecorder,
  type PassedCheck,
  type PreparedPromotion,
  type PromotionRequest,
  type PromotionResult,
  type PromotionSettings,
  promotionRequest,
  type Repository,
} from './request.js';
export type { WriteRetry } from './retry.js';
