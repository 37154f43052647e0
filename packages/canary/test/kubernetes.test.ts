import { makeTempDir } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  KubernetesError,
  KubernetesProvider,
  type KubernetesProviderOptions,
  kubeconfigSecrets,
  loadKubeConfig,
} from '../src/index.js';
import {
  deploymentObject,
  ingressObject,
  type KubeApi,
  paths,
  startKubeApi,
  virtualServiceObject,
} from './kube-api.js';

const namespace = 'shop';
const image = 'registry.example.com/shop/web';
const digest = `sha256:${'a'.repeat(64)}`;
const previousDigest = `sha256:${'b'.repeat(64)}`;
const deploymentPath = paths.deployment(namespace, 'web-canary');
const ingressPath = paths.ingress(namespace, 'web-canary');
const vsPath = paths.virtualService(namespace, 'web');

let api: KubeApi;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let kubeconfig: string;

beforeAll(async () => {
  [api, temp] = await Promise.all([startKubeApi(), makeTempDir('kube')]);
  kubeconfig = await api.writeKubeconfig(temp.path);
});
afterAll(async () => {
  await api?.stop();
  await temp?.remove();
});
beforeEach(() => {
  api.requests.length = 0;
  api.forbidden.clear();
  api.objects.clear();
  api.objects.set(deploymentPath, deploymentObject(namespace, 'web-canary', `${image}@${previousDigest}`));
  api.objects.set(ingressPath, ingressObject(namespace, 'web-canary'));
  api.objects.set(vsPath, virtualServiceObject(namespace, 'web'));
});

const common = { namespace, canaryDeployment: 'web-canary', container: 'web' };
const nginxOptions = (): KubernetesProviderOptions => ({
  ...common,
  kubeconfig,
  mode: 'ingress-nginx',
  canaryIngress: 'web-canary',
});
const istioOptions = (): KubernetesProviderOptions => ({
  ...common,
  kubeconfig,
  mode: 'istio',
  virtualService: 'web',
  stableSubset: 'stable',
  canarySubset: 'canary',
});
const provider = (
  options: KubernetesProviderOptions,
  previous: { previousDigest?: string } = { previousDigest },
) => new KubernetesProvider(options, { image, digest, ...previous });

/** What every request carries: the kubeconfig's token, and our field manager on writes. */
function expectAuthenticated() {
  for (const r of api.requests) expect(r.authorization).toBe(`Bearer ${api.token}`);
  for (const r of api.requests.filter((r) => r.method === 'PATCH'))
    expect(r.query.fieldManager).toBe('digestline-canary');
}

const imagePatch = (value: string) => ({
  method: 'PATCH',
  path: deploymentPath,
  contentType: 'application/json-patch+json',
  body: [
    { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'web' },
    { op: 'replace', path: '/spec/template/spec/containers/1/image', value },
  ],
});
const annotationPatch = (weight: string) => ({
  method: 'PATCH',
  path: ingressPath,
  contentType: 'application/merge-patch+json',
  body: {
    metadata: {
      annotations: {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': weight,
      },
    },
  },
});
const requestsSeen = () =>
  api.requests.map(({ method, path, contentType, body }) => ({
    method,
    path,
    ...(method === 'PATCH' ? { contentType, body } : {}),
  }));

