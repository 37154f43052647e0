export { repoRoot } from '@digestline/local';
export { corpusPath as corpus, corpusText } from '../../../test/harness/corpus.js';
