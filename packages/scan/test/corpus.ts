import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const corpusDir = join(repoRoot, '..', 'shared', 'corpus');
export const corpus = (path: string) => join(corpusDir, path);
export const corpusText = (path: string) => readFileSync(corpus(path), 'utf8');
