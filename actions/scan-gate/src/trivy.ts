import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as cache from '@actions/cache';
import * as exec from '@actions/exec';
import { ConfigurationError, log } from '@digestline/action-kit';
import { childEnvironment } from '@digestline/base';
import {
  type DatabaseCache,
  type Exec,
  type Policy,
  runTrivy,
  type TrivyRunResult,
  type TrivySettings,
} from '@digestline/scan';
import { INPUT } from './constants.js';
import type { Inputs } from './inputs.js';

const execTrivy: Exec = async (command, args, { cwd }) => {
  try {
    // Trivy reads the repository's files and images: it gets no input and no runner token.
    return await exec.getExecOutput(command, args, {
      ignoreReturnCode: true,
      env: childEnvironment(),
      cwd,
    });
  } catch (error) {
    if (/Unable to locate executable/.test((error as Error).message)) {
      throw new ConfigurationError(
        `\`${command}\` is not on PATH: "${INPUT.scanImage}"/"${INPUT.scanPath}" run Trivy, so install a pinned Trivy release in an earlier step (the digestline templates do), or pass an existing report in "${INPUT.reports}".`,
      );
    }
    throw error;
  }
};

const runnerCache: DatabaseCache = {
  available: () => cache.isFeatureAvailable(),
  restore: (paths, key, restoreKeys) => cache.restoreCache(paths, key, restoreKeys),
  async save(paths, key) {
    // Another job of the same day may have saved the key first; the database is then cached anyway.
    try {
      await cache.saveCache(paths, key);
    } catch (error) {
      log.info(`The Trivy database was not saved to the cache: ${(error as Error).message}`);
    }
  },
};

/** The settings files the policy names, in the workspace; each must be there. */
async function namedSettings(policy: Policy, workspace: string): Promise<TrivySettings> {
  const settings: TrivySettings = {};
  for (const [field, path] of Object.entries(policy.trivy ?? {}) as [keyof TrivySettings, string][]) {
    const file = join(workspace, path);
    if (!(await stat(file).catch(() => undefined))?.isFile()) {
      throw new ConfigurationError(
        `The policy ${policy.file} names the Trivy file ${path}, which is not a file in the workspace: add it, or remove it from \`trivy\` in the policy.`,
      );
    }
    settings[field] = file;
  }
  return settings;
}

/**
 * Trivy runs in a directory of its own under `temp` with the settings the policy names and no others.
 * Its cache directory is `trivy-cache-dir` (Trivy's own default unless set), where an actions/cache step
 * of the workflow may have restored today's databases; this step caches them itself unless
 * `trivy-db-cache` is false.
 */
export async function scanWithTrivy(
  inputs: Inputs,
  policy: Policy,
  workspace: string,
  temp: string,
): Promise<TrivyRunResult> {
  return runTrivy(
    execTrivy,
    inputs.trivyDbCache ? runnerCache : undefined,
    {
      image: inputs.scanImage,
      path: inputs.scanPath === undefined ? undefined : join(workspace, inputs.scanPath),
      output: join(temp, 'scan-gate-trivy.json'),
      cacheDir: inputs.trivyCacheDir,
      restoredToday: inputs.trivyDbCacheHit,
      os: process.env.RUNNER_OS ?? process.platform,
      now: new Date(),
      settingsDir: join(temp, 'scan-gate-trivy-settings'),
      settings: await namedSettings(policy, workspace),
    },
    log,
  );
}
