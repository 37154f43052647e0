import { accessSync, constants } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ConfigurationError } from '@digestline/base';
import type { Credentials } from '@digestline/oci';
import { INPUT, type SbomSource } from './options.js';
import type { ProcessRunner } from './process.js';

export interface Sbom {
  path: string;
  document: Record<string, unknown>;
  /** The tool that generated it; absent when the workflow supplied the file. */
  tool?: string;
}

export type SbomResult = { sbom: Sbom } | { skipped: string };

export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface ScanTarget {
  /** `registry/repository@sha256:…`: the image as pushed, so the SBOM describes exactly that digest. */
  ref: string;
  registry: string;
  credentials?: Credentials;
  /** Plain HTTP (a loopback registry). */
  plainHttp: boolean;
}

/** Credentials go through the environment, never the command line, where `ps` would show them. */
export function syftCommand(
  target: ScanTarget,
  output: string,
): { args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  if (target.plainHttp) env.SYFT_REGISTRY_INSECURE_USE_HTTP = 'true';
  if (target.credentials !== undefined) {
    env.SYFT_REGISTRY_AUTH_AUTHORITY = target.registry;
    env.SYFT_REGISTRY_AUTH_USERNAME = target.credentials.username;
    env.SYFT_REGISTRY_AUTH_PASSWORD = target.credentials.password;
  }
  return { args: ['scan', `registry:${target.ref}`, '-o', `spdx-json=${output}`], env };
}

export function trivyCommand(
  target: ScanTarget,
  output: string,
): { args: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  if (target.plainHttp) env.TRIVY_INSECURE = 'true';
  if (target.credentials !== undefined) {
    env.TRIVY_USERNAME = target.credentials.username;
    env.TRIVY_PASSWORD = target.credentials.password;
  }
  return { args: ['image', '--format', 'spdx-json', '--output', output, target.ref], env };
}

async function readSbom(path: string): Promise<Record<string, unknown>> {
  try {
    const document = JSON.parse(await readFile(path, 'utf8')) as unknown;
    // The same test the attestation applies, made here so a wrong file fails before anything is pushed.
    if (isObject(document) && (isSpdx2(document) || document.bomFormat === 'CycloneDX')) return document;
  } catch {
    // Reported below, with what to do about it.
  }
  throw new ConfigurationError(
    `Input "${INPUT.sbom}" points at ${path}, which is not an SBOM in JSON: give an SPDX 2 ("spdxVersion": "SPDX-2.x") or CycloneDX ("bomFormat": "CycloneDX") JSON file, "auto" or "none".`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSpdx2(document: Record<string, unknown>): boolean {
  return typeof document.spdxVersion === 'string' && document.spdxVersion.startsWith('SPDX-2');
}

/** The workflow's own SBOM file, or why there is none; `auto` is decided once the image is pushed. */
export async function givenSbom(source: SbomSource): Promise<SbomResult | undefined> {
  if (source.kind === 'none') return { skipped: `"${INPUT.sbom}: none"` };
  if (source.kind === 'file') return { sbom: { path: source.path, document: await readSbom(source.path) } };
  return undefined;
}

/** `auto`: an SBOM of the pushed image made by syft or trivy, when either is installed. */
export async function generateSbom(
  runner: ProcessRunner,
  target: ScanTarget,
  dir: string,
): Promise<SbomResult> {
  const tool = ['syft', 'trivy'].find((name) => onPath(name));
  if (tool === undefined) {
    return {
      skipped: `"${INPUT.sbom}: auto" found neither syft nor trivy on PATH (install one, e.g. anchore/sbom-action/download-syft, or pass an SBOM file)`,
    };
  }
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'sbom.spdx.json');
  const { args, env } = tool === 'syft' ? syftCommand(target, path) : trivyCommand(target, path);
  await runner.run(tool, args, { env });
  return { sbom: { path, document: await readSbom(path), tool } };
}
