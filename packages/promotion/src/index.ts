export { type CopyReport, copyWithEvidence } from './copy.js';
export { PromotionRefusedError, type RefusedCheck } from './errors.js';
export {
  checkStep,
  DEFAULT_ENVIRONMENTS,
  DEFAULT_TAG_TEMPLATE,
  digestProblem,
  environmentTag,
  type PromotionMode,
  parseLadder,
} from './ladder.js';
export {
  type DeploymentRecorder,
  type PassedCheck,
  type PromotionHooks,
  type PromotionRequest,
  type PromotionResult,
  promote,
  type Repository,
} from './promote.js';
export {
  findPromotionRecords,
  PROMOTION_PREDICATE_TYPE,
  type PromotionPredicate,
  promotionStatement,
  type RunContext,
  writePromotionRecord,
} from './record.js';
