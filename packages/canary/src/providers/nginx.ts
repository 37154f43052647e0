import { rename, writeFile } from 'node:fs/promises';
import type { TrafficProvider } from '../types.js';
import { runShell } from './shell.js';

export interface NginxProviderOptions {
  /** The include file this provider owns: it holds one `upstream` block and nothing else. */
  configPath: string;
  reloadCommand: string;
  /** `host:port` of the stable and canary servers. */
  stableServer: string;
  canaryServer: string;
  upstreamName: string;
}

/** Percent with one decimal as integer weights (nginx weights are whole numbers of at least 1). */
const SCALE = 10;

/** The upstream block for a weight; a side with no share is marked `down` since nginx refuses weight=0. */
export function renderUpstream(options: NginxProviderOptions, weight: number): string {
  const canary = Math.round(weight * SCALE);
  const stable = 100 * SCALE - canary;
  const server = (address: string, share: number) =>
    share === 0 ? `  server ${address} down;` : `  server ${address} weight=${share};`;
  return [
    '# Written by digestline canary-deploy; changes here are overwritten.',
    `upstream ${options.upstreamName} {`,
    server(options.stableServer, stable),
    server(options.canaryServer, canary),
    '}',
    '',
  ].join('\n');
}

/** Splits traffic with weighted servers in an upstream include file and reloads nginx. */
export class NginxProvider implements TrafficProvider {
  readonly name = 'nginx';

  constructor(private readonly options: NginxProviderOptions) {}

  deploy(weight: number): Promise<void> {
    return this.setWeight(weight);
  }

  async setWeight(weight: number): Promise<void> {
    // Written beside and renamed, so a reload never reads half a file.
    const temporary = `${this.options.configPath}.digestline-tmp`;
    await writeFile(temporary, renderUpstream(this.options, weight));
    await rename(temporary, this.options.configPath);
    await runShell('nginx reload', this.options.reloadCommand);
  }

  promote(): Promise<void> {
    return this.setWeight(100);
  }

  rollback(): Promise<void> {
    return this.setWeight(0);
  }
}
