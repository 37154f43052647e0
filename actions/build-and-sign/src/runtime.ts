import { spawn } from 'node:child_process';
import {
  annotate,
  createOctokit,
  githubAttestations,
  hasIdToken,
  idToken,
  log,
} from '@digestline/action-kit';
import {
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

/**
 * What the build gets from the runner: its processes, its log and notices, the job's OIDC identity (with
 * `id-token: write`) and GitHub's attestations API for the workflow's repository (with a token).
 */
export function runnerHost(githubToken: string | undefined, repository: string): BuildHost {
  return {
    processes,
    ...(hasIdToken() ? { identityTokens: { getToken: idToken } } : {}),
    ...(githubToken === undefined || repository === ''
      ? {}
      : { githubAttestations: githubAttestations(createOctokit(githubToken), repository) }),
    log: { ...log, notice: (message) => annotate('notice', message) },
  };
}
