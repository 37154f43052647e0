import { writeFile } from 'node:fs/promises';
import { errorClass, type Logger } from '@digestline/base';
import { type Credentials, RegistryClient } from '@digestline/oci';
import type { AnalysisConfig } from './analysis.js';
import { type CanaryResult, type Clock, type IntervalRecord, type Phase, runCanary } from './controller.js';
import { displayUrl } from './endpoint.js';
import { Probe, probeOnce } from './metrics/probe.js';
import { PrometheusMetrics, type PrometheusOptions } from './metrics/prometheus.js';
import { type CanaryEvent, sendWebhook, type WebhookFormat } from './notify.js';
import { CommandProvider, type CommandProviderOptions } from './providers/command.js';
import type { KubernetesProvider } from './providers/kubernetes.js';
import { KubernetesError, type KubernetesProviderOptions } from './providers/kubernetes-options.js';
import { NginxProvider, type NginxProviderOptions } from './providers/nginx.js';
import { currentDigest, inspectImage, moveTag, RegistryTagProvider } from './providers/registry-tag.js';
import type { MetricsSource, TrafficProvider } from './types.js';

export type ProviderConfig =
  | { kind: 'registry-tag' }
  | ({ kind: 'nginx' } & NginxProviderOptions)
  | ({ kind: 'command' } & Omit<CommandProviderOptions, 'onOutput'>)
  | ({ kind: 'kubernetes' } & KubernetesProviderOptions);

export type MetricsConfig =
  | { kind: 'probe'; healthUrl: string; baselineUrl?: string; requestsPerInterval: number }
  | ({ kind: 'prometheus'; healthUrl?: string } & PrometheusOptions);

export interface CanaryDeployConfig {
  /** `registry/repository`, as in an image reference without tag or digest. */
  registry: string;
  repository: string;
  digest: string;
  canaryTag: string;
  stableTag: string;
  credentials?: Credentials;
  provider: ProviderConfig;
  metrics: MetricsConfig;
  analysis: AnalysisConfig;
  steps: number[];
  intervalMs: number;
  durationMs: number;
  webhook?: { url: string; format: WebhookFormat };
  /** Where the JSON with every sample and decision goes. */
  analysisPath: string;
  runUrl?: string;
}

/** What the post step needs to undo a canary the job never finished. */
export interface SavedCanary {
  phase: Phase;
  digest: string;
  previousDigest?: string;
}

export interface CanaryDeployOptions {
  logger: Logger;
  /** Called before anything changes and at every phase after, so a post step can always roll back. */
  save(state: SavedCanary): void;
  onInterval?(record: IntervalRecord): void;
  clock?: Clock;
}

export interface CanaryDeployResult extends CanaryResult {
  previousDigest?: string;
}

/** The user's input points at something that is not there; nothing has been changed. */
export class PreflightError extends errorClass('PreflightError', 'PREFLIGHT', 'user') {}

function registryClient(config: CanaryDeployConfig): RegistryClient {
  return new RegistryClient(
    config.registry,
    config.credentials === undefined ? {} : { credentials: config.credentials },
  );
}

async function provider(
  config: CanaryDeployConfig,
  client: RegistryClient,
  previousDigest: string | undefined,
  logger: Logger,
): Promise<TrafficProvider> {
  const target = { digest: config.digest, ...(previousDigest === undefined ? {} : { previousDigest }) };
  const p = config.provider;
  if (p.kind === 'registry-tag') {
    return new RegistryTagProvider(
      { client, repository: config.repository },
      { canaryTag: config.canaryTag, ...target },
      logger,
    );
  }
  if (p.kind === 'nginx') return new NginxProvider(p);
  if (p.kind === 'kubernetes') {
    // The Kubernetes client is most of the bundle: loaded only for this provider.
    const { KubernetesProvider } = await import('./providers/kubernetes.js');
    return new KubernetesProvider(p, { image: `${config.registry}/${config.repository}`, ...target });
  }
  return new CommandProvider({ ...p, onOutput: (line) => logger.info(line) }, target);
}

function metricsSource(config: CanaryDeployConfig): MetricsSource {
  const m = config.metrics;
  if (m.kind === 'probe') {
    return new Probe({
      healthUrl: m.healthUrl,
      ...(m.baselineUrl === undefined ? {} : { baselineUrl: m.baselineUrl }),
      intervalMs: config.intervalMs,
      requestsPerInterval: m.requestsPerInterval,
      // A request slower than the latency limit is already a failure; waiting longer shows nothing new.
      timeoutMs: Math.max(config.analysis.latencyP99ThresholdMs * 2, 1000),
    });
  }
  return new PrometheusMetrics(m);
}

async function assertReachable(url: string, what: string): Promise<void> {
  const sample = await probeOnce(url, 'canary', 10_000);
  if (sample.status === 0) {
    throw new PreflightError(
      `The ${what} ${displayUrl(url)} cannot be reached (${sample.error ?? 'no answer'}); nothing was deployed. Check the URL and that the service runs before the canary starts.`,
    );
  }
}

/**
 * The whole canary: preflight (digest in the registry, health URL reachable), deploy, analyse, then
 * promote or roll back, notify, and write the analysis file. Throws only when the canary could not be
 * deployed; a rollback is a result.
 */
