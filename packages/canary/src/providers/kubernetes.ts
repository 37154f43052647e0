import { describeError } from '@digestline/base';
import {
  ApiException,
  AppsV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import type { DeploymentTarget, TrafficProvider } from '../types.js';
import { KubernetesError, type KubernetesProviderOptions } from './kubernetes-options.js';

export { KubernetesError, type KubernetesProviderOptions } from './kubernetes-options.js';

const CANARY_ANNOTATION = 'nginx.ingress.kubernetes.io/canary';
const CANARY_WEIGHT_ANNOTATION = 'nginx.ingress.kubernetes.io/canary-weight';
const FIELD_MANAGER = 'digestline-canary';
const ISTIO = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' } as const;

type JsonPatch = Array<{ op: 'test' | 'replace' | 'add'; path: string; value: unknown }>;

/** Which object a request was about, so an API error can name it and the permission it lacks. */
interface Subject {
  kind: string;
  /** `apps/deployments`, `networking.k8s.io/ingresses`, … as an RBAC rule spells it. */
  apiGroup: string;
  resource: string;
  name: string;
  /** The input that names the object. */
  input: string;
}

/** Loads the kubeconfig the way kubectl would: the given file, or `KUBECONFIG`, or `~/.kube/config`. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const config = new KubeConfig();
  if (path === undefined) config.loadFromDefault();
  else config.loadFromFile(path);
  return config;
}

/** Names of settings that hold a credential: `id-token`, `client-secret`, `AWS_SECRET_ACCESS_KEY`, `--token`… */
const CREDENTIAL_NAME = /token|secret|password|passwd|key|credential/i;

interface ExecConfig {
  args?: unknown[];
  env?: { name?: unknown; value?: unknown }[];
}

/** Credentials handed to an exec plugin: env values and `--flag=value` / `--flag value` args with a credential name. */
function execSecrets(exec: ExecConfig | undefined): unknown[] {
  const env = (exec?.env ?? [])
    .filter((e) => typeof e.name === 'string' && CREDENTIAL_NAME.test(e.name))
    .map((e) => e.value);
  const args = (exec?.args ?? []).map(String);
  const fromArgs = args.flatMap((arg, i) => {
    const inline = /^--?([^=]+)=(.*)$/s.exec(arg);
    if (inline !== null) return CREDENTIAL_NAME.test(inline[1] as string) ? [inline[2]] : [];
    return /^--?\w/.test(arg) && CREDENTIAL_NAME.test(arg) && args[i + 1] !== undefined ? [args[i + 1]] : [];
  });
  return [...env, ...fromArgs];
}

/** Every credential in the kubeconfig that must never reach a log (tokens, passwords, client keys, plugin secrets). */
export function kubeconfigSecrets(config: KubeConfig): string[] {
  return config
    .getUsers()
    .flatMap((user) => [
      user.token,
      user.password,
      user.keyData,
      // client-key-data is base64; the decoded PEM is what a debug dump of the TLS options would show.
      user.keyData === undefined ? undefined : Buffer.from(user.keyData, 'base64').toString('utf8'),
      ...execSecrets(user.exec as ExecConfig | undefined),
      ...Object.entries((user.authProvider?.config ?? {}) as Record<string, unknown>)
        .filter(([name]) => CREDENTIAL_NAME.test(name))
        .map(([, value]) => value),
    ])
    .filter((value): value is string => typeof value === 'string' && value !== '');
}

function statusMessage(body: unknown): string {
  if (typeof body !== 'string' || body === '') return '';
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {}
  return body.slice(0, 300);
}

/** The namespaced rule a Role needs, written the way a user would paste it into the Role. */
function rule(subject: Subject, verb: string): string {
  return `{apiGroups: ["${subject.apiGroup}"], resources: ["${subject.resource}"], verbs: ["${verb}"]}`;
}

/**
 * The canary runs in its own Deployment; traffic reaches it through an ingress-nginx canary Ingress
 * (`canary-weight` annotation) or an Istio VirtualService (route weights of the stable and canary
 * subsets). Every change is a patch that touches only the fields it owns, guarded by JSON Patch `test`
 * operations where positions in a list matter, so a concurrent edit fails the patch instead of being
 * overwritten. Promotion leaves the canary at its last weight: moving stable to the digest belongs to
 * the `promote` action and the user's own rollout, as with the other providers.
 */
export class KubernetesProvider implements TrafficProvider {
  readonly name = 'kubernetes';
  private readonly apps: AppsV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(
    private readonly options: KubernetesProviderOptions,
    /** `registry/repository` of the image, and the digests to run. */
    private readonly target: DeploymentTarget & { image: string },
    config: KubeConfig = loadKubeConfig(options.kubeconfig),
  ) {
    this.apps = config.makeApiClient(AppsV1Api);
    this.networking = config.makeApiClient(NetworkingV1Api);
    this.custom = config.makeApiClient(CustomObjectsApi);
  }

  /**
   * Reads every object and sends the deploy patches as a server-side dry run, before anything changes:
   * a missing object, a missing container or route, or a missing RBAC permission is found here.
   */
  async preflight(): Promise<void> {
    await this.setImage(this.digestImage(this.target.digest), true);
    await this.applyWeight(0, true);
  }

  async deploy(weight: number): Promise<void> {
    await this.setImage(this.digestImage(this.target.digest), false);
    await this.applyWeight(weight, false);
  }

  setWeight(weight: number): Promise<void> {
    return this.applyWeight(weight, false);
  }

  async promote(): Promise<void> {}

  /**
   * Traffic first (that is what users feel), then the image. Without a previous digest the canary
   * Deployment keeps the new image, but no request reaches it.
   */
  async rollback(): Promise<void> {
    await this.applyWeight(0, false);
    if (this.target.previousDigest !== undefined) {
      await this.setImage(this.digestImage(this.target.previousDigest), false);
    }
  }

  private digestImage(digest: string): string {
    return `${this.target.image}@${digest}`;
  }

  private get deployment(): Subject {
    return {
      kind: 'Deployment',
      apiGroup: 'apps',
      resource: 'deployments',
      name: this.options.canaryDeployment,
      input: 'canary-deployment',
    };
  }

  private async setImage(image: string, dryRun: boolean): Promise<void> {
    const { namespace, container, canaryDeployment: name } = this.options;
    const subject = this.deployment;
    const current = await this.call(subject, 'get', () =>
      this.apps.readNamespacedDeployment({ name, namespace }),
    );
    const containers = current.spec?.template.spec?.containers ?? [];
    const index = containers.findIndex((c) => c.name === container);
    if (index === -1) {
      throw new KubernetesError(
        `Deployment ${namespace}/${name} has no container "${container}" (it has ${containers.map((c) => `"${c.name}"`).join(', ') || 'none'}); set the "container" input to the one that runs the image`,
      );
    }
    const path = `/spec/template/spec/containers/${index}`;
    const body: JsonPatch = [
      { op: 'test', path: `${path}/name`, value: container },
      { op: 'replace', path: `${path}/image`, value: image },
    ];
    await this.call(subject, 'patch', () =>
      this.apps.patchNamespacedDeployment(
        { name, namespace, body, fieldManager: FIELD_MANAGER, ...(dryRun ? { dryRun: 'All' } : {}) },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
  }

  private async applyWeight(weight: number, dryRun: boolean): Promise<void> {
    // Both ingress-nginx (with the default canary-weight-total of 100) and Istio take whole percents.
    const canary = Math.min(100, Math.max(0, Math.round(weight)));
    const dry = dryRun ? { dryRun: 'All' } : {};
    const { namespace } = this.options;
    if (this.options.mode === 'ingress-nginx') {
      const name = this.options.canaryIngress;
      const subject: Subject = {
        kind: 'Ingress',
        apiGroup: 'networking.k8s.io',
        resource: 'ingresses',
        name,
        input: 'canary-ingress',
      };
      // `canary: "true"` stays even at weight 0: without it the canary Ingress would claim the host.
      const body = {
        metadata: {
          annotations: { [CANARY_ANNOTATION]: 'true', [CANARY_WEIGHT_ANNOTATION]: String(canary) },
        },
      };
      await this.call(subject, 'patch', () =>
        this.networking.patchNamespacedIngress(
          { name, namespace, body, fieldManager: FIELD_MANAGER, ...dry },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      return;
    }
    const { virtualService: name, stableSubset, canarySubset } = this.options;
    const subject: Subject = {
      kind: 'VirtualService',
      apiGroup: ISTIO.group,
      resource: ISTIO.plural,
      name,
      input: 'virtual-service',
    };
    const current = await this.call(subject, 'get', () =>
      this.custom.getNamespacedCustomObject({ ...ISTIO, namespace, name }),
    );
    const body = virtualServiceWeightPatch(
      current,
      { stableSubset, canarySubset },
      canary,
      `${namespace}/${name}`,
    );
    await this.call(subject, 'patch', () =>
      this.custom.patchNamespacedCustomObject(
        { ...ISTIO, namespace, name, body, fieldManager: FIELD_MANAGER, ...dry },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
  }

  /** Runs one API request and turns its failure into a message that names the object and the fix. */
  private async call<T>(subject: Subject, verb: 'get' | 'patch', request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (!(error instanceof ApiException)) {
        throw new KubernetesError(
          `could not reach the Kubernetes API to ${verb} ${subject.kind} ${this.options.namespace}/${subject.name} (${describeError(error)}); check the server in the kubeconfig and the network`,
          undefined,
          { cause: error },
        );
      }
      throw this.explain(subject, verb, error);
    }
  }

  private explain(subject: Subject, verb: string, error: ApiException<unknown>): KubernetesError {
    const { namespace } = this.options;
    const what = `${subject.kind} ${namespace}/${subject.name}`;
    const said = statusMessage(error.body);
    const detail = said === '' ? `HTTP ${error.code}` : `HTTP ${error.code}: ${said}`;
    let message: string;
    if (error.code === 404) {
      const crd =
        subject.kind === 'VirtualService' ? ', or install Istio (its networking.istio.io/v1 CRDs)' : '';
      message = `${what} was not found (${detail}); create it first, or fix the "${subject.input}" and "kubernetes-namespace" inputs${crd}`;
    } else if (error.code === 403) {
      message = `the kubeconfig's user may not ${verb} ${subject.resource}.${subject.apiGroup} in namespace ${namespace} (${detail}); grant the RBAC verb "${verb}" with a Role rule ${rule(subject, verb)} bound to that user`;
    } else if (error.code === 401) {
      message = `the Kubernetes API rejected the kubeconfig's credentials (${detail}); refresh the token or client certificate in the kubeconfig`;
    } else if (error.code === 409 || error.code === 422) {
      message = `${what} was changed by someone else or refused the change (${detail}); run the canary again once nothing else edits it`;
    } else {
      message = `the Kubernetes API answered ${detail} to ${verb} ${what}`;
    }
    return new KubernetesError(message, error.code, { cause: error });
  }
}

interface RouteDestination {
  destination?: { host?: string; subset?: string };
  weight?: number;
}

/**
 * The JSON Patch that sets the weights of the stable and canary subsets in every HTTP route of a
 * VirtualService that sends to both, so that each such route sums to 100. Each change is preceded by a
 * `test` of the subset at that position: a route list edited meanwhile fails the patch instead of
 * getting weights on the wrong destinations.
 */
function virtualServiceWeightPatch(
  virtualService: unknown,
  subsets: { stableSubset: string; canarySubset: string },
  weight: number,
  name: string,
): JsonPatch {
  const http =
    (virtualService as { spec?: { http?: Array<{ route?: RouteDestination[] }> } }).spec?.http ?? [];
  const patch: JsonPatch = [];
  http.forEach((route, i) => {
    const destinations = route.route ?? [];
    const stable = destinations.findIndex((d) => d.destination?.subset === subsets.stableSubset);
    const canary = destinations.findIndex((d) => d.destination?.subset === subsets.canarySubset);
    if (stable === -1 || canary === -1) return;
    if (destinations.length !== 2) {
      throw new KubernetesError(
        `VirtualService ${name}: spec.http[${i}] routes to ${destinations.length} destinations; a canary route must send to exactly the "${subsets.stableSubset}" and "${subsets.canarySubset}" subsets so their weights can sum to 100`,
      );
    }
    for (const [index, subset, share] of [
      [stable, subsets.stableSubset, 100 - weight],
      [canary, subsets.canarySubset, weight],
    ] as const) {
      const path = `/spec/http/${i}/route/${index}`;
      patch.push({ op: 'test', path: `${path}/destination/subset`, value: subset });
      // `add` sets the member whether or not the route had a weight before.
      patch.push({ op: 'add', path: `${path}/weight`, value: share });
    }
  });
  if (patch.length === 0) {
    throw new KubernetesError(
      `VirtualService ${name} has no HTTP route with destinations for both subsets "${subsets.stableSubset}" and "${subsets.canarySubset}"; add such a route, or fix the "stable-subset" and "canary-subset" inputs`,
    );
  }
  return patch;
}
