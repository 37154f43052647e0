import { type LocalRegistry, makeTempDir, runAction, startRegistry } from '@digestline/local';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import {
  deploymentObject,
  ingressObject,
  type KubeApi,
  paths,
  startKubeApi,
  virtualServiceObject,
} from '../../../packages/canary/test/kube-api.js';
import { pushRandomImage } from '../../../test/harness/images.js';
import { type SampleApp, startSampleApp } from '../../../test/harness/sample-app.js';

const namespace = 'shop';
const repository = 'shop/web';
const deploymentPath = paths.deployment(namespace, 'web-canary');
const ingressPath = paths.ingress(namespace, 'web-canary');
const vsPath = paths.virtualService(namespace, 'web');

let registry: LocalRegistry;
let canary: SampleApp;
let api: KubeApi;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let kubeconfig: string;
let stableDigest: string;
let canaryDigest: string;
let image: string;

beforeAll(async () => {
  [registry, canary, api, temp] = await Promise.all([
    startRegistry(),
    startSampleApp('canary'),
    startKubeApi(),
    makeTempDir('canary-kube'),
  ]);
  kubeconfig = await api.writeKubeconfig(temp.path);
  image = `${registry.host}/${repository}`;
  stableDigest = (
    await pushRandomImage(registry, { repository, tag: 'production', layers: 1, totalBytes: 256, seed: 21 })
  ).digest;
  canaryDigest = (
    await pushRandomImage(registry, { repository, tag: 'build-9', layers: 1, totalBytes: 256, seed: 22 })
  ).digest;
});
afterAll(async () => {
  await Promise.all([registry?.stop(), canary?.stop(), api?.stop()]);
  await temp?.remove();
});
beforeEach(() => {
  canary.set({ errorRate: 0 });
  api.requests.length = 0;
  api.forbidden.clear();
  api.objects.clear();
  api.objects.set(deploymentPath, deploymentObject(namespace, 'web-canary', `${image}@${stableDigest}`));
  api.objects.set(ingressPath, ingressObject(namespace, 'web-canary'));
  api.objects.set(vsPath, virtualServiceObject(namespace, 'web'));
});

const nginxInputs = (extra: Record<string, string> = {}) => ({
  image,
  digest: canaryDigest,
  provider: 'kubernetes',
  kubeconfig,
  'kubernetes-namespace': namespace,
  'canary-deployment': 'web-canary',
  container: 'web',
  'canary-ingress': 'web-canary',
  'health-url': `${canary.url}/api/health`,
  interval: '100ms',
  duration: '400ms',
  'min-samples': '1',
  ...extra,
});
const istioInputs = (extra: Record<string, string> = {}) =>
  nginxInputs({ 'kubernetes-mode': 'istio', 'canary-ingress': '', 'virtual-service': 'web', ...extra });

const containerImage = () =>
  (api.objects.get(deploymentPath) as ReturnType<typeof deploymentObject>).spec.template.spec.containers[1]
    ?.image;
const canaryWeight = () =>
  (api.objects.get(ingressPath) as ReturnType<typeof ingressObject>).metadata.annotations[
    'nginx.ingress.kubernetes.io/canary-weight' as 'team.example.com/owner'
  ];
const istioWeights = () =>
  (api.objects.get(vsPath) as ReturnType<typeof virtualServiceObject>).spec.http[1]?.route.map(
    (r) => (r as { weight?: number }).weight,
  );

