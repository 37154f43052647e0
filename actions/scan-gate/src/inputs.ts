import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  booleanInput,
  ConfigurationError,
  enumInput,
  listInput,
  optionalString,
  secret,
} from '@digestline/action-kit';
import { SEVERITIES, type Severity } from '@digestline/scan';
import { INPUT } from './constants.js';

export interface Inputs {
  reports: string[];
  scanImage?: string;
  scanPath?: string;
  /** Trivy's cache directory, `~` expanded: its `db` and `java-db` are what is worth caching. */
  trivyCacheDir: string;
  /** Whether this step restores and saves the databases in the Actions cache itself. */
  trivyDbCache: boolean;
  /** The workflow's actions/cache restored today's entry of the databases. */
  trivyDbCacheHit: boolean;
  threshold: Severity;
  ignoreUnfixed: boolean;
  policy?: string;
  failOn: 'blocking' | 'never';
  category: string;
  dockerfile: string;
  sarif: string;
  uploadSarif: boolean;
  createIssues: boolean;
  token?: string;
}

// automationDetails.id is compared as text; spaces and other oddities make two categories look alike.
const CATEGORY = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

/** `~` as a shell and actions/cache read it, so one path serves both. */
const expandHome = (path: string) =>
  path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;

export function readInputs(): Inputs {
  const token = secret(optionalString(INPUT.githubToken));
  const reports = listInput(INPUT.reports);
  const scanImage = optionalString(INPUT.scanImage);
  const scanPath = optionalString(INPUT.scanPath);
  if (scanImage !== undefined && scanPath !== undefined) {
    throw new ConfigurationError(
      `Inputs "${INPUT.scanImage}" and "${INPUT.scanPath}" are exclusive: got both; use two scan-gate steps with different categories to scan an image and a directory.`,
    );
  }
  if (reports.length === 0 && scanImage === undefined && scanPath === undefined) {
    throw new ConfigurationError(
      `Input "${INPUT.reports}" is required: got an empty value; set it to the scanner report files, e.g. \`reports: trivy.json\`, or set "${INPUT.scanImage}" or "${INPUT.scanPath}" to run Trivy.`,
    );
  }
  const category = optionalString(INPUT.category) ?? 'scan-gate';
  if (!CATEGORY.test(category)) {
    throw new ConfigurationError(
      `Input "${INPUT.category}" must be a stable name of letters, digits, ".", "_", "-" and "/" such as "container"; got ${JSON.stringify(category)}.`,
    );
  }
  const inputs: Inputs = {
    reports,
    scanImage,
    scanPath,
    trivyCacheDir: expandHome(optionalString(INPUT.trivyCacheDir) ?? '~/.cache/trivy'),
    trivyDbCache: booleanInput(INPUT.trivyDbCache, true),
    trivyDbCacheHit: booleanInput(INPUT.trivyDbCacheHit, false),
    threshold: enumInput(INPUT.severityThreshold, SEVERITIES, 'high'),
    ignoreUnfixed: booleanInput(INPUT.ignoreUnfixed, false),
    policy: optionalString(INPUT.policy),
    failOn: enumInput(INPUT.failOn, ['blocking', 'never'] as const, 'blocking'),
    category,
    dockerfile: optionalString(INPUT.dockerfile) ?? 'Dockerfile',
    sarif: optionalString(INPUT.sarif) ?? 'scan-gate.sarif',
    uploadSarif: booleanInput(INPUT.uploadSarif, false),
    createIssues: booleanInput(INPUT.createIssues, false),
    token,
  };
  if ((inputs.uploadSarif || inputs.createIssues) && !token) {
    const needs = inputs.uploadSarif ? INPUT.uploadSarif : INPUT.createIssues;
    throw new ConfigurationError(
      `Input "${needs}" needs a GitHub token: got an empty "${INPUT.githubToken}"; pass \`github-token: \${{ github.token }}\`.`,
    );
  }
  return inputs;
}
