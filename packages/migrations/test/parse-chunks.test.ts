import { beforeAll, describe, expect, test } from '@jest/globals';
import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import {
  loadParser,
  parseSql,
  parseSqlInChunks,
  parseTree,
  SqlSyntaxError,
  type Statement,
} from '../src/parser.js';

beforeAll(async () => {
  await Promise.all([loadParser(), loadModule()]);
});

/** Every chunk's statements, and the syntax error the generator returns. */
function chunked(sql: string, chunkChars: number) {
  const statements: Statement[] = [];
  const chunks = parseSqlInChunks(sql, chunkChars);
  let next = chunks.next();
  for (; !next.done; next = chunks.next()) statements.push(...next.value.statements);
  return { statements, syntaxError: next.value };
}

const positions = (statements: Statement[], sql: string) =>
  statements.map((s) => `${s.kind} ${JSON.stringify(sql.slice(s.start, s.end))}`);

// Semicolons where a plain split would cut: in strings of both kinds, quoted names, both comment forms
// (nested), dollar-quoted bodies, a rule's parenthesised actions and a BEGIN ATOMIC body; and non-ASCII text.
const TRICKY = `SET lock_timeout = '2s';
CREATE TABLE "semi;colon" (id bigint, note text DEFAULT 'a;b''c;');
COMMENT ON TABLE "semi;colon" IS E'it\\'s; fine';
-- a comment; with a semicolon
/* nested /* comment; */ still; comment */
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END; $body$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;
CREATE RULE r AS ON INSERT TO "semi;colon" DO ALSO (NOTIFY a; NOTIFY b);
DO $$ BEGIN PERFORM 'é;ü'; END $$;
SELECT 'ünïcødé ✓;' AS x; SELECT $1;
ALTER TABLE "semi;colon" ADD COLUMN name text
`;

describe('the parser driven through libpg_query’s C API', () => {
  test('gives the tree libpg-query’s own parseSync gives, for ASCII and non-ASCII text', () => {
    for (const sql of [TRICKY, 'SELECT 1', `${'ALTER TABLE "Ünïcødé ✓" ADD COLUMN x text; '.repeat(300)}`]) {
      expect(parseTree(sql)).toEqual(parseSync(sql));
    }
  });

  test('reports a syntax error with the message and position libpg-query reports', () => {
    for (const sql of ['SELEC 1', "SELECT 'ü';\nSELECT * FRM t;", 'CREATE TABLE (']) {
      let ours: unknown;
      let theirs: unknown;
      try {
        parseTree(sql);
      } catch (error) {
        ours = error;
      }
      try {
        parseSync(sql);
      } catch (error) {
        theirs = error;
      }
      expect(ours).toBeInstanceOf(SqlSyntaxError);
      if (!hasSqlDetails(theirs)) throw new Error('libpg-query reported no syntax error');
      const { message, cursorPosition } = ours as SqlSyntaxError;
      expect({ message, cursorPosition }).toEqual({
        message: theirs.sqlDetails?.message,
        cursorPosition: theirs.sqlDetails?.cursorPosition,
      });
    }
  });
});

describe('parsing in pieces', () => {
  test.each([1, 16, 64, 200, 100_000])(
    'pieces of %i characters: the statements of a parse of the whole text, at the same places',
    (chunkChars) => {
      const whole = parseSql(TRICKY);
      expect(whole.syntaxError).toBeUndefined();
      const pieces = chunked(TRICKY, chunkChars);
      expect(pieces.syntaxError).toBeUndefined();
      expect(positions(pieces.statements, TRICKY)).toEqual(positions(whole.statements, TRICKY));
      // A node's own `location` counts from its piece (nothing here reads it); everything else is equal.
      const trees = (statements: Statement[]) =>
        JSON.stringify(statements.map((s) => s.node)).replace(/"location":\d+/g, '');
      expect(trees(pieces.statements)).toBe(trees(whole.statements));
    },
  );

  test('a syntax error in a later piece is the whole text’s error, at its place', () => {
    const sql = `${'SELECT 1;\n'.repeat(50)}SELEC 2;\nSELECT 3;\n`;
    const whole = parseSql(sql);
    expect(chunked(sql, 32).syntaxError).toEqual(whole.syntaxError);
    expect(whole.syntaxError?.index).toBe(500);
  });

  test('text after the last statement that is only comments means no statement follows', () => {
    const chunks = [...parseSqlInChunks('SELECT 1;\n-- done; really\n/* ; */\n', 4)];
    expect(chunks.map((c) => [c.statements.length, c.more])).toEqual([[1, false]]);
  });
});
