import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { discoverMigrations, type Migration } from '../src/discovery.js';
import { type LintResult, lintMigrations } from '../src/lint.js';
import { PARALLEL_FROM_CHARS, ParallelParser, ParserThread } from '../src/parallel.js';
import { loadParser } from '../src/parser.js';
import { workspace } from './helpers.js';

// Small pieces, so that a few hundred kilobytes make many of them and some cuts fall where the quick
// scan misreads the text (a BEGIN ATOMIC body), which sends that migration back to a whole parse.
const CHUNK = 4 * 1024;

function bigMigration(seed: number): string {
  const lines = ["SET lock_timeout = '2s';"];
  for (let i = 0; lines.join('\n').length < 160 * 1024; i++) {
    const t = `t${seed}_${i}`;
    lines.push(
      `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text DEFAULT 'a;b''c;', "semi;colon" int);`,
      `COMMENT ON TABLE ${t} IS E'it\\'s; fine ünïcødé ✓';`,
      `ALTER TABLE users ADD COLUMN n${seed}_${i} bigint NOT NULL;`,
      `CREATE INDEX ${t}_idx ON users (n${seed}_${i});`,
      `CREATE FUNCTION f${seed}_${i}() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$;`,
      `ALTER TABLE ${t} RENAME COLUMN note TO remark;`,
    );
    if (i % 40 === 7)
      lines.push(
        `CREATE FUNCTION g${seed}_${i}() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;`,
      );
  }
  return `${lines.join('\n')}\n`;
}

const FILES = {
  'migrations/V1__first.sql': bigMigration(1),
  'migrations/V2__second.sql': bigMigration(2),
  // The same text twice: its pieces are shared.
  'migrations/V3__again.sql': bigMigration(1),
  // A syntax error far into a large file: what was found before it is void.
  'migrations/V4__broken.sql': `${bigMigration(4).slice(0, 60 * 1024)}\nALTER TABLE users ADD COLUMN;\n${bigMigration(5).slice(0, 20 * 1024)}`,
};

const ENTRY = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const TSX = ['--import', 'tsx'];

let dir: Awaited<ReturnType<typeof workspace>>;
let migrations: Migration[];
let alone: LintResult;

beforeAll(async () => {
  dir = await workspace(FILES);
  await loadParser();
  migrations = await discoverMigrations({ paths: ['migrations'], root: dir.path });
  alone = lint(undefined);
});

afterAll(async () => {
  await dir.remove();
});

function lint(parallel: ParallelParser | undefined): LintResult {
  return lintMigrations(migrations, { postgresVersion: 15, chunkChars: CHUNK, parallel });
}

/** What a lint found and parsed, in a form to compare: every finding, every statement's kind and place. */
const outcome = (result: LintResult) => ({
  findings: result.findings,
  parsed: result.parsed.map((p) => ({
    file: p.migration.path,
    syntaxError: p.syntaxError,
    statements: p.statements.map((s) => `${s.kind}@${s.start}-${s.end}`),
  })),
});

/** Starts a thread from `entry`, lints with it, and stops it. */
async function lintWith(entry: string, stallMs?: number) {
  const thread = new ParserThread(ENTRY(entry), { execArgv: TSX, stallMs });
  // Booted and waiting for work, as in the action, where it starts before discovery (under tsx it takes
  // longer to load the parser than the lint takes).
  if (entry === 'parser-thread.ts') await thread.ready;
  else await new Promise((resolve) => thread.worker.once('online', resolve));
  const parallel = ParallelParser.start(
    thread,
    migrations.map((m) => m.sql),
    CHUNK,
  ) as ParallelParser;
  try {
    return { result: lint(parallel), progress: parallel.progress };
  } finally {
    parallel.close();
  }
}

describe('parsing on two threads', () => {
  test('the set is large enough, and the one-thread lint finds what the files hold', () => {
    const chars = migrations.reduce((sum, m) => sum + m.sql.length, 0);
    expect(chars).toBeGreaterThan(PARALLEL_FROM_CHARS);
    const rules = new Set(alone.findings.map((f) => f.rule));
    expect([...rules]).toEqual(
      expect.arrayContaining([
        'add-not-null-column-without-default',
        'create-index-non-concurrently',
        'syntax-error',
      ]),
    );
    expect(alone.parsed.find((p) => p.migration.path.endsWith('V4__broken.sql'))?.syntaxError).toBeDefined();
  });

  test('finds and parses exactly what one thread does, with most pieces parsed on the other thread', async () => {
    const { result, progress } = await lintWith('parser-thread.ts');
    expect(outcome(result)).toEqual(outcome(alone));
    expect(progress.pieces).toBeGreaterThan(50);
    // The rules are the slower side, so the other thread takes most pieces (about 90 of 100 here).
    expect(progress.parsedThere).toBeGreaterThan(progress.pieces / 2);
  });

  test('a thread that never serves: every piece is parsed here, with the same outcome', async () => {
    const { result, progress } = await lintWith('parser-thread-idle.ts');
    expect(outcome(result)).toEqual(outcome(alone));
    expect(progress.parsedThere).toBe(0);
  });

  test('a thread that takes a piece and dies: the lint stops waiting and parses the rest itself', async () => {
    const started = performance.now();
    const { result, progress } = await lintWith('parser-thread-dies.ts', 300);
    expect(outcome(result)).toEqual(outcome(alone));
    expect(progress.parsedThere).toBe(0);
    // It waited for the piece the thread took, once, not for every piece after it.
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test('a small set is parsed on this thread alone, and the second thread is stopped', async () => {
    const thread = new ParserThread(ENTRY('parser-thread.ts'), { execArgv: TSX });
    const exited = new Promise((resolve) => thread.worker.once('exit', resolve));
    expect(ParallelParser.start(thread, ['SELECT 1;'], CHUNK)).toBeUndefined();
    await expect(exited).resolves.toBeDefined();
  });
});
