import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorClass } from '@digestline/base';
import { type GitHubFixture, startGitHub } from '@digestline/local';
import type { Progress, RunResult } from '@digestline/workflow';
import { BlueGreenRig } from './blue-green.js';
import { DeliveryRig } from './delivery.js';

export interface JobRow {
  /** The workflow the job ran in: `delivery` (the delivery starter) or `blue-green` (the blue-green starter). */
  workflow: string;
  release: number;
  /** The job's id as the workflow names it, `caller/callee` inside a reusable workflow. */
  job: string;
  digest: string;
  result: string;
  seconds: number;
}

export interface DemoOptions {
  write(line: string): void;
}

/** A demo run did not end as the demo expects; the run's own errors are in the message. */
export class StageFailed extends errorClass('StageFailed', 'DEMO_STAGE_FAILED', 'environment') {}

const short = (digest: string) => (digest === '' ? '' : `${digest.slice(0, 19)}…`);

/** The error annotations of a run's failed steps, else the end of its log. */
function errorsOf(run: RunResult): string {
  const errors = run.jobs.flatMap((job) =>
    job.steps.flatMap((step) =>
      step.annotations.filter((a) => a.level === 'error').map((a) => `${job.key}: ${a.message}`),
    ),
  );
  return errors.length > 0 ? errors.join('\n') : run.log().split('\n').slice(-30).join('\n');
}

