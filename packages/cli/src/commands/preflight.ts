import type { Command } from '../main.js';

export const preflightCommand: Command = {
  name: 'preflight',
  summary: 'Checks migrations, scanner reports and workflow files locally, before you push.',
  usage: `Usage: digestline preflight [options]

  --dir <path>                 project root (default: the current directory)
  --migrations <path>          migration files, directories or globs (repeatable; default: migrations/ when present)
  --database-url <url>         also dry-run the migrations there, in a transaction that is rolled back;
                               better set DIGESTLINE_DATABASE_URL: a password on the command line is
                               visible to every user of the machine (ps)
  --postgres-version <n>       major version the migrations run on (default 15)
  --reports <glob>             Trivy, Grype, npm/pnpm audit or SARIF reports (repeatable)
  --severity-threshold <s>     critical, high (default), medium, low or unknown
  --ignore-unfixed             leave out vulnerabilities without a fixed version
  --policy <file>              scan policy (waivers, budgets, kinds), as scan-gate reads it
  --sarif <file>               keep the scan SARIF there (default: not kept)
  --workflows <dir>            workflow files to validate (repeatable; default: .github/workflows/ when present)

Runs the same migration-check and scan-gate code as the actions, and parses every workflow with GitHub's
own parser (plus: no \${{ }} in run:, actions/checkout with persist-credentials: false).`,
  options: {
    dir: { type: 'string' },
    migrations: { type: 'string', multiple: true },
    'database-url': { type: 'string' },
    'postgres-version': { type: 'string' },
    reports: { type: 'string', multiple: true },
    'severity-threshold': { type: 'string' },
    'ignore-unfixed': { type: 'boolean' },
    policy: { type: 'string' },
    sarif: { type: 'string' },
    workflows: { type: 'string', multiple: true },
  },
  run: async (args, io) => (await import('./preflight-run.js')).preflight(args, io),
};
