import { ExitCode, UsageError } from '../errors.js';
import type { Command } from '../main.js';

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'Runs the delivery and blue-green starters locally through the workflow executor, with their rollbacks.',
  usage: `Usage: digestline demo

Runs two starters the way GitHub runs them (the workflow executor: GitHub's parser and expression
engine, our action bundles, local stand-ins for third-party actions) on a registry, PostgreSQL, nginx and
the sample service started on 127.0.0.1:
  workflows-templates/starter/digestline-delivery.yml: release 1 goes ci → build → scan → staging →
    canary → production; release 2, whose health check fails, is rolled back by its canary.
  workflows-templates/starter/digestline-blue-green.yml: release 3 is deployed into the idle slot,
    smoke-tested, switched to and checked; release 4 takes production down after the switch and is
    rolled back to the old slot.
Prints a table of every workflow job by its id, cleans up, and exits 0 when all went as expected. Needs
the bundles (node scripts/build.mjs) and the tools scripts/setup installs; ./scripts/demo does both.`,
  options: {},
  async run({ positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`takes no arguments, got "${positionals.join(' ')}"`);
    // Imported here: the demo pulls in the workflow executor and local services, which the gates do not need.
    const { runDemo } = await import('../demo/demo.js');
    return (await runDemo({ write: io.out })) === 0 ? ExitCode.ok : ExitCode.failed;
  },
};
