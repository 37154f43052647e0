import { errorClass } from '@digestline/base';

export { ExitCode } from '@digestline/base';

/** The command line was wrong: exit 2, with the usage of the command. */
export class UsageError extends errorClass('UsageError', 'USAGE', 'user') {}

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Progress is redrawn in place on a terminal and printed at milestones otherwise. */
  isTTY: boolean;
}
