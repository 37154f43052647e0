import { DigestlineError } from '@digestline/base';

// Apart from the provider, which loads the Kubernetes client: a canary on another provider never needs it.

export type KubernetesProviderOptions = {
  /** The kubeconfig file; without it, the runner's default (`KUBECONFIG`, else `~/.kube/config`). */
  kubeconfig?: string;
  namespace: string;
  /** The Deployment that runs the canary, and the name of its container that gets the digest. */
  canaryDeployment: string;
  container: string;
} & (
  | { mode: 'ingress-nginx'; canaryIngress: string }
  | { mode: 'istio'; virtualService: string; stableSubset: string; canarySubset: string }
);

export class KubernetesError extends DigestlineError<'KUBERNETES_REFUSED' | 'KUBERNETES_UNAVAILABLE'> {
  override name = 'KubernetesError';

  constructor(
    message: string,
    /** The HTTP status from the API server; undefined when no answer came. */
    readonly status?: number,
    options: { cause?: unknown } = {},
  ) {
    // 4xx: wrong names, credentials or permissions, which the user fixes; the rest is the cluster's trouble.
    const refused = status !== undefined && status >= 400 && status < 500 && status !== 429;
    super(message, {
      code: refused ? 'KUBERNETES_REFUSED' : 'KUBERNETES_UNAVAILABLE',
      fault: refused ? 'user' : 'environment',
      cause: options.cause,
    });
  }
}
