import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@digestline/local';

/** The read-only corpus of real scanner reports and cosign output copied into the repository (see test/corpus/PROVENANCE.md). */
export const corpusDir = join(repoRoot, 'test', 'corpus');
export const corpusPath = (path: string) => join(corpusDir, path);
export const corpusBytes = (path: string) => readFileSync(corpusPath(path));
export const corpusText = (path: string) => readFileSync(corpusPath(path), 'utf8');