export function renderTable(rows: JobRow[]): string {
  const header = ['workflow', 'release', 'job', 'digest', 'result', 'time'];
  const body = rows.map((r) => [
    r.workflow,
    String(r.release),
    r.job,
    short(r.digest),
    r.result,
    `${r.seconds.toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/**
 * The whole demo: the delivery starter and then the blue-green starter, as a team adopts them, run by the
 * workflow executor on this machine's registry, PostgreSQL, nginx and sample service. Delivery: release 1
 * goes to production; release 2 is rolled back by its canary. Blue-green: release 3 is deployed into the
 * idle slot, smoke-tested and switched to; release 4 takes production down after the switch and is rolled
 * back to the old slot. Returns the exit code.
 */
export async function runDemo(out: DemoOptions): Promise<number> {
  const started = performance.now();
  out.write('digestline demo: two starters as a team adopts them, run by the workflow executor the way');
  out.write('GitHub runs them, on a local registry, PostgreSQL, nginx and sample service:');
  out.write('  delivery    workflows-templates/starter/digestline-delivery.yml (push to main)');
  out.write('  blue-green  workflows-templates/starter/digestline-blue-green.yml (run by hand for a digest)');
  out.write('the canary checks every 1s for 6s here (the starter says 10s for 5 minutes)');
  // Each rig's executor numbers its runs from the same start: timings are kept per workflow.
  const timing = new Map<string, number>();
  const progressOf = (workflow: string) => (event: Progress) => {
    const key = `${workflow}:${event.run}:${event.job}`;
    if (event.type === 'job-started') timing.set(key, performance.now());
    if (event.type === 'job-finished') {
      const seconds = (performance.now() - (timing.get(key) ?? performance.now())) / 1000;
      timing.set(key, seconds);
      const mark = event.result === 'success' ? '✔' : event.result === 'skipped' ? '·' : '✘';
      out.write(
        `  ${mark} ${event.job.padEnd(52)} ${event.result.padEnd(9)} ${seconds.toFixed(1).padStart(5)}s`,
      );
    }
    if (event.type === 'waiting-for-approval')
      out.write(`    ${event.job}: approved by release-manager for ${event.environment}`);
  };
  // GitHub's API cannot run here: the jobs' calls (deployments, code scanning) go to a local server that
  // checks each against GitHub's REST description and answers with the documented example.
  const github: GitHubFixture = await startGitHub({ unregistered: 'example' });
  let rig: DeliveryRig | undefined;
  let blueGreen: BlueGreenRig | undefined;
  let stopping = false;
  const stop = async () => {
    await rig?.stop();
    rig = undefined;
    await blueGreen?.stop();
    blueGreen = undefined;
    await github.stop();
  };
  const interrupt = () => {
    if (stopping) return;
    stopping = true;
    out.write('interrupted: cleaning up');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const rows: JobRow[] = [];
  /** `moved`: the digest a job put in place when it is not the release's (a rollback's old release). */
  const record = (
    workflow: string,
    release: number,
    run: RunResult,
    digest: string,
    moved: Record<string, string> = {},
  ) => {
    for (const job of run.jobs) {
      const seconds = timing.get(`${workflow}:${run.id}:${job.key}`) ?? 0;
      rows.push({
        workflow,
        release,
        job: job.key,
        digest: job.result === 'skipped' ? '' : (moved[job.key] ?? digest),
        result: job.result,
        seconds,
      });
    }
  };
  const summary: string[] = [];
  try {
    rig = await DeliveryRig.start({
      signing: 'keys',
      github: { url: github.url, token: 'demo-token' },
      progress: progressOf('delivery'),
    });
    out.write('\ndelivery');
    out.write(`registry    ${rig.registry.url}`);
    out.write(
      `postgresql  127.0.0.1:${rig.postgres.port} (staging and production, migrated by Flyway before)`,
    );
    out.write(`nginx       ${rig.nginx.url} (production ${rig.stable.url}, canary ${rig.canary.url})`);
    out.write(
      'keys        an image key pair (repository secrets) and a record key pair (environment secrets)',
    );

    out.write('\nrelease 1 (healthy), push to main');
    const first = await rig.run();
    const good = first.job('build/merge').outputs.digest ?? '';
    record('delivery', 1, first, good);
    if (first.conclusion !== 'success') throw new StageFailed(`release 1 failed:\n${errorsOf(first)}`);

    out.write('\nrelease 2 (bad: its /api/health answers 500 to every request), push to main');
    await rig.release(2);
    const second = await rig.run();
    const bad = second.job('build/merge').outputs.digest ?? '';
    record('delivery', 2, second, bad);
    if (second.job('canary/canary').outputs.result !== 'rolled-back')
      throw new StageFailed(`release 2's canary was not rolled back:\n${errorsOf(second)}`);

    const [canary, production] = await Promise.all([rig.tagOf('canary'), rig.tagOf('production')]);
    if (production !== good) {
      throw new StageFailed(
        `after the rollback production is ${production}; it should be release 1 (${good})`,
      );
    }
    out.write(
      '\n$ digestline verify-image <registry>/octo-org/app:production --key cosign.pub --record-key record.pub',
    );
    if ((await verifyProduction(rig, out)) !== 0) throw new StageFailed('verify-image refused production');
    summary.push(
      `delivery:   production = release 1 ${good}`,
      `            release 2 ${bad} was rolled back by its canary and never reached production (canary tag: ${canary})`,
    );
    // The two starters share nothing but GitHub: the delivery parts go before the blue-green ones start.
    await rig.stop();
    rig = undefined;

    blueGreen = await BlueGreenRig.start({
      github: { url: github.url, token: 'demo-token' },
      progress: progressOf('blue-green'),
    });
    const bg = blueGreen;
    out.write('\nblue-green');
    out.write(`registry    ${bg.registry.url} (slot tags blue and green, environment tag production)`);
    out.write(`postgresql  127.0.0.1:${bg.postgres.port} (production, migrated by Flyway before)`);
    out.write(`nginx       ${bg.front.url} (/blue/ and /green/ the slots, / production)`);
    out.write(
      'keys        an image key pair (repository secrets) and a record key pair (secrets of production and its slots)',
    );

    const third = await bg.pushRelease('3.0.0', 0);
    out.write(`\nrelease 3 (healthy, built and signed: ${short(third)}), released by hand`);
    const deploy = await bg.release(third);
    record('blue-green', 3, deploy, third);
    if (deploy.conclusion !== 'success') throw new StageFailed(`release 3 failed:\n${errorsOf(deploy)}`);
    const slot = deploy.job('release').outputs.active_slot ?? '';
    if ((await bg.tagOf('production')) !== third)
      throw new StageFailed(`after release 3 production is not release 3 (${third})`);
    out.write(`  production = ${slot} slot, serving ${await bg.served('/', third)}`);

    const fourth = await bg.pushRelease('4.0.0', 0);
    out.write(
      `\nrelease 4 (${short(fourth)}: healthy in its slot, but production's instance crashes once it runs it), released by hand`,
    );
    bg.onJobFinished = (job) => {
      if (job === 'release/switch') {
        out.write('    production crashed after the switch (the demo stopped its instance)');
        void bg.crash('production');
      }
    };
    const broken = await bg.release(fourth).finally(() => {
      bg.onJobFinished = () => {};
    });
    record('blue-green', 4, broken, fourth, { 'release/rollback': third });
    if (broken.job('release').outputs.rolled_back !== 'true')
      throw new StageFailed(`release 4 was not rolled back:\n${errorsOf(broken)}`);
    const after = {
      production: await bg.tagOf('production'),
      old: await bg.tagOf(slot),
      idle: await bg.tagOf(slot === 'blue' ? 'green' : 'blue'),
    };
    if (after.production !== third || after.old !== third || after.idle !== fourth) {
      throw new StageFailed(
        `after the rollback production is ${after.production}; it should be release 3 (${third}), in the ${slot} slot`,
      );
    }
    // A production instance started again runs what the tag says: the old slot's release.
    await bg.restart('production');
    const serving = await bg.served('/', third);
    out.write(`  production instance restarted: it serves ${serving}`);
    summary.push(
      `blue-green: production = ${slot} slot = release 3 ${third} (serving ${serving})`,
      `            release 4 ${fourth} was switched to, failed its checks and was rolled back; it stays in its slot`,
    );
    out.write(`\n${renderTable(rows)}\n`);
    for (const line of summary) out.write(line);
    out.write(`demo finished in ${((performance.now() - started) / 1000).toFixed(1)}s; cleaning up`);
    return 0;
  } catch (error) {
    if (!(error instanceof StageFailed)) throw error;
    out.write(`\n${renderTable(rows)}`);
    out.write(`\ndemo failed: ${error.message}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    if (!stopping) await stop();
  }
}

/** The CLI's own verify-image on what production runs: signature, provenance, every promotion record. */
async function verifyProduction(rig: DeliveryRig, out: DemoOptions): Promise<number> {
  const { main } = await import('../main.js');
  const pub = join(rig.temp.path, 'cosign.pub');
  const recordPub = join(rig.temp.path, 'record.pub');
  await writeFile(pub, rig.keys?.image.publicPem ?? '');
  await writeFile(recordPub, rig.keys?.record.publicPem ?? '');
  const write = (line: string) => out.write(`  ${line}`);
  return main(['verify-image', `${rig.image}:production`, '--key', pub, '--record-key', recordPub], {
    out: write,
    err: write,
    isTTY: false,
  });
}
