import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

/** The username Docker uses for an OAuth2 refresh token (`identitytoken` in config.json). */
export const IDENTITY_TOKEN_USER = '<token>';

/** Credentials and, for error messages, where they came from (never the secret itself). */
export interface ResolvedCredentials {
  credentials?: Credentials;
  source: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfig {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Docker Hub is stored under its historical index URL; the other names are accepted as aliases. */
const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG
    ? join(env.DOCKER_CONFIG, 'config.json')
    : join(homedir(), '.docker', 'config.json');
}

/** `https://ghcr.io/v1/` and `ghcr.io` name the same registry. */
function keyHost(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
}

function sameRegistry(key: string, registry: string): boolean {
  const host = keyHost(key);
  return host === registry || (DOCKER_HUB_KEYS.has(host) && DOCKER_HUB_KEYS.has(registry));
}

function entryCredentials(entry: AuthEntry, where: string): Credentials | undefined {
  if (entry.identitytoken) return { username: IDENTITY_TOKEN_USER, password: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new Error(
        `${where} has an "auth" that is not base64 of username:password: log in again to rewrite it`,
      );
    }
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  return undefined;
}

/**
 * Credentials for `registry` from a Docker config.json. An explicitly named file must exist; the
 * default one is optional, since most CI jobs pull public images without logging in.
 */
export async function dockerConfigCredentials(
  registry: string,
  explicitPath: string | undefined,
): Promise<ResolvedCredentials> {
  const path = explicitPath ?? defaultDockerConfigPath();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (explicitPath === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { source: `no credentials (no Docker config at ${path})` };
    }
    throw new Error(`could not read the Docker config ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch (error) {
    throw new Error(`the Docker config ${path} is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }

  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (!sameRegistry(key, registry)) continue;
    const where = `${path} (auths[${JSON.stringify(key)}])`;
    const credentials = entryCredentials(entry, where);
    if (credentials === undefined) continue;
    const who =
      credentials.username === IDENTITY_TOKEN_USER
        ? 'an identity token'
        : `user ${JSON.stringify(credentials.username)}`;
    return { credentials, source: `${who} from the Docker config ${where}` };
  }
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => sameRegistry(key, registry))?.[1];
  const store = helper ?? config.credsStore;
  if (store !== undefined) {
    return {
      source: `no credentials (${path} leaves ${registry} to docker-credential-${store}, a credential helper digestline does not run: pass the credentials in instead)`,
    };
  }
  return { source: `no credentials (none for ${registry} in ${path})` };
}
