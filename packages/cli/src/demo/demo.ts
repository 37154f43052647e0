import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorClass } from '@digestline/base';
import {
  type ActionResult,
  type DemoService,
  type LocalPostgres,
  type LocalRegistry,
  runAction,
  startDemoService,
  startPostgres,
  startRegistry,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { encryptPrivateKey, generateKeyPair, publicKeyPem } from '@digestline/signing';

export const repoRoot = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const appDir = join(repoRoot, 'demo', 'app');
const REPOSITORY = 'demo/app';

/**
 * Canary timings shortened so the demo finishes in seconds; the action's defaults are interval 10s and
 * duration 5m.
 */
export const DEMO_CANARY = {
  interval: '1s',
  duration: '5s',
  'failure-threshold': '2',
  'probe-requests': '10',
};

export interface StageRow {
  release: number;
  stage: string;
  digest: string;
  result: string;
  seconds: number;
}

export interface DemoOptions {
  write(line: string): void;
}

/** A demo stage did not end as the demo expects; the stage's own errors are in the message. */
export class StageFailed extends errorClass('StageFailed', 'DEMO_STAGE_FAILED', 'environment') {}

const short = (digest: string) => (digest === '' ? '' : `${digest.slice(0, 19)}…`);

function errorsOf(result: ActionResult): string {
  const errors = result.annotations.filter((a) => a.level === 'error').map((a) => a.message);
  return errors.length > 0 ? errors.join('\n') : result.log.split('\n').slice(-15).join('\n');
}

/**
 * Runs the chain of the reusable workflows on one machine: every stage is a built action bundle run the
 * way a runner runs it, and each stage's outputs are the next one's inputs.
 */
export class DemoPipeline {
  readonly rows: StageRow[] = [];
  private constructor(
    private readonly out: DemoOptions,
    readonly registry: LocalRegistry,
    readonly postgres: LocalPostgres,
    readonly service: DemoService,
    readonly client: RegistryClient,
    readonly workspace: string,
    readonly keys: { privatePem: string; password: string; publicPem: string },
  ) {}

  get image(): string {
    return `${this.registry.host}/${REPOSITORY}`;
  }

  static async start(out: DemoOptions): Promise<DemoPipeline> {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const workspace = await mkdtemp(join(tmpdir(), 'digestline-demo-'));
      cleanups.push(() => rm(workspace, { recursive: true, force: true }));
      // The actions write their reports into the workspace: a copy keeps the checkout clean.
      await cp(appDir, workspace, { recursive: true });
      const [registry, postgres] = await Promise.all([startRegistry(), startPostgres()]);
      cleanups.push(
        () => registry.stop(),
        () => postgres.stop(),
      );
      out.write(`registry    ${registry.url} (CNCF distribution, storage in a temp dir)`);
      out.write(`postgresql  127.0.0.1:${postgres.port} (throwaway cluster for the migration dry-run)`);
      const client = new RegistryClient(registry.host);
      cleanups.push(() => client.close());
      const service = await startDemoService({ client, repository: REPOSITORY, tag: 'canary' });
      out.write(`service     ${service.url} (serves the image the canary tag points to)`);
      const pair = generateKeyPair();
      const password = 'demo-password';
      const keys = {
        privatePem: await encryptPrivateKey(pair.privateKey, password),
        password,
        publicPem: publicKeyPem(pair.publicKey),
      };
      out.write('cosign key  a fresh encrypted P-256 key pair for this run');
      return new DemoPipeline(out, registry, postgres, service, client, workspace, keys);
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.service.stop();
    await this.client.close();
    await Promise.all([this.registry.stop(), this.postgres.stop()]);
    await rm(this.workspace, { recursive: true, force: true });
  }

  /** Runs one action as a step, records the row, and fails the stage unless `expectExit` matches. */
  async step(
    release: number,
    stage: string,
    action: string,
    inputs: Record<string, string>,
    options: {
      digest?: string;
      env?: Record<string, string>;
      expectExit?: number;
      state?: Record<string, string>;
    } = {},
  ): Promise<ActionResult> {
    const started = performance.now();
    const result = await runAction(action, {
      inputs,
      workspace: this.workspace,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.state === undefined ? {} : { state: options.state }),
    });
    const seconds = (performance.now() - started) / 1000;
    const digest = options.digest ?? result.outputs.digest ?? '';
    const ok = result.exitCode === (options.expectExit ?? 0);
    const base = result.outputs.result ?? (result.exitCode === 0 ? 'ok' : `exit ${result.exitCode}`);
    const outcome = ok && result.exitCode !== 0 ? `${base} (exit ${result.exitCode}, as expected)` : base;
    this.rows.push({ release, stage, digest, result: outcome, seconds });
    this.out.write(
      `  ${ok ? '✔' : '✘'} ${stage.padEnd(34)} ${outcome.padEnd(34)} ${seconds.toFixed(1).padStart(5)}s ${short(digest)}`,
    );
    if (!ok) throw new StageFailed(`${stage} (${action}) exited ${result.exitCode}:\n${errorsOf(result)}`);
    return result;
  }

  private promoteInputs(digest: string, from: string, to: string): Record<string, string> {
    return {
      image: this.image,
      digest,
      'source-env': from,
      'target-env': to,
      'public-key': this.keys.publicPem,
      'cosign-private-key': this.keys.privatePem,
      'cosign-password': this.keys.password,
      // No GitHub here: deployments are what GitHub shows, the registry records are what the next step checks.
      'record-deployment': 'false',
    };
  }

  async promote(release: number, digest: string, from: string, to: string): Promise<ActionResult> {
    return this.step(
      release,
      `promote ${from || 'build'} → ${to}`,
      'promote',
      this.promoteInputs(digest, from, to),
      {
        digest,
      },
    );
  }

  /** build-and-sign → scan-gate → migration-check → promote dev → staging → canary. */
  async shipToCanary(release: number): Promise<string> {
    const build = await this.step(
      release,
      'build-and-sign',
      'build-and-sign',
      {
        image: this.image,
        context: '.',
        file: 'Containerfile',
        'build-args': `RELEASE=${release}`,
        tags: `release-${release}`,
        builder: 'buildah',
        'cosign-private-key': this.keys.privatePem,
        'cosign-password': this.keys.password,
        sbom: 'none',
      },
      {
        env: {
          GITHUB_SHA: `${release}`.repeat(40),
          GITHUB_REPOSITORY: 'digestline/demo-app',
          GITHUB_WORKFLOW_REF: 'digestline/demo-app/.github/workflows/release.yml@refs/heads/main',
        },
      },
    );
    const digest = build.outputs.digest ?? '';
    await this.step(
      release,
      'scan-gate',
      'scan-gate',
      { reports: 'reports/trivy.json', 'severity-threshold': 'high' },
      { digest },
    );
    await this.step(
      release,
      'migration-check (lint + dry-run)',
      'migration-check',
      { path: 'migrations', 'database-url': this.postgres.url, 'fail-on': 'error' },
      { digest },
    );
    await this.promote(release, digest, '', 'dev');
    await this.promote(release, digest, 'dev', 'staging');
    await this.promote(release, digest, 'staging', 'canary');
    return digest;
  }

  /** canary-deploy against the local service, then its post step as the runner runs it (always). */
  async canary(release: number, digest: string, expect: 'promoted' | 'rolled-back'): Promise<ActionResult> {
    const inputs = {
      image: this.image,
      digest,
      'health-url': `${this.service.url}/api/health`,
      'traffic-percent': '5',
      'error-rate-threshold': '5%',
      'latency-p99-threshold-ms': '2000',
      'min-samples': '1',
      ...DEMO_CANARY,
    };
    const result = await this.step(release, 'canary-deploy', 'canary-deploy', inputs, {
      digest,
      expectExit: expect === 'promoted' ? 0 : 1,
    });
    if (result.outputs.result !== expect) {
      throw new StageFailed(`canary-deploy ended "${result.outputs.result}", expected "${expect}"`);
    }
    const post = await runAction('canary-deploy', { inputs, state: result.state, workspace: this.workspace });
    if (post.exitCode !== 0)
      throw new StageFailed(`canary-deploy's post step exited ${post.exitCode}:\n${errorsOf(post)}`);
    return result;
  }

  /** The CLI's own verify-image on what production runs: signature, provenance, every promotion record. */
  async verifyProduction(): Promise<number> {
    const { main } = await import('../main.js');
    const pub = join(this.workspace, 'cosign.pub');
    await writeFile(pub, this.keys.publicPem);
    const write = (line: string) => this.out.write(`  ${line}`);
    return main(['verify-image', `${this.image}:production`, '--key', pub], {
      out: write,
      err: write,
      isTTY: false,
    });
  }

  async tagDigest(tag: string): Promise<string | undefined> {
    return (await this.client.headManifest(REPOSITORY, tag))?.digest;
  }
}

