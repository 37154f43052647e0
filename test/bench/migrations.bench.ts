// migration-check: lint throughput against a bare libpg-query parse of the same text, whole-process wall
// time against squawk (the leading PostgreSQL migration linter) on the same file, and the dry-run of
// 1,000 statements on a real PostgreSQL.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, node24, repoRoot, startPostgres } from '@digestline/local';
import pg from 'pg';
import { discoverMigrations } from '../../packages/migrations/src/discovery.js';
import { dryRun } from '../../packages/migrations/src/dry-run.js';
import { lintMigrations } from '../../packages/migrations/src/lint.js';
import { loadParser, parseTree } from '../../packages/migrations/src/parser.js';
import { type BenchTable, percentile, round } from './lib.js';

const STATEMENTS = 100_000;
const DRY_RUN_STATEMENTS = 1_000;
const RUNS = 1;
/** squawk's time grows faster than linearly with file size: past this it is stopped, and reported so. */
const SQUAWK_LIMIT_MS = 45_000;
const SMALL_FILE_STATEMENTS = 10_000;

/**
 * Ten kinds of DDL in rotation on new tables and on an existing `users`, most of them safe; the index on
 * `users` is flagged (create-index-non-concurrently). `i` keeps names unique.
 */
function statement(i: number): string {
  const t = `t${Math.floor(i / 10)}`;
  switch (i % 10) {
    case 0:
      return `CREATE TABLE ${t} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz DEFAULT now());`;
    case 1:
      return `ALTER TABLE users ADD COLUMN c${i} text;`;
    case 2:
      return `CREATE INDEX users_c${i - 1}_idx ON users (c${i - 1});`;
    case 3:
      return `COMMENT ON TABLE ${t} IS 'DROP TABLE ${t}; -- not a statement';`;
    case 4:
      return `ALTER TABLE ${t} ADD COLUMN amount numeric(12,2) NOT NULL DEFAULT 0;`;
    case 5:
      return `INSERT INTO ${t} (id, name) VALUES (${i}, 'n${i}');`;
    case 6:
      return `ALTER TABLE ${t} ADD CONSTRAINT ${t}_amount_check CHECK (amount >= 0) NOT VALID;`;
    case 7:
      return `ALTER TABLE ${t} VALIDATE CONSTRAINT ${t}_amount_check;`;
    case 8:
      return `CREATE VIEW ${t}_v AS SELECT id, name FROM ${t} WHERE amount > 0;`;
    default:
      return `ALTER TABLE ${t} RENAME COLUMN name TO title;`;
  }
}

const sqlOf = (count: number) =>
  `SET lock_timeout = '2s';\n${Array.from({ length: count }, (_, i) => statement(i)).join('\n')}\n`;

function time<T>(fn: () => T): { ms: number; value: T } {
  const started = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

function median(fn: () => unknown): number {
  const times = Array.from({ length: RUNS }, () => time(fn).ms).sort((a, b) => a - b);
  return percentile(times, 50);
}

interface Wall {
  ms: number;
  status: string;
}

function wall(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, timeout?: number): Wall {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, cwd, timeout, maxBuffer: 1024 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error && (result.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw result.error;
  return { ms, status: result.signal ? `stopped after ${Math.round(ms / 1000)} s` : `exit ${result.status}` };
}

export default async function migrationsBench(): Promise<BenchTable> {
  const temp = await makeTempDir('bench-migrations');
  try {
    const root = temp.path;
    await mkdir(join(root, 'db'));
    const file = join(root, 'db', 'bench.sql');
    const sql = sqlOf(STATEMENTS);
    await writeFile(file, sql);
    await loadParser();

    // The first parse of a large text grows the WebAssembly heap; measured first, it would look slower.
    parseTree(sql);
    const parseMs = median(() => parseTree(sql));
    const migrations = await discoverMigrations({ paths: ['db'], root });
    let findings = 0;
    const lintMs = median(() => {
      findings = lintMigrations(migrations, { postgresVersion: 15 }).findings.length;
    });

    const bundle = join(repoRoot, 'actions/migration-check/dist/index.js');
    const whole = async (count: number) => {
      await writeFile(file, count === STATEMENTS ? sql : sqlOf(count));
      const env = {
        PATH: process.env.PATH ?? '',
        GITHUB_WORKSPACE: root,
        INPUT_PATH: 'db',
        'INPUT_FAIL-ON': 'never',
        INPUT_REPORT: 'out.json',
        INPUT_SARIF: 'out.sarif',
      };
      const ours = wall(node24, [bundle], env, root);
      const squawkBin = join(repoRoot, 'node_modules/.bin/squawk');
      const squawk = wall(squawkBin, [file], { PATH: env.PATH }, root, SQUAWK_LIMIT_MS);
      return { count, ours, squawk };
    };
    const processes = [await whole(SMALL_FILE_STATEMENTS), await whole(STATEMENTS)];

    const server = await startPostgres();
    let dryRunMs: number;
    let executed = 0;
    try {
      const url = await server.createDatabase('bench');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('CREATE TABLE users (id bigint PRIMARY KEY)');
      await client.end();
      await writeFile(file, sqlOf(DRY_RUN_STATEMENTS - 1));
      const { parsed } = lintMigrations(await discoverMigrations({ paths: ['db'], root }), {
        postgresVersion: 15,
      });
      const started = process.hrtime.bigint();
      const result = await dryRun(parsed, { databaseUrl: url });
      dryRunMs = Number(process.hrtime.bigint() - started) / 1e6;
      executed = result.executed;
      if (result.failure) throw new Error(`bench dry-run failed: ${result.failure.message}`);
    } finally {
      await server.stop();
    }

    const perSecond = (ms: number, n: number) => Math.round(n / (ms / 1000));
    return {
      name: 'migrations',
      title: `migration-check: ${STATEMENTS.toLocaleString('en')} statements of mixed DDL (in-process: ${RUNS} run each)`,
      columns: ['measure', 'ms', 'statements/s', 'vs baseline'],
      rows: [
        ['bare libpg-query parse (baseline)', round(parseMs), perSecond(parseMs, STATEMENTS), '1.00×'],
        [
          `lint (parse + every rule, ${findings} findings)`,
          round(lintMs),
          perSecond(lintMs, STATEMENTS),
          `${(lintMs / parseMs).toFixed(2)}×`,
        ],
        ...processes.flatMap(({ count, ours, squawk }) => {
          const label = count.toLocaleString('en');
          return [
            [
              `whole process, ${label} statements: migration-check bundle (${ours.status})`,
              round(ours.ms),
              perSecond(ours.ms, count),
              '—',
            ],
            [
              `whole process, ${label} statements: squawk 2.66 (${squawk.status})`,
              round(squawk.ms),
              perSecond(squawk.ms, count),
              `ours = ${(ours.ms / squawk.ms).toFixed(2)}× squawk`,
            ],
          ];
        }),
        [
          `dry-run on PostgreSQL 15 (${executed} statements, locks + rewrites, rollback)`,
          round(dryRunMs),
          perSecond(dryRunMs, executed),
          '—',
        ],
      ],
      notes: [
        'Targets: lint ≤ 1.5× parse time; our whole-process wall time ≤ squawk’s.',
        `squawk is stopped after ${SQUAWK_LIMIT_MS / 1000} s (its time grows faster than linearly with the file); a stopped run's time is a lower bound.`,
        'The bundle run includes Node start-up, loading the WebAssembly parser, and writing the JSON report and SARIF.',
      ],
    };
  } finally {
    await temp.remove();
  }
}