describe('canary-deploy with provider: kubernetes through runAction', () => {
  test('ingress-nginx: dry-run preflight, then image and weights per step; the kubeconfig token is masked', async () => {
    const result = await runAction('canary-deploy', { inputs: nginxInputs({ steps: '10,50' }) });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.outputs.result).toBe('promoted');
    expect(containerImage()).toBe(`${image}@${canaryDigest}`);
    expect(canaryWeight()).toBe('50');
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(
      patches.map(
        (r) => `${r.path === deploymentPath ? 'image' : 'weight'}${r.query.dryRun ? ' (dry run)' : ''}`,
      ),
    ).toEqual(['image (dry run)', 'weight (dry run)', 'image', 'weight', 'weight']);
    for (const r of api.requests) expect(r.authorization).toBe(`Bearer ${api.token}`);
    expect(result.masks).toContain(api.token);
    expect(result.log).not.toContain(api.token);
  });

  test('istio: a failing canary is rolled back to 100/0 and the previous digest, and the action fails', async () => {
    canary.set({ errorRate: 1 });
    const result = await runAction('canary-deploy', { inputs: istioInputs({ duration: '2s' }) });
    expect(result.exitCode).not.toBe(0);
    expect(result.outputs.result).toBe('rolled-back');
    expect(istioWeights()).toEqual([100, 0]);
    expect(containerImage()).toBe(`${image}@${stableDigest}`);
  });

  test('the post step rolls back a cancelled canary from the saved state', async () => {
    api.objects.set(deploymentPath, deploymentObject(namespace, 'web-canary', `${image}@${canaryDigest}`));
    const post = await runAction('canary-deploy', {
      inputs: istioInputs(),
      state: {
        isPost: 'true',
        canary: JSON.stringify({ phase: 'analysing', digest: canaryDigest, previousDigest: stableDigest }),
      },
    });
    expect(post.exitCode).toBe(0);
    expect(istioWeights()).toEqual([100, 0]);
    expect(containerImage()).toBe(`${image}@${stableDigest}`);
  });
});

describe('provider: kubernetes bad input: a clear error, a non-zero exit, nothing changed', () => {
  const refused = async (
    inputs: Record<string, string>,
    message: RegExp,
    env: Record<string, string> = {},
  ) => {
    const before = structuredClone([...api.objects.entries()]);
    const result = await runAction('canary-deploy', { inputs, env });
    expect(result.exitCode).not.toBe(0);
    expect(result.annotations.filter((a) => a.level === 'error').map((a) => a.message)).toEqual([
      expect.stringMatching(message),
    ]);
    expect([...api.objects.entries()]).toEqual(before);
    expect(result.state.canary).toBeUndefined();
    return result;
  };

  test.each([
    [
      { 'canary-ingress': '' },
      /^Input "canary-ingress" is required with provider: kubernetes and kubernetes-mode: ingress-nginx/,
    ],
    [{ container: '' }, /^Input "container" is required with provider: kubernetes/],
    [{ 'kubernetes-mode': 'linkerd' }, /^Input "kubernetes-mode" must be one of "ingress-nginx", "istio"/],
    [{ 'kubernetes-mode': 'istio', 'virtual-service': '' }, /^Input "virtual-service" is required/],
    [
      { 'kubernetes-mode': 'istio', 'virtual-service': 'web', 'stable-subset': 'canary' },
      /^Inputs "stable-subset" and "canary-subset" must name different subsets/,
    ],
  ])('missing or invalid provider inputs %j', async (extra, message) => {
    await refused(nginxInputs(extra), message);
    expect(api.requests).toEqual([]);
  });

  test('no kubeconfig anywhere', async () => {
    await refused(nginxInputs({ kubeconfig: '' }), /^No kubeconfig found: set input "kubeconfig"/, {
      HOME: temp.path,
    });
  });

  test('a canary Deployment that does not exist: 404 named, nothing deployed', async () => {
    api.objects.delete(deploymentPath);
    await refused(
      nginxInputs(),
      /^Deployment shop\/web-canary was not found \(HTTP 404.*fix the "canary-deployment" and "kubernetes-namespace" inputs; nothing was deployed\.$/,
    );
  });

  test('a kubeconfig user without patch on ingresses: 403 names the RBAC verb, nothing deployed', async () => {
    api.forbidden.add(`PATCH ${ingressPath}`);
    await refused(
      nginxInputs(),
      /^the kubeconfig's user may not patch ingresses\.networking\.k8s\.io in namespace shop .*verbs: \["patch"\]\} bound to that user; nothing was deployed\.$/,
    );
  });
});
