import { rename, writeFile } from 'node:fs/promises';
import { errorClass } from '@digestline/base';
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

/** An nginx value that is not what it claims to be: it would write configuration of its own. */
export class NginxConfigError extends errorClass('NginxConfigError', 'NGINX_CONFIG', 'user') {}

const SERVER =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$|^unix:\/[A-Za-z0-9_./-]+$/;
const UPSTREAM = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * What is wrong with an upstream name or a server address for the include file, or undefined. The file
 * is nginx configuration: a `;`, a brace or a new line in a value would add directives of its own.
 */
export function nginxValueProblem(kind: 'server' | 'upstream', value: string): string | undefined {
  if (kind === 'server') {
    return SERVER.test(value)
      ? undefined
      : `host:port (a host name, an IPv4 address or [IPv6], and a port) or unix:/path, such as 10.0.0.5:8080; got ${JSON.stringify(value)}`;
  }
  return UPSTREAM.test(value)
    ? undefined
    : `an upstream name of letters, digits, "_", "." and "-", such as app; got ${JSON.stringify(value)}`;
}

function checked(kind: 'server' | 'upstream', what: string, value: string): string {
  const problem = nginxValueProblem(kind, value);
  if (problem !== undefined) throw new NginxConfigError(`The nginx ${what} must be ${problem}.`);
  return value;
}

/** Percent with one decimal as integer weights (nginx weights are whole numbers of at least 1). */
const SCALE = 10;

/** The upstream block for a weight; a side with no share is marked `down` since nginx refuses weight=0. */
export function renderUpstream(options: NginxProviderOptions, weight: number): string {
  checked('upstream', 'upstream name', options.upstreamName);
  checked('server', 'stable server', options.stableServer);
  checked('server', 'canary server', options.canaryServer);
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
