import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigurationError,
  durationInput,
  enumInput,
  listInput,
  optionalString,
  parsePercentage,
  percentageInput,
  positiveIntegerInput,
  requiredString,
  secret,
} from '@digestline/action-kit';
import {
  type CanaryDeployConfig,
  displayUrl,
  endpointSecrets,
  type MetricsConfig,
  nginxValueProblem,
  type ProviderConfig,
} from '@digestline/canary';
import { InvalidReferenceError, isDigest, parseReference } from '@digestline/oci';
import { Input } from './constants.js';

const quote = JSON.stringify;

function url(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // A password in the URL (user:password@host) is masked before the URL can appear anywhere.
  for (const password of endpointSecrets(value)) secret(password);
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {}
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new ConfigurationError(
      `Input "${name}" must be an http(s) URL such as https://app.example.com/api/health; got ${quote(displayUrl(value))}.`,
    );
  }
  return value;
}

function need(name: string, because: string): string {
  const value = optionalString(name);
  if (value === undefined)
    throw new ConfigurationError(`Input "${name}" is required ${because}; set it under "with:".`);
  return value;
}

function steps(): number[] {
  const listed = listInput(Input.steps);
  const weights =
    listed.length > 0
      ? listed.map((s) => parsePercentage(s, Input.steps))
      : [percentageInput(Input.trafficPercent, '5')];
  if (weights.some((w) => w === 0)) {
    throw new ConfigurationError(
      `Input "${Input.steps}" must list weights above 0 such as 5,25,50,100; a step of 0 % sends the canary no traffic to judge.`,
    );
  }
  if (weights.some((w, i) => i > 0 && w <= (weights[i - 1] as number))) {
    throw new ConfigurationError(
      `Input "${Input.steps}" must rise step by step such as 5,25,50,100; got ${quote(listed.join(','))}.`,
    );
  }
  return weights;
}

/** The value goes into an nginx include file: nginx syntax in it would be configuration of its own. */
function nginxValue(name: string, kind: 'server' | 'upstream', value: string): string {
  const problem = nginxValueProblem(kind, value);
  if (problem !== undefined) throw new ConfigurationError(`Input "${name}" must be ${problem}.`);
  return value;
}

function providerConfig(kind: ProviderConfig['kind'], workspace: string): ProviderConfig {
  if (kind === 'registry-tag') return { kind };
  if (kind === 'nginx') {
    const because = 'with provider: nginx';
    return {
      kind,
      configPath: need(Input.nginxConfig, because),
      reloadCommand: optionalString(Input.nginxReloadCommand) ?? 'nginx -s reload',
      upstreamName: nginxValue(Input.nginxUpstream, 'upstream', optionalString(Input.nginxUpstream) ?? 'app'),
      stableServer: nginxValue(Input.nginxStableServer, 'server', need(Input.nginxStableServer, because)),
      canaryServer: nginxValue(Input.nginxCanaryServer, 'server', need(Input.nginxCanaryServer, because)),
    };
  }
  if (kind === 'kubernetes') return kubernetesConfig();
  const because = 'with provider: command';
  const setWeight = optionalString(Input.setWeightCommand);
  const promote = optionalString(Input.promoteCommand);
  return {
    kind,
    deploy: need(Input.deployCommand, because),
    rollback: need(Input.rollbackCommand, because),
    cwd: workspace,
    ...(setWeight === undefined ? {} : { setWeight }),
    ...(promote === undefined ? {} : { promote }),
  };
}

/**
 * The kubeconfig must exist: without any file the client would quietly aim at http://localhost:8080. It
 * is read (and its credentials masked) first thing in main, by readKubeconfig(), which loads the client.
 */
function kubeconfig(): string | undefined {
  const path = optionalString(Input.kubeconfig);
  const fallback = process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config');
  if (path === undefined && process.env.KUBECONFIG === undefined && !existsSync(fallback)) {
    throw new ConfigurationError(
      `No kubeconfig found: set input "${Input.kubeconfig}" to its path, or set KUBECONFIG (or write ~/.kube/config) in an earlier step.`,
    );
  }
  return path;
}

