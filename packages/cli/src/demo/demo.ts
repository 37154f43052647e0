import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorClass } from '@digestline/base';
import { type GitHubFixture, startGitHub } from '@digestline/local';
import type { Progress, RunResult } from '@digestline/workflow';
import { DeliveryRig } from './delivery.js';

export interface JobRow {
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
  const header = ['release', 'job', 'digest', 'result', 'time'];
  const body = rows.map((r) => [
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
 * The whole demo: the delivery starter, as a team adopts it, run by the workflow executor on this
 * machine's registry, PostgreSQL, nginx and sample service. Release 1 goes to production; release 2 is
 * rolled back by its canary. Returns the exit code.
 */
export async function runDemo(out: DemoOptions): Promise<number> {
  const started = performance.now();
  out.write(
    'digestline demo: the delivery starter (workflows-templates/starter/digestline-delivery.yml), run',
  );
  out.write(
    'by the workflow executor the way GitHub runs it, on a local registry, PostgreSQL, nginx and sample service',
  );
  out.write('the canary checks every 1s for 6s here (the starter says 10s for 5 minutes)');
  const timing = new Map<string, number>();
  const progress = (event: Progress) => {
    const key = `${event.run}:${event.job}`;
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
  let stopping = false;
  const stop = async () => {
    await rig?.stop();
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
  const record = (release: number, run: RunResult, digest: string) => {
    for (const job of run.jobs) {
      const seconds = timing.get(`${run.id}:${job.key}`) ?? 0;
      rows.push({
        release,
        job: job.key,
        digest: job.result === 'skipped' ? '' : digest,
        result: job.result,
        seconds,
      });
    }
  };
  try {
    rig = await DeliveryRig.start({
      signing: 'keys',
      github: { url: github.url, token: 'demo-token' },
      progress,
    });
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
    record(1, first, good);
    if (first.conclusion !== 'success') throw new StageFailed(`release 1 failed:\n${errorsOf(first)}`);

    out.write('\nrelease 2 (bad: its /api/health answers 500 to every request), push to main');
    await rig.release(2);
    const second = await rig.run();
    const bad = second.job('build/merge').outputs.digest ?? '';
    record(2, second, bad);
    if (second.job('canary/canary').outputs.result !== 'rolled-back')
      throw new StageFailed(`release 2's canary was not rolled back:\n${errorsOf(second)}`);

    const [canary, production] = await Promise.all([rig.tagOf('canary'), rig.tagOf('production')]);
    if (production !== good) {
      throw new StageFailed(
        `after the rollback production is ${production}; it should be release 1 (${good})`,
      );
    }
    out.write(`\n${renderTable(rows)}`);
    out.write('\n$ digestline verify-image <registry>/octo-org/app:production --key cosign.pub');
    if ((await verifyProduction(rig, out)) !== 0) throw new StageFailed('verify-image refused production');
    out.write(`\nproduction = release 1 ${good}`);
    out.write(
      `release 2 ${bad} was rolled back by its canary and never reached production (canary tag: ${canary})`,
    );
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
  await writeFile(pub, rig.keys?.image.publicPem ?? '');
  const write = (line: string) => out.write(`  ${line}`);
  return main(['verify-image', `${rig.image}:production`, '--key', pub], {
    out: write,
    err: write,
    isTTY: false,
  });
}
