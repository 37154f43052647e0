import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/** One request as the API server received it. */
export interface KubeRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

export interface KubeApi {
  url: string;
  token: string;
  requests: KubeRequest[];
  /** Objects by API path (`/apis/apps/v1/namespaces/shop/deployments/web-canary`); patches change them. */
  objects: Map<string, unknown>;
  /** `METHOD path` pairs the user may not do: answered 403 like the API server's authorizer. */
  forbidden: Set<string>;
  /** Writes a kubeconfig with token auth pointing at this server; returns its path. */
  writeKubeconfig(dir: string): Promise<string>;
  stop(): Promise<void>;
}

const clone = <T>(value: T): T => structuredClone(value);

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const result: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

class PatchFailed extends Error {}

/** RFC 6902 for the operations a provider may send (`test`, `add`, `replace`); anything else fails. */
function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchFailed('a JSON patch must be an array');
  const document = clone(target);
  for (const operation of operations as Array<{ op: string; path: string; value: unknown }>) {
    const tokens = operation.path
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = tokens.pop() as string;
    let parent: unknown = document;
    for (const token of tokens) {
      parent = (parent as Record<string, unknown> | undefined)?.[token];
      if (parent === undefined) throw new PatchFailed(`path ${operation.path} does not exist`);
    }
    const container = parent as Record<string, unknown>;
    if (Array.isArray(container) && !/^\d+$/.test(last))
      throw new PatchFailed(`bad index in ${operation.path}`);
    if (operation.op === 'test') {
      if (JSON.stringify(container[last]) !== JSON.stringify(operation.value))
        throw new PatchFailed(`test failed at ${operation.path}`);
    } else if (operation.op === 'replace') {
      if (!(last in container)) throw new PatchFailed(`replace of missing ${operation.path}`);
      container[last] = clone(operation.value);
    } else if (operation.op === 'add' && !Array.isArray(container)) {
      container[last] = clone(operation.value);
    } else {
      throw new PatchFailed(`unsupported operation ${operation.op} at ${operation.path}`);
    }
  }
  return document;
}

function status(code: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/**
 * A stand-in for the Kubernetes API server on 127.0.0.1: bearer-token auth, GET and PATCH of stored
 * objects with the patch types the API server accepts (merge, JSON patch), `dryRun=All`, and `Status`
 * bodies for 401/403/404/415/422 worded like the real server's.
 */
export async function startKubeApi(): Promise<KubeApi> {
  const token = 'kube-token-5ecr3t-0123456789abcdef';
  const requests: KubeRequest[] = [];
  const objects = new Map<string, unknown>();
  const forbidden = new Set<string>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const text = Buffer.concat(chunks).toString('utf8');
      const contentType = request.headers['content-type'];
      const recorded: KubeRequest = {
        method: request.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType,
        authorization: request.headers.authorization,
        body: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(recorded);
      const answer = (code: number, body: unknown) => {
        response.writeHead(code, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      const parts = url.pathname.split('/');
      const name = parts.at(-1) as string;
      const resource = parts.at(-2) as string;
      const group = parts[1] === 'api' ? '' : (parts[2] as string);
      const namespace = parts[parts.indexOf('namespaces') + 1];
      if (recorded.authorization !== `Bearer ${token}`) {
        answer(401, status(401, 'Unauthorized', 'Unauthorized'));
        return;
      }
      const verb = recorded.method === 'GET' ? 'get' : 'patch';
      if (forbidden.has(`${recorded.method} ${url.pathname}`)) {
        answer(
          403,
          status(
            403,
            'Forbidden',
            `${resource}${group === '' ? '' : `.${group}`} "${name}" is forbidden: User "ci" cannot ${verb} resource "${resource}" in API group "${group}" in the namespace "${namespace}"`,
          ),
        );
        return;
      }
      const current = objects.get(url.pathname);
      if (current === undefined) {
        answer(
          404,
          status(404, 'NotFound', `${resource}${group === '' ? '' : `.${group}`} "${name}" not found`),
        );
        return;
      }
      if (recorded.method === 'GET') {
        answer(200, current);
        return;
      }
      if (recorded.method !== 'PATCH') {
        answer(405, status(405, 'MethodNotAllowed', 'the server does not allow this method'));
        return;
      }
      let next: unknown;
      try {
        if (contentType === 'application/merge-patch+json') next = mergePatch(current, recorded.body);
        else if (contentType === 'application/json-patch+json') next = jsonPatch(current, recorded.body);
        else {
          answer(
            415,
            status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format`),
          );
          return;
        }
      } catch (error) {
        answer(422, status(422, 'Invalid', (error as Error).message));
        return;
      }
      if (recorded.query.dryRun !== 'All') objects.set(url.pathname, next);
      answer(200, next);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    token,
    requests,
    objects,
    forbidden,
    async writeKubeconfig(dir) {
      const path = join(dir, 'kubeconfig');
      await writeFile(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          '- name: local',
          '  cluster:',
          `    server: ${url}`,
          // client-node refuses plain http unless TLS verification is explicitly off
          '    insecure-skip-tls-verify: true',
          'users:',
          '- name: ci',
          '  user:',
          `    token: ${token}`,
          'contexts:',
          '- name: ci@local',
          '  context:',
          '    cluster: local',
          '    user: ci',
          '    namespace: shop',
          'current-context: ci@local',
          '',
        ].join('\n'),
      );
      return path;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Paths of the objects the provider works on, as the API server routes them. */
export const paths = {
  deployment: (namespace: string, name: string) =>
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
  ingress: (namespace: string, name: string) =>
    `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses/${name}`,
  virtualService: (namespace: string, name: string) =>
    `/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices/${name}`,
};

export function deploymentObject(namespace: string, name: string, image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: 'web', track: 'canary' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web', track: 'canary' } },
      template: {
        metadata: { labels: { app: 'web', track: 'canary' } },
        spec: {
          containers: [
            { name: 'log-shipper', image: 'fluent/fluent-bit:3.0' },
            { name: 'web', image, ports: [{ containerPort: 8080 }] },
          ],
        },
      },
    },
  };
}

export function ingressObject(namespace: string, name: string) {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace,
      annotations: { 'nginx.ingress.kubernetes.io/canary': 'true', 'team.example.com/owner': 'shop' },
    },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'web-canary', port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    },
  };
}

export function virtualServiceObject(namespace: string, name: string) {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace },
    spec: {
      hosts: ['web'],
      http: [
        {
          name: 'testers',
          match: [{ headers: { 'x-canary': { exact: 'yes' } } }],
          route: [{ destination: { host: 'web', subset: 'canary' } }],
        },
        {
          name: 'primary',
          route: [
            { destination: { host: 'web', subset: 'stable' }, weight: 100 },
            { destination: { host: 'web', subset: 'canary' } },
          ],
        },
      ],
    },
  };
}
