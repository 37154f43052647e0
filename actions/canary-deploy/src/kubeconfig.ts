import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, secret } from '@digestline/action-kit';
import { kubeconfigSecrets, loadKubeConfig } from '@digestline/canary';
import { Input } from './constants.js';

const quote = JSON.stringify;

/**
 * Reads the kubeconfig before anything else can log, so every token, password and client key in it is
 * masked, and checks that it names a cluster.
 */
export function readKubeconfig(path: string | undefined): void {
  const shown = quote(path ?? process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config'));
  let config: ReturnType<typeof loadKubeConfig>;
  try {
    config = loadKubeConfig(path);
  } catch (error) {
    throw new ConfigurationError(
      `The kubeconfig ${shown} cannot be read (${(error as Error).message}); check input "${Input.kubeconfig}" or KUBECONFIG.`,
    );
  }
  for (const value of kubeconfigSecrets(config)) secret(value);
  if (config.getCurrentCluster() === null) {
    throw new ConfigurationError(
      `The kubeconfig ${shown} has no current context with a cluster; set current-context in it.`,
    );
  }
}