export function renderTable(rows: StageRow[]): string {
  const header = ['release', 'stage', 'digest', 'result', 'time'];
  const body = rows.map((r) => [
    String(r.release),
    r.stage,
    short(r.digest),
    r.result,
    `${r.seconds.toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The whole demo: release 1 goes to production, release 2 is rolled back by its canary. Returns the exit code. */
export async function runDemo(out: DemoOptions): Promise<number> {
  const started = performance.now();
  out.write('digestline demo: one digest from build to production, on this machine');
  out.write(
    `canary timings are shortened for the demo: interval ${DEMO_CANARY.interval}, duration ${DEMO_CANARY.duration}, failure threshold ${DEMO_CANARY['failure-threshold']} (action defaults: 10s, 5m, 3)`,
  );
  const pipeline = await DemoPipeline.start(out);
  let stopping = false;
  const interrupt = () => {
    if (stopping) return;
    stopping = true;
    out.write('interrupted: cleaning up');
    void pipeline.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    out.write('\nrelease 1 (healthy)');
    const good = await pipeline.shipToCanary(1);
    await pipeline.canary(1, good, 'promoted');
    await pipeline.promote(1, good, 'canary', 'production');

    out.write('\nrelease 2 (bad: its /api/health answers 500 to every request)');
    const bad = await pipeline.shipToCanary(2);
    await pipeline.canary(2, bad, 'rolled-back');

    const [canary, production] = await Promise.all([
      pipeline.tagDigest('canary'),
      pipeline.tagDigest('production'),
    ]);
    if (canary !== good || production !== good) {
      throw new StageFailed(
        `after the rollback canary is ${canary} and production is ${production}; both should be release 1 (${good})`,
      );
    }
    out.write(`\n${renderTable(pipeline.rows)}`);
    out.write('\n$ digestline verify-image <registry>/demo/app:production --key cosign.pub');
    if ((await pipeline.verifyProduction()) !== 0) throw new StageFailed('verify-image refused production');
    out.write(`\nproduction = canary = release 1 ${good}`);
    out.write(`release 2 ${bad} was rolled back automatically and never reached production`);
    out.write(`demo finished in ${((performance.now() - started) / 1000).toFixed(1)}s; cleaning up`);
    return 0;
  } catch (error) {
    if (!(error instanceof StageFailed)) throw error;
    out.write(`\n${renderTable(pipeline.rows)}`);
    out.write(`\ndemo failed: ${error.message}`);
    return 1;
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
    if (!stopping) await pipeline.stop();
  }
}
