import { spawn } from 'node:child_process';
import { attest } from '@actions/attest';
import { annotate, log } from '@digestline/action-kit';
import {
  type Attestor,
  type BuildHost,
  type ProcessRunner,
  toolEnvironment,
  toolFailed,
  toolNotStarted,
} from '@digestline/build';

/** Enough of a tool's output to quote its end when it fails. */
const KEEP_CHARS = 32_000;

/**
 * Tools run as the runner's children: with the step's environment less the inputs and the runner's
 * tokens (`toolEnvironment`), their output (when streamed) in the step log as it comes, and killed when
 * they outlive their timeout.
 */
const processes: ProcessRunner = {
  run: (command, args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        env: toolEnvironment(options),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const collect = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (options.stream) process.stdout.write(text);
        output += text;
        if (output.length > KEEP_CHARS) output = output.slice(-KEEP_CHARS / 4);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(toolNotStarted(command, error));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve(output);
        else reject(toolFailed(command, args, { code, signal }, output));
      });
    }),
};

/** GitHub's attestation library: a Sigstore certificate for the job's OIDC identity, recorded with GitHub. */
function githubAttestor(token: string): Attestor {
  return {
    async attest(statement) {
      const attestation = await attest({
        subjects: statement.subject,
        predicateType: statement.predicateType,
        predicate: statement.predicate as object,
        token,
      });
      return attestation.bundle;
    },
  };
}

/** What the build gets from the runner: its processes, its log and notices, and GitHub attestations. */
export function runnerHost(githubToken: string | undefined): BuildHost {
  return {
    processes,
    ...(githubToken === undefined ? {} : { attestor: githubAttestor(githubToken) }),
    log: { ...log, notice: (message) => annotate('notice', message) },
  };
}
