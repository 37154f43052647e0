import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from '@jest/globals';
import { workspace } from './helpers.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/migration-check.js', import.meta.url));

async function cli(cwd: string, ...args: string[]) {
  return run(process.execPath, [bin, ...args], { cwd }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('migration-check command', () => {
  test('prints file:line:column findings and exits 1 on errors, 0 with --fail-on never, 2 on bad input', async () => {
    const dir = await workspace({
      'db/V1__drop.sql': "SET lock_timeout = '1s';\nSELECT 1; DROP TABLE users;\n",
    });
    try {
      const failing = await cli(dir.path, 'db');
      expect(failing.code).toBe(1);
      expect(failing.stdout).toContain('db/V1__drop.sql:2:11: error [drop-table] Drops table users.');
      expect((await cli(dir.path, 'db', '--fail-on', 'never', '--json')).code).toBe(0);
      const missing = await cli(dir.path, 'nowhere');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('"nowhere" matches no .sql file');
    } finally {
      await dir.remove();
    }
  });

  test('exits 3 when the database for the dry-run does not answer, and says which', async () => {
    const dir = await workspace({ 'db/V1__add.sql': 'CREATE TABLE t (id int);\n' });
    try {
      const result = await cli(dir.path, 'db', '--database-url', 'postgres://nobody@127.0.0.1:9/none');
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^migration-check: .*127\.0\.0\.1:9/m);
      // A --history-table that is not a table name is the user's to fix (2), found before connecting (3).
      const named = await cli(
        dir.path,
        'db',
        '--database-url',
        'postgres://nobody@127.0.0.1:9/none',
        '--history-table',
        'a.b.c',
      );
      expect(named.code).toBe(2);
      expect(named.stderr).toContain('history-table "a.b.c" is not a table name');
    } finally {
      await dir.remove();
    }
  });
});
