import { ExitCode, UsageError } from '../errors.js';
import type { Command } from '../main.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Runs the whole pipeline locally: registry, PostgreSQL, two releases, a canary rollback.',
  usage: `Usage: digestline demo

Starts a registry, PostgreSQL and a sample service on 127.0.0.1, then runs the built action bundles the
way a runner does: build-and-sign → scan-gate → migration-check → promote dev → staging → canary →
canary-deploy → promote production for release 1, and the same for a bad release 2, whose canary fails
and is rolled back. Prints a table of every stage, cleans up, and exits 0 when all went as expected.
Needs the bundles (node scripts/build.mjs) and the tools scripts/setup installs; ./scripts/demo does both.`,
  options: {},
  async run({ positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`takes no arguments, got "${positionals.join(' ')}"`);
    // Imported here: the demo pulls in the test harness, which the gates do not need.
    const { runDemo } = await import('../demo/demo.js');
    return (await runDemo({ write: io.out })) === 0 ? ExitCode.ok : ExitCode.failed;
  },
};
