import { DigestlineError, errorClass } from '@digestline/base';
/** Which gate refused a promotion; the action layer reports every kind as the user's to fix. */
export type RefusedCheck =
  | 'input'
  | 'path'
  | 'source-tag'
  | 'signature'
  | 'stage-proof'
  | 'rollback-record'
  | 'record-key';

/**
 * A promotion that must not happen as asked: a wrong input, a step the ladder does not allow, or a check
 * the digest failed. Thrown before anything is written, so the registry is exactly as it was.
 */
export class PromotionRefusedError extends DigestlineError<'PROMOTION_REFUSED'> {
  override name = 'PromotionRefusedError';
  constructor(
    readonly check: RefusedCheck,
    message: string,
  ) {
    super(message, { code: 'PROMOTION_REFUSED', fault: 'user' });
  }
}

/**
 * The tag moved but what must go with it (the signed record) could not be written, even after retries.
 * The message says what became of the tag: put back, left to another writer, or left without a record.
 */
export class PromotionIncompleteError extends errorClass(
  'PromotionIncompleteError',
  'PROMOTION_INCOMPLETE',
  'environment',
) {}
