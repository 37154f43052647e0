/** Input and output names: the one place they are spelled (action.yml must match). */
export const INPUT = {
  path: 'path',
  format: 'format',
  changedOnly: 'changed-only',
  postgresVersion: 'postgres-version',
  config: 'config',
  databaseUrl: 'database-url',
  databaseTls: 'database-tls',
  historyTable: 'history-table',
  requireDown: 'require-down',
  failOn: 'fail-on',
  report: 'report',
  sarif: 'sarif',
} as const;

export const OUTPUT = {
  errors: 'errors',
  warnings: 'warnings',
  report: 'report',
  sarif: 'sarif',
} as const;

export const FAIL_ON = ['error', 'warning', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** libpq's sslmode values that never fall back to plain text, strongest first. */
export const DATABASE_TLS = ['verify-full', 'verify-ca', 'require', 'disable'] as const;

/** The PostgreSQL majors whose behaviour the rules know. */
export const POSTGRES_VERSIONS = { min: 10, max: 18 } as const;
