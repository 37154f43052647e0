import {
  booleanInput,
  ConfigurationError,
  enumInput,
  githubContext,
  listInput,
  optionalString,
  parseBoolean,
  secret,
} from '@digestline/action-kit';
import { describeDatabase, FORMATS, type Format, isLoopbackHost } from '@digestline/migrations';
import { DATABASE_TLS, FAIL_ON, type FailOn, INPUT, POSTGRES_VERSIONS } from './constants.js';

export interface RunInputs {
  workspace: string;
  paths: string[];
  format: Format;
  /** The pull request's base commit (or ref) when only changed files are checked. */
  changedSince?: string;
  postgresVersion: number;
  config?: string;
  /** With the `database-tls` input as its `sslmode` when the host is not a loopback name. */
  databaseUrl?: string;
  historyTable?: string;
  requireDown: boolean;
  failOn: FailOn;
  report: string;
  sarif: string;
}

export function readInputs(): RunInputs {
  // Registered before anything else can print it, password on its own too (it is what a log would leak).
  const given = secret(optionalString(INPUT.databaseUrl));
  if (given !== undefined) {
    try {
      secret(decodeURIComponent(new URL(given).password));
    } catch {}
  }
  const tls = enumInput(INPUT.databaseTls, DATABASE_TLS, 'verify-full');
  const databaseUrl = given === undefined ? undefined : secret(withTls(given, tls));
  // action.yml's default; an empty value (an unset variable) then fails in discovery, naming the path.
  const paths = listInput(INPUT.path);
  if (paths.length === 0) paths.push('migrations');
  return {
    workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
    paths,
    format: enumInput(INPUT.format, FORMATS, 'auto'),
    changedSince: changedSince(),
    postgresVersion: postgresVersion(),
    config: optionalString(INPUT.config),
    databaseUrl,
    // Checked by checkMigrations before anything is read (for the command line too).
    historyTable: optionalString(INPUT.historyTable),
    requireDown: booleanInput(INPUT.requireDown, false),
    failOn: enumInput(INPUT.failOn, FAIL_ON, 'error'),
    report: optionalString(INPUT.report) ?? 'migration-check.json',
    sarif: optionalString(INPUT.sarif) ?? 'migration-check.sarif',
  };
}

/**
 * Only the input lowers TLS for a host that is not a loopback name: whatever `sslmode` the URL carries
 * (a secret nobody reviews), the input's mode replaces it. Loopback hosts keep the URL as it is.
 */
function withTls(url: string, mode: (typeof DATABASE_TLS)[number]): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (isLoopbackHost(describeDatabase(url).host)) return url;
  } catch {
    // The dry-run refuses an unreadable URL with its own message.
    return url;
  }
  parsed.searchParams.set('sslmode', mode);
  return parsed.toString();
}

function postgresVersion(): number {
  const raw = (optionalString(INPUT.postgresVersion) ?? '15').trim();
  const version = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(version >= POSTGRES_VERSIONS.min && version <= POSTGRES_VERSIONS.max)) {
    throw new ConfigurationError(
      `Input "${INPUT.postgresVersion}" must be a PostgreSQL major version from ${POSTGRES_VERSIONS.min} to ${POSTGRES_VERSIONS.max} such as 15; got ${JSON.stringify(raw)}.`,
    );
  }
  return version;
}

/** Empty `changed-only` means: on pull requests yes, elsewhere there is no base to compare with. */
function changedSince(): string | undefined {
  const context = githubContext();
  const isPullRequest = context.eventName === 'pull_request' || context.eventName === 'pull_request_target';
  const raw = optionalString(INPUT.changedOnly);
  const wanted = raw === undefined ? isPullRequest : parseBoolean(raw, INPUT.changedOnly);
  if (!wanted) return undefined;
  const base =
    (context.payload.pull_request?.base as { sha?: string } | undefined)?.sha ??
    (process.env.GITHUB_BASE_REF ? `origin/${process.env.GITHUB_BASE_REF}` : undefined);
  if (!isPullRequest || base === undefined) {
    throw new ConfigurationError(
      `Input "${INPUT.changedOnly}" is true, but this ${context.eventName} event has no pull request base to compare with; set "${INPUT.changedOnly}: false" outside pull_request workflows.`,
    );
  }
  return base;
}
