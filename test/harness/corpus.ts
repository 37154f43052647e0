import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './run-action.js';

/** The read-only corpus of real scanner reports and cosign output beside the checkout (see its PROVENANCE.md). */
export const corpusDir = join(repoRoot, '..', 'shared', 'corpus');
export const corpusPath = (path: string) => join(corpusDir, path);
export const corpusBytes = (path: string) => readFileSync(corpusPath(path));
export const corpusText = (path: string) => readFileSync(corpusPath(path), 'utf8');
