/** The command line was wrong: exit 2, with the usage of the command. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

export const ExitCode = {
  ok: 0,
  /** A gate failed, a verification failed, or a promotion was refused. */
  failed: 1,
  usage: 2,
  /** The command could not finish: a registry or database did not answer, or a bug. */
  error: 3,
} as const;

export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Progress is redrawn in place on a terminal and printed at milestones otherwise. */
  isTTY: boolean;
}