describe('kubernetes provider, ingress-nginx mode, against a local API server', () => {
  test('deploy sets the container image by JSON patch, then the canary-weight annotation by merge patch', async () => {
    await provider(nginxOptions()).deploy(5);
    expect(requestsSeen()).toEqual([
      { method: 'GET', path: deploymentPath },
      imagePatch(`${image}@${digest}`),
      annotationPatch('5'),
    ]);
    expectAuthenticated();
    const deployment = api.objects.get(deploymentPath) as ReturnType<typeof deploymentObject>;
    expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual([
      'fluent/fluent-bit:3.0',
      `${image}@${digest}`,
    ]);
  });

  test('the Ingress patch touches only metadata.annotations, with string values, and keeps other annotations', async () => {
    const before = ingressObject(namespace, 'web-canary');
    await provider(nginxOptions()).setWeight(25.4);
    const [patch] = api.requests;
    const body = patch?.body as { metadata: { annotations: Record<string, unknown> } };
    expect(Object.keys(body)).toEqual(['metadata']);
    expect(Object.keys(body.metadata)).toEqual(['annotations']);
    // The API server rejects a non-string annotation value (map[string]string).
    for (const value of Object.values(body.metadata.annotations)) expect(typeof value).toBe('string');
    const after = api.objects.get(ingressPath) as typeof before;
    expect(after).toEqual({
      ...before,
      metadata: {
        ...before.metadata,
        annotations: { ...before.metadata.annotations, 'nginx.ingress.kubernetes.io/canary-weight': '25' },
      },
    });
    expect(after.apiVersion).toBe('networking.k8s.io/v1');
  });

  test('rollback sends weight 0 first, keeps canary "true", then restores the previous digest', async () => {
    await provider(nginxOptions()).rollback();
    expect(requestsSeen()).toEqual([
      annotationPatch('0'),
      { method: 'GET', path: deploymentPath },
      imagePatch(`${image}@${previousDigest}`),
    ]);
  });

  test('rollback without a previous digest only takes the traffic away', async () => {
    await provider(nginxOptions(), {}).rollback();
    expect(requestsSeen()).toEqual([annotationPatch('0')]);
  });

  test('promote changes nothing in the cluster', async () => {
    await provider(nginxOptions()).promote();
    expect(api.requests).toEqual([]);
  });

  test('preflight sends the deploy patches as a server-side dry run and changes nothing', async () => {
    const before = structuredClone([...api.objects.entries()]);
    await provider(nginxOptions()).preflight();
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => [r.path, r.query.dryRun])).toEqual([
      [deploymentPath, 'All'],
      [ingressPath, 'All'],
    ]);
    expect([...api.objects.entries()]).toEqual(before);
  });
});

