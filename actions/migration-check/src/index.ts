import { restartForLargeParse } from './restart.js';

// Decided before the action and the parser are loaded, which a restart would only load again; a test
// that calls main() in its own process never restarts.
restartForLargeParse(process.env.GITHUB_WORKSPACE || process.cwd(), process.env.INPUT_PATH);
const [{ run }, { main }] = await Promise.all([import('@digestline/action-kit'), import('./main.js')]);
void run(main);
