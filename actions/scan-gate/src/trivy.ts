import { homedir } from 'node:os';
import { join } from 'node:path';
import * as cache from '@actions/cache';
import * as exec from '@actions/exec';
import { ConfigurationError, log } from '@digestline/action-kit';
import { childEnvironment } from '@digestline/base';
import { type DatabaseCache, type Exec, runTrivy, type TrivyRunResult } from '@digestline/scan';
import { INPUT } from './constants.js';
import type { Inputs } from './inputs.js';

const execTrivy: Exec = async (command, args) => {
  try {
    // Trivy reads the repository's files and images: it gets no input and no runner token.
    return await exec.getExecOutput(command, args, { ignoreReturnCode: true, env: childEnvironment() });
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

/** Trivy's own default cache directory, so the cached path is the same on every run. */
export function scanWithTrivy(inputs: Inputs, workspace: string, temp: string): Promise<TrivyRunResult> {
  return runTrivy(
    execTrivy,
    runnerCache,
    {
      image: inputs.scanImage,
      path: inputs.scanPath === undefined ? undefined : join(workspace, inputs.scanPath),
      output: join(temp, 'scan-gate-trivy.json'),
      cacheDir: join(homedir(), '.cache', 'trivy'),
      os: process.env.RUNNER_OS ?? process.platform,
      now: new Date(),
    },
    log,
  );
}
