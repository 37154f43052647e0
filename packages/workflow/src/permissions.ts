import { WorkflowError } from './errors.js';

export type Level = 'none' | 'read' | 'write';
export type Permissions = Record<string, Level>;

/** The GITHUB_TOKEN scopes a workflow may name. */
export const SCOPES = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
] as const;

const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 };

/** What a repository with the "restricted" default grants a job that declares nothing. */
export const RESTRICTED_DEFAULT: Permissions = { contents: 'read', packages: 'read' };

/** A `permissions:` value as a full map of scopes (undefined when the key is absent). */
export function parsePermissions(value: unknown, where: string): Permissions | undefined {
  if (value === undefined || value === null) return undefined;
  const all = (level: Level): Permissions =>
    Object.fromEntries(
      SCOPES.map((scope) => [scope, scope === 'id-token' && level === 'read' ? 'none' : level]),
    );
  if (value === 'read-all') return all('read');
  if (value === 'write-all') return all('write');
  if (typeof value !== 'object' || Array.isArray(value))
    throw new WorkflowError(`${where}: permissions must be read-all, write-all or a mapping of scopes`);
  const granted = all('none');
  for (const [scope, level] of Object.entries(value)) {
    if (!(SCOPES as readonly string[]).includes(scope))
      throw new WorkflowError(`${where}: unknown permission scope "${scope}"`);
    if (level !== 'none' && level !== 'read' && level !== 'write')
      throw new WorkflowError(`${where}: permission ${scope} must be none, read or write, not "${level}"`);
    granted[scope] = level;
  }
  return granted;
}

export function levelOf(permissions: Permissions, scope: string): Level {
  return permissions[scope] ?? 'none';
}

export function allows(permissions: Permissions, scope: string, level: Level): boolean {
  if (scope === 'metadata') return true;
  return RANK[levelOf(permissions, scope)] >= RANK[level];
}

/** Scopes `requested` asks for above what `allowed` gives, as GitHub words it for a nested job. */
export function exceeding(requested: Permissions, allowed: Permissions): string[] {
  return Object.entries(requested)
    .filter(([scope, level]) => RANK[level] > RANK[levelOf(allowed, scope)])
    .map(
      ([scope, level]) => `'${scope}: ${level}', but is only allowed '${scope}: ${levelOf(allowed, scope)}'`,
    );
}

/** At most read in every scope and no OIDC token: what GitHub grants a pull request from a fork. */
export function readOnly(permissions: Permissions): Permissions {
  return Object.fromEntries(
    Object.entries(permissions).map(([scope, level]) => [
      scope,
      scope === 'id-token' ? 'none' : level === 'write' ? 'read' : level,
    ]),
  );
}

export function restrict(permissions: Permissions, ceiling: Permissions | undefined): Permissions {
  if (ceiling === undefined) return permissions;
  return Object.fromEntries(
    Object.entries(permissions).map(([scope, level]) => [
      scope,
      RANK[level] > RANK[levelOf(ceiling, scope)] ? levelOf(ceiling, scope) : level,
    ]),
  );
}

/**
 * The scope a REST call needs, from its path (GitHub documents one per endpoint; these are the
 * endpoints a workflow's token is used for). `undefined` for a call this table does not know, which
 * the gate refuses rather than guesses.
 */
const REPOSITORY_SCOPES: [RegExp, string][] = [
  [/^\/(statuses|commits\/[^/]+\/(status|statuses))(\/|$)/, 'statuses'],
  [/^\/(issues|labels|milestones)(\/|$)/, 'issues'],
  [/^\/pulls(\/|$)/, 'pull-requests'],
  [/^\/code-scanning(\/|$)/, 'security-events'],
  [/^\/deployments(\/|$)/, 'deployments'],
  [/^\/actions(\/|$)/, 'actions'],
  [/^\/(check-runs|check-suites)(\/|$)/, 'checks'],
  [/^\/attestations(\/|$)/, 'attestations'],
  [/^\/(contents|git|commits|branches|compare|tags|releases|readme|zipball|tarball)(\/|$)/, 'contents'],
  [/^\/?$/, 'metadata'],
];

export function requiredPermission(
  method: string,
  path: string,
): { scope: string; level: Level } | undefined {
  const level: Level = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
  const repository = /^\/repos\/[^/]+\/[^/]+(\/.*)?$/.exec(path);
  if (repository !== null) {
    const rest = repository[1] ?? '';
    const found = REPOSITORY_SCOPES.find(([pattern]) => pattern.test(rest));
    return found === undefined ? undefined : { scope: found[1], level };
  }
  if (/^\/(orgs\/[^/]+|users\/[^/]+|user)\/packages(\/|$)/.test(path)) return { scope: 'packages', level };
  return undefined;
}
