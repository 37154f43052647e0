import { type Logger, silentLogger } from '@digestline/base';
import type { GitHubAttestations, IdentityTokenSource } from '@digestline/signing';
import type { ProcessRunner } from './process.js';

/** The one logger shape, and what a runner's log has beyond it. */
export interface BuildLog extends Logger {
  /** A notice for the run's page (an annotation on a runner); without it, logged as info. */
  notice?(message: string): void;
  /** Folds a long step's output (a runner's `::group::`); without it, the step just runs. */
  group?<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** What only the host of a run has: the action passes runner-backed ones, a test its own. */
export interface BuildHost {
  /** Runs the builder and the SBOM generator. */
  processes: ProcessRunner;
  /** The job's OIDC identity, for keyless signing; without it, `signing: keyless` is refused. */
  identityTokens?: IdentityTokenSource;
  /** GitHub's attestations API: keyless bundles are recorded there too, for `gh attestation verify`. */
  githubAttestations?: GitHubAttestations;
  log?: BuildLog;
}

/** `log` with its extras filled in: a notice as info, a group as a line before the step. */
export function fullLog(log: BuildLog = silentLogger): Required<BuildLog> {
  return {
    info: (message) => log.info(message),
    warning: (message) => log.warning(message),
    debug: (message) => log.debug(message),
    notice: (message) => (log.notice === undefined ? log.info(message) : log.notice(message)),
    group: (name, fn) => {
      if (log.group !== undefined) return log.group(name, fn);
      log.info(name);
      return fn();
    },
  };
}
