export { ExitCode } from './errors.js';
export { main } from './main.js';
