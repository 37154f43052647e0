#!/usr/bin/env node
// Runs the TypeScript source through tsx (a dev dependency of the workspace): this bin is for local use
// in the repository; CI uses the bundled action.
import { register } from 'tsx/esm/api';

register();
const { cli } = await import('../src/cli.ts');
process.exitCode = await cli(process.argv.slice(2));
