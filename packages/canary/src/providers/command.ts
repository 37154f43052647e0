import type { DeploymentTarget, TrafficProvider } from '../types.js';
import { runShell } from './shell.js';

export interface CommandProviderOptions {
  deploy: string;
  setWeight?: string;
  promote?: string;
  rollback: string;
  /** Working directory of the commands (the workspace). */
  cwd?: string;
  onOutput?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Runs the user's own commands with `sh -c`. The digest and weight reach them only as environment
 * variables (`DIGEST`, `WEIGHT`, `PREVIOUS_DIGEST`): the command text is never built from values, so
 * nothing in a value can be interpreted by the shell.
 */
export class CommandProvider implements TrafficProvider {
  readonly name = 'command';

  constructor(
    private readonly options: CommandProviderOptions,
    private readonly target: DeploymentTarget,
  ) {}

  deploy(weight: number): Promise<void> {
    return this.exec('deploy', this.options.deploy, weight);
  }

  async setWeight(weight: number): Promise<void> {
    if (this.options.setWeight !== undefined) await this.exec('set-weight', this.options.setWeight, weight);
  }

  async promote(): Promise<void> {
    if (this.options.promote !== undefined) await this.exec('promote', this.options.promote, 100);
  }

  rollback(): Promise<void> {
    return this.exec('rollback', this.options.rollback, 0);
  }

  private exec(what: string, command: string, weight: number): Promise<void> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DIGEST: this.target.digest,
      WEIGHT: String(weight),
      PREVIOUS_DIGEST: this.target.previousDigest ?? '',
    };
    return runShell(what, command, {
      env,
      ...(this.options.cwd === undefined ? {} : { cwd: this.options.cwd }),
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
      ...(this.options.onOutput === undefined ? {} : { onOutput: this.options.onOutput }),
    });
  }
}
