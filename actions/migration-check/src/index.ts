import { restartForLargeParse } from './restart.js';

// Decided before the action and the parser are loaded, which a restart would only load again; a test
// that calls main() in its own process never restarts.
restartForLargeParse(process.env.GITHUB_WORKSPACE || process.cwd(), process.env.INPUT_PATH);
// main.js alone, imported by name: a dynamic import of action-kit's whole namespace would keep every
// export of it in the bundle, octokit included, which this action never uses.
const { run } = await import('./main.js');
void run();