export async function canaryDeploy(
  config: CanaryDeployConfig,
  options: CanaryDeployOptions,
): Promise<CanaryDeployResult> {
  const { logger } = options;
  const client = registryClient(config);
  try {
    const { previousDigest } = await inspectImage({ client, repository: config.repository }, config.digest, {
      canaryTag: config.canaryTag,
      stableTag: config.stableTag,
    });
    const healthUrl = config.metrics.healthUrl;
    if (healthUrl !== undefined) await assertReachable(healthUrl, 'health URL');
    if (config.metrics.kind === 'probe' && config.metrics.baselineUrl !== undefined) {
      await assertReachable(config.metrics.baselineUrl, 'baseline URL');
    }
    const traffic = await provider(config, client, previousDigest, logger);
    if (config.provider.kind === 'kubernetes') await preflightKubernetes(traffic as KubernetesProvider);
    const saved = (phase: Phase) =>
      options.save({
        phase,
        digest: config.digest,
        ...(previousDigest === undefined ? {} : { previousDigest }),
      });
    saved('deploying');
    const result = await runCanary({
      provider: traffic,
      metrics: metricsSource(config),
      analysis: config.analysis,
      steps: config.steps,
      intervalMs: config.intervalMs,
      durationMs: config.durationMs,
      onPhase: saved,
      logger,
      ...(options.onInterval === undefined ? {} : { onInterval: options.onInterval }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    if (result.rollback?.error !== undefined) logger.warning(`The rollback failed: ${result.rollback.error}`);
    else if (result.result === 'rolled-back') await restoreCanaryTag(config, client, previousDigest, logger);
    await writeFile(
      config.analysisPath,
      `${JSON.stringify({ digest: config.digest, previousDigest, ...result }, null, 2)}\n`,
    );
    await notify(config, logger, {
      result: result.result,
      reason: result.reason,
      failedChecks: result.failedChecks,
      previousDigest,
    });
    return { ...result, ...(previousDigest === undefined ? {} : { previousDigest }) };
  } finally {
    await client.close();
  }
}

async function preflightKubernetes(traffic: KubernetesProvider): Promise<void> {
  try {
    await traffic.preflight();
  } catch (error) {
    if (error instanceof KubernetesError) {
      throw new PreflightError(`${error.message}; nothing was deployed.`, { cause: error });
    }
    throw error;
  }
}

/** The post step: rolls back a canary whose main step was cancelled or crashed before it finished. */
export async function rollbackFromState(
  config: CanaryDeployConfig,
  saved: SavedCanary,
  logger: Logger,
): Promise<'rolled-back' | 'nothing-to-do'> {
  if (saved.phase === 'finished') return 'nothing-to-do';
  const client = registryClient(config);
  try {
    logger.info(`The canary of ${config.digest} stopped during "${saved.phase}"; rolling back.`);
    await (
      await provider({ ...config, digest: saved.digest }, client, saved.previousDigest, logger)
    ).rollback();
    await restoreCanaryTag({ ...config, digest: saved.digest }, client, saved.previousDigest, logger);
    await notify(config, logger, {
      result: 'rolled-back',
      reason: `the job stopped during "${saved.phase}" (cancelled or crashed); rolled back by the post step`,
      failedChecks: 0,
      previousDigest: saved.previousDigest,
    });
    return 'rolled-back';
  } finally {
    await client.close();
  }
}

/**
 * After a rollback by a provider that splits traffic (nginx, a command, Kubernetes), the canary tag goes
 * back to the previous digest as well, when it still names this run's digest (in the delivery ladder
 * `promote staging → canary` moved it there). Left on the failed digest, it would tell promote that the
 * canary runs it, and `promote canary → production` would find its canary record and pass. Compare-and-
 * set, as the registry-tag provider's own rollback: a tag someone moved since, or never set, is left as
 * it is. A tag that cannot be written (read-only credentials) is a warning, not a failed rollback.
 */
async function restoreCanaryTag(
  config: CanaryDeployConfig,
  client: RegistryClient,
  previousDigest: string | undefined,
  logger: Logger,
): Promise<void> {
  if (config.provider.kind === 'registry-tag' || previousDigest === undefined) return;
  const image = { client, repository: config.repository };
  const where = `${config.registry}/${config.repository}:${config.canaryTag}`;
  try {
    if ((await currentDigest(image, config.canaryTag)) !== config.digest) return;
    await moveTag(image, config.canaryTag, previousDigest);
    logger.info(`${where} is back on ${previousDigest}, as the canary's traffic is.`);
  } catch (error) {
    logger.warning(
      `${where} still names the rolled-back ${config.digest}: it could not be moved back to ${previousDigest} (${(error as Error).message}). Move it by hand, or give the job credentials that may push tags, so that promote does not take the failed digest for what the canary runs.`,
    );
  }
}

async function notify(
  config: CanaryDeployConfig,
  logger: Logger,
  event: Omit<CanaryEvent, 'image' | 'digest' | 'previousDigest' | 'runUrl'> & {
    previousDigest: string | undefined;
  },
): Promise<void> {
  if (config.webhook === undefined) return;
  const { previousDigest, ...rest } = event;
  const sent = await sendWebhook(config.webhook.url, config.webhook.format, {
    ...rest,
    image: `${config.registry}/${config.repository}`,
    digest: config.digest,
    ...(previousDigest === undefined ? {} : { previousDigest }),
    ...(config.runUrl === undefined ? {} : { runUrl: config.runUrl }),
  });
  if (!sent.ok)
    logger.warning(`The ${config.webhook.format} notification was not delivered: ${sent.problem}.`);
}
