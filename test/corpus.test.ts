import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, test } from '@jest/globals';
import { corpusDir } from './harness/corpus.js';

const SHA_LINE = /^([0-9a-f]{64}) {2}(\S.*)$/gm;

function hashes(text: string): Map<string, string> {
  return new Map([...text.matchAll(SHA_LINE)].map((match) => [match[2] ?? '', match[1] ?? '']));
}

/** SHA256SUMS (sha256sum's format) covers every copied file; PROVENANCE.md lists most of them too. */
const sums = hashes(readFileSync(join(corpusDir, 'SHA256SUMS'), 'utf8'));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(corpusDir, join(entry.parentPath, entry.name)))
    .filter((path) => path !== 'PROVENANCE.md' && path !== 'SHA256SUMS')
    .sort();
}

test('SHA256SUMS lists every corpus file and nothing that is missing', () => {
  expect(sums.size).toBeGreaterThan(30);
  expect(filesUnder(corpusDir)).toEqual([...sums.keys()].sort());
});

test('every corpus file hashes to the sha256 listed for it', () => {
  const mismatched = [...sums].filter(
    ([path, sha]) =>
      createHash('sha256')
        .update(readFileSync(join(corpusDir, path)))
        .digest('hex') !== sha,
  );
  expect(mismatched).toEqual([]);
});

test('the sha256 list in PROVENANCE.md agrees with SHA256SUMS', () => {
  const provenance = readFileSync(join(corpusDir, 'PROVENANCE.md'), 'utf8');
  const listed = hashes(provenance.slice(provenance.indexOf('## sha256')));
  expect(listed.size).toBeGreaterThan(30);
  expect([...listed].filter(([path, sha]) => sums.get(path) !== sha)).toEqual([]);
});