describe('kubernetes provider, istio mode, against a local API server', () => {
  type Vs = ReturnType<typeof virtualServiceObject>;
  const weights = () =>
    (api.objects.get(vsPath) as Vs).spec.http.map((h) =>
      h.route.map((r) => [r.destination.subset, (r as { weight?: number }).weight]),
    );

  test('sets the stable and canary weights of the route that sends to both, guarded by test operations', async () => {
    await provider(istioOptions()).setWeight(5);
    expect(requestsSeen()).toEqual([
      { method: 'GET', path: vsPath },
      {
        method: 'PATCH',
        path: vsPath,
        contentType: 'application/json-patch+json',
        body: [
          { op: 'test', path: '/spec/http/1/route/0/destination/subset', value: 'stable' },
          { op: 'add', path: '/spec/http/1/route/0/weight', value: 95 },
          { op: 'test', path: '/spec/http/1/route/1/destination/subset', value: 'canary' },
          { op: 'add', path: '/spec/http/1/route/1/weight', value: 5 },
        ],
      },
    ]);
    expectAuthenticated();
    // the header-matched testers route is left alone
    expect(weights()).toEqual([
      [['canary', undefined]],
      [
        ['stable', 95],
        ['canary', 5],
      ],
    ]);
  });

  test.each([0, 2.5, 33, 100])('weights are whole numbers that sum to 100 at %p %%', async (weight) => {
    await provider(istioOptions()).setWeight(weight);
    const [stable, canary] = (weights()[1] ?? []).map(([, w]) => w as number);
    expect(Number.isInteger(stable)).toBe(true);
    expect(Number.isInteger(canary)).toBe(true);
    expect((stable as number) + (canary as number)).toBe(100);
    expect(canary).toBe(Math.round(weight));
  });

  test('deploy sets the image, then the weights; rollback sends everything to stable', async () => {
    const p = provider(istioOptions());
    await p.deploy(10);
    expect(weights()[1]).toEqual([
      ['stable', 90],
      ['canary', 10],
    ]);
    await p.rollback();
    expect(weights()[1]).toEqual([
      ['stable', 100],
      ['canary', 0],
    ]);
    const deployment = api.objects.get(deploymentPath) as ReturnType<typeof deploymentObject>;
    expect(deployment.spec.template.spec.containers[1]?.image).toBe(`${image}@${previousDigest}`);
  });

  test('a VirtualService without a route to both subsets is refused before any patch', async () => {
    await expect(
      provider({ ...istioOptions(), canarySubset: 'v2' } as KubernetesProviderOptions).setWeight(5),
    ).rejects.toThrow(
      'VirtualService shop/web has no HTTP route with destinations for both subsets "stable" and "v2"; add such a route, or fix the "stable-subset" and "canary-subset" inputs',
    );
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  test('a route with a third destination is refused, as its weights could not sum to 100', async () => {
    const vs = virtualServiceObject(namespace, 'web');
    (vs.spec.http[1]?.route ?? []).push({ destination: { host: 'web', subset: 'legacy' } });
    api.objects.set(vsPath, vs);
    await expect(provider(istioOptions()).setWeight(5)).rejects.toThrow(
      /spec\.http\[1\] routes to 3 destinations; a canary route must send to exactly/,
    );
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });
});

describe('API errors name the object and the fix', () => {
  const failure = async (run: () => Promise<void>) => {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubernetesError);
    return error as KubernetesError;
  };

  test('404 of the canary Deployment names namespace, kind and name, and the inputs to fix', async () => {
    api.objects.delete(deploymentPath);
    const error = await failure(() => provider(nginxOptions()).deploy(5));
    expect(error.status).toBe(404);
    expect(error.message).toBe(
      'Deployment shop/web-canary was not found (HTTP 404: deployments.apps "web-canary" not found); create it first, or fix the "canary-deployment" and "kubernetes-namespace" inputs',
    );
  });

  test('404 of the VirtualService also suggests installing Istio', async () => {
    api.objects.delete(vsPath);
    const error = await failure(() => provider(istioOptions()).setWeight(5));
    expect(error.message).toMatch(
      /^VirtualService shop\/web was not found .*fix the "virtual-service" and "kubernetes-namespace" inputs, or install Istio/,
    );
  });

  test('403 on the Ingress patch says which RBAC verb is missing and the rule that grants it', async () => {
    api.forbidden.add(`PATCH ${ingressPath}`);
    const error = await failure(() => provider(nginxOptions()).setWeight(5));
    expect(error.status).toBe(403);
    expect(error.message).toMatch(
      /^the kubeconfig's user may not patch ingresses\.networking\.k8s\.io in namespace shop \(HTTP 403: .*cannot patch resource "ingresses"/,
    );
    expect(error.message).toContain(
      'grant the RBAC verb "patch" with a Role rule {apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["patch"]}',
    );
  });

  test('403 on reading the Deployment asks for "get" on deployments.apps', async () => {
    api.forbidden.add(`GET ${deploymentPath}`);
    const error = await failure(() => provider(nginxOptions()).preflight());
    expect(error.message).toContain('may not get deployments.apps in namespace shop');
    expect(error.message).toContain('{apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"]}');
  });

  test('a container name the Deployment does not have lists the ones it has', async () => {
    const error = await failure(() => provider({ ...nginxOptions(), container: 'app' }).deploy(5));
    expect(error.message).toBe(
      'Deployment shop/web-canary has no container "app" (it has "log-shipper", "web"); set the "container" input to the one that runs the image',
    );
    expect(api.requests.map((r) => r.method)).toEqual(['GET']);
  });

  test('a change in between (failed test operation, HTTP 422) is reported, not retried blindly', async () => {
    const p = provider(istioOptions());
    const vs = virtualServiceObject(namespace, 'web');
    // someone swaps the destinations between our read and our patch
    api.objects.set(vsPath, vs);
    const original = api.objects.get.bind(api.objects);
    let reads = 0;
    api.objects.get = (key: string) => {
      if (key === vsPath && ++reads === 2) {
        const swapped = structuredClone(vs);
        swapped.spec.http[1]?.route.reverse();
        api.objects.set(vsPath, swapped);
      }
      return original(key);
    };
    try {
      const error = await failure(() => p.setWeight(5));
      expect(error.status).toBe(422);
      expect(error.message).toMatch(
        /^VirtualService shop\/web was changed by someone else or refused the change/,
      );
    } finally {
      api.objects.get = original;
    }
  });
});

test('kubeconfigSecrets returns the token, so the action can mask it', () => {
  expect(kubeconfigSecrets(loadKubeConfig(kubeconfig))).toEqual([api.token]);
});