function kubernetesConfig(): ProviderConfig {
  const because = 'with provider: kubernetes';
  const common = {
    kind: 'kubernetes' as const,
    namespace: optionalString(Input.kubernetesNamespace) ?? 'default',
    canaryDeployment: need(Input.canaryDeployment, because),
    container: need(Input.container, because),
  };
  const mode = enumInput(Input.kubernetesMode, ['ingress-nginx', 'istio'] as const, 'ingress-nginx');
  const traffic =
    mode === 'ingress-nginx'
      ? { mode, canaryIngress: need(Input.canaryIngress, `${because} and kubernetes-mode: ingress-nginx`) }
      : {
          mode,
          virtualService: need(Input.virtualService, `${because} and kubernetes-mode: istio`),
          stableSubset: optionalString(Input.stableSubset) ?? 'stable',
          canarySubset: optionalString(Input.canarySubset) ?? 'canary',
        };
  if (traffic.mode === 'istio' && traffic.stableSubset === traffic.canarySubset) {
    throw new ConfigurationError(
      `Inputs "${Input.stableSubset}" and "${Input.canarySubset}" must name different subsets; both are ${quote(traffic.stableSubset)}.`,
    );
  }
  const path = kubeconfig();
  return { ...common, ...traffic, ...(path === undefined ? {} : { kubeconfig: path }) };
}

function metricsConfig(
  kind: MetricsConfig['kind'],
  healthUrl: string | undefined,
  baselineUrl: string | undefined,
): MetricsConfig {
  if (kind === 'probe') {
    if (healthUrl === undefined) {
      throw new ConfigurationError(
        `Input "${Input.healthUrl}" is required with metrics: probe (the probe polls it); set it to the canary's health endpoint, or use metrics: prometheus.`,
      );
    }
    return {
      kind,
      healthUrl,
      requestsPerInterval: positiveIntegerInput(Input.probeRequests, 20),
      ...(baselineUrl === undefined ? {} : { baselineUrl }),
    };
  }
  const because = 'with metrics: prometheus';
  const prometheusUrl = url(Input.prometheusUrl, need(Input.prometheusUrl, because)) as string;
  const errorRateQuery = need(Input.errorRateQuery, because);
  const latencyQuery = need(Input.latencyQuery, because);
  for (const [name, query] of [
    [Input.errorRateQuery, errorRateQuery],
    [Input.latencyQuery, latencyQuery],
  ] as const) {
    if (!query.includes('{canary}')) {
      throw new ConfigurationError(
        `Input "${name}" must contain the placeholder {canary} so the query can tell canary from stable; got ${quote(query)}.`,
      );
    }
  }
  return {
    kind,
    url: prometheusUrl,
    errorRateQuery,
    latencyQuery,
    canaryValue: optionalString(Input.prometheusCanary) ?? 'canary',
    stableValue: optionalString(Input.prometheusStable) ?? 'stable',
    ...(healthUrl === undefined ? {} : { healthUrl }),
  };
}

