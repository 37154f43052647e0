export {
  type AnalysisConfig,
  Analyzer,
  type Check,
  DEFAULT_ANALYSIS,
  evaluate,
  type NoDataPolicy,
  type Outcome,
  summarize,
} from './analysis.js';
export {
  type CanaryOptions,
  type CanaryResult,
  type Clock,
  type IntervalRecord,
  intervalsPerStep,
  type Phase,
  realClock,
  runCanary,
} from './controller.js';
export {
  type CanaryDeployConfig,
  type CanaryDeployOptions,
  type CanaryDeployResult,
  canaryDeploy,
  type MetricsConfig,
  PreflightError,
  type ProviderConfig,
  rollbackFromState,
  type SavedCanary,
} from './deploy.js';
export { displayUrl, type Endpoint, endpoint, endpointSecrets } from './endpoint.js';
export { Probe, type ProbeOptions, probeOnce } from './metrics/probe.js';
export {
  instantQuery,
  PrometheusError,
  PrometheusMetrics,
  type PrometheusOptions,
  renderQuery,
} from './metrics/prometheus.js';
export { type CanaryEvent, sendWebhook, type WebhookFormat, webhookBody } from './notify.js';
export { CommandProvider, type CommandProviderOptions } from './providers/command.js';
export {
  KubernetesError,
  KubernetesProvider,
  type KubernetesProviderOptions,
  kubeconfigSecrets,
  loadKubeConfig,
} from './providers/kubernetes.js';
export {
  NginxConfigError,
  NginxProvider,
  type NginxProviderOptions,
  nginxValueProblem,
  renderUpstream,
} from './providers/nginx.js';
export {
  DigestNotFoundError,
  type ImageRepository,
  inspectImage,
  moveTag,
  RegistryTagProvider,
} from './providers/registry-tag.js';
export { CommandError, runShell } from './providers/shell.js';
export { mannWhitneyPValue, normalCdf, percentile, twoProportionPValue } from './stats.js';
export type {
  DeploymentTarget,
  MetricsSource,
  Observation,
  Sample,
  Target,
  TargetMetrics,
  TrafficProvider,
} from './types.js';
