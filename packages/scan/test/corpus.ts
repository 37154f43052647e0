export { corpusPath as corpus, corpusText } from '../../../test/harness/corpus.js';
export { repoRoot } from '../../../test/harness/run-action.js';
