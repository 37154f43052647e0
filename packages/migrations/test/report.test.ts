import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { checkMigrations } from '../src/check.js';
import { buildSarif, PRETTY_FINDINGS_LIMIT, writeReport, writeSarif } from '../src/report.js';
import { workspace } from './helpers.js';

/** A migration with `count` findings (indexes built on an existing table without CONCURRENTLY). */
const indexes = (count: number) =>
  `SET lock_timeout = '2s';\n${Array.from({ length: count }, (_, i) => `CREATE INDEX i${i} ON users (c${i});`).join('\n')}\n`;

describe('the JSON report and the SARIF on disk', () => {
  test.each([
    ['indented', 3],
    ['compact, written a result at a time', PRETTY_FINDINGS_LIMIT + 1],
  ])('%s: the same document as the objects', async (_layout, count) => {
    const dir = await workspace({ 'db/V1__indexes.sql': indexes(count) });
    try {
      const { report, sarif } = await checkMigrations({ root: dir.path, paths: ['db'] });
      expect(report.findings).toHaveLength(count);
      writeReport(join(dir.path, 'out/report.json'), report);
      writeSarif(join(dir.path, 'out/results.sarif'), report);
      const reportText = await readFile(join(dir.path, 'out/report.json'), 'utf8');
      const sarifText = await readFile(join(dir.path, 'out/results.sarif'), 'utf8');
      const indent = count <= PRETTY_FINDINGS_LIMIT ? 2 : undefined;
      expect(reportText).toBe(`${JSON.stringify(report, null, indent)}\n`);
      expect(sarifText).toBe(`${JSON.stringify(sarif, null, indent)}\n`);
      expect(sarif).toEqual(buildSarif(report));
    } finally {
      await dir.remove();
    }
  });
});
