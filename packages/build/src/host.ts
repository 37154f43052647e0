import { type Logger, silentLogger } from '@digestline/base';
import type { SerializedBundle, Statement } from '@digestline/signing';
import type { ProcessRunner } from './process.js';

/**
 * Keyless signing: a Sigstore certificate for the job's OIDC identity signs the statement, and the
 * attestation is recorded with GitHub, so `gh attestation verify oci://…` finds it. It needs the job's
 * OIDC token, the public Sigstore services and the GitHub API, so the action passes one backed by GitHub's
 * attestation library; no test environment can reach them.
 */
export interface Attestor {
  attest(statement: Statement): Promise<SerializedBundle>;
}

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
  /** For keyless signing; without it, `signing: keyless` is refused. */
  attestor?: Attestor;
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