/** Reads and checks every input; throws ConfigurationError before anything is touched. */
export function readInputs(): CanaryDeployConfig {
  const password = secret(optionalString(Input.registryPassword));
  const webhookUrl = secret(optionalString(Input.webhookUrl));
  const imageInput = requiredString(Input.image);
  let image: ReturnType<typeof parseReference>;
  try {
    image = parseReference(imageInput);
  } catch (error) {
    if (error instanceof InvalidReferenceError) {
      throw new ConfigurationError(
        `Input "${Input.image}" must be an image name such as ghcr.io/org/app; ${error.message}.`,
      );
    }
    throw error;
  }
  const digest = requiredString(Input.digest);
  if (!isDigest(digest)) {
    throw new ConfigurationError(
      `Input "${Input.digest}" must be a sha256 digest such as sha256:<64 hex digits>; got ${quote(digest)}.`,
    );
  }
  const workspace = process.env.GITHUB_WORKSPACE ?? process.cwd();
  const intervalMs = durationInput(Input.interval, '10s');
  const durationMs = durationInput(Input.duration, '5m');
  if (intervalMs < 100) {
    throw new ConfigurationError(
      `Input "${Input.interval}" must be at least 100ms; got ${quote(optionalString(Input.interval) ?? '')}.`,
    );
  }
  if (durationMs < intervalMs) {
    throw new ConfigurationError(
      `Input "${Input.duration}" must be at least one "${Input.interval}" long; got ${durationMs} ms for an interval of ${intervalMs} ms.`,
    );
  }
  const latency = positiveIntegerInput(Input.latencyThreshold, 2000);
  const errorRate = percentageInput(Input.errorRateThreshold, '5%');
  if (errorRate === 100) {
    throw new ConfigurationError(
      `Input "${Input.errorRateThreshold}" must be below 100 %, or no error rate could ever fail the canary; got 100 %.`,
    );
  }
  const healthUrl = url(Input.healthUrl, optionalString(Input.healthUrl));
  const baselineUrl = url(Input.baselineUrl, optionalString(Input.baselineUrl));
  const username = optionalString(Input.registryUsername);
  if ((username === undefined) !== (password === undefined)) {
    throw new ConfigurationError(
      `Inputs "${Input.registryUsername}" and "${Input.registryPassword}" go together; set both or neither.`,
    );
  }
  // ghs_ is the workflow's own token (github.token): it belongs to GitHub, and to no other registry.
  if (password?.startsWith('ghs_') && image.registry !== 'ghcr.io') {
    throw new ConfigurationError(
      `Input "${Input.registryPassword}" holds the workflow's GitHub token, which goes only to ghcr.io, not to ${image.registry}: pass that registry's own password or token from a secret.`,
    );
  }
  const webhookFormat = enumInput(Input.webhookFormat, ['slack', 'teams', 'json'] as const, 'json');
  const server = process.env.GITHUB_SERVER_URL;
  const repository = process.env.GITHUB_REPOSITORY;
  const runId = process.env.GITHUB_RUN_ID;
  return {
    registry: image.registry,
    repository: image.repository,
    digest,
    canaryTag: optionalString(Input.canaryTag) ?? 'canary',
    stableTag: optionalString(Input.stableTag) ?? 'production',
    ...(username !== undefined && password !== undefined ? { credentials: { username, password } } : {}),
    provider: providerConfig(
      enumInput(Input.provider, ['registry-tag', 'nginx', 'command', 'kubernetes'] as const, 'registry-tag'),
      workspace,
    ),
    metrics: metricsConfig(
      enumInput(Input.metrics, ['probe', 'prometheus'] as const, 'probe'),
      healthUrl,
      baselineUrl,
    ),
    analysis: {
      errorRateThreshold: errorRate / 100,
      latencyP99ThresholdMs: latency,
      failureThreshold: positiveIntegerInput(Input.failureThreshold, 3),
      noData: enumInput(Input.noData, ['fail', 'wait', 'pass'] as const, 'wait'),
      minSamples: positiveIntegerInput(Input.minSamples, 5),
      alpha: 0.05,
    },
    steps: steps(),
    intervalMs,
    durationMs,
    ...(webhookUrl === undefined
      ? {}
      : { webhook: { url: url(Input.webhookUrl, webhookUrl) as string, format: webhookFormat } }),
    analysisPath: join(process.env.RUNNER_TEMP ?? workspace, `canary-analysis-${digest.slice(7, 19)}.json`),
    ...(server && repository && runId ? { runUrl: `${server}/${repository}/actions/runs/${runId}` } : {}),
  };
}
