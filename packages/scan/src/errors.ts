import { DigestlineError } from '@digestline/base';
/**
 * Something the user gave us is wrong (a report, the policy file, a pattern): the action layer turns it
 * into a ConfigurationError, so it reads as a fix to make in the workflow rather than as a crash.
 */
export class ScanInputError extends DigestlineError<'SCAN_INPUT'> {
  override name = 'ScanInputError';
  readonly file?: string;
  readonly line?: number;

  constructor(message: string, where: { file?: string; line?: number } = {}) {
    super(message, { code: 'SCAN_INPUT', fault: 'user' });
    this.file = where.file;
    this.line = where.line;
  }
}
