import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DemoService,
  freePort,
  type LocalPostgres,
  type LocalRegistry,
  makeTempDir,
  repoRoot,
  type Service,
  startDemoService,
  startPostgres,
  startRegistry,
  startService,
  waitUntil,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { signImage } from '@digestline/signing';
import {
  type ApprovalDecision,
  type ApprovalRequest,
  type Progress,
  type RunResult,
  WorkflowExecutor,
} from '@digestline/workflow';
import { git, hostOf, type KeyPair, keyPair, migratedByFlyway, psql, REPOSITORY } from './delivery.js';

export const BLUE_GREEN_STARTER = join(repoRoot, 'workflows-templates/starter/digestline-blue-green.yml');
export const BLUE_GREEN = join(repoRoot, 'workflows-templates/blue-green.yml');
/** The tags an instance behind nginx follows: the two slots and the environment. */
export type Slot = 'blue' | 'green' | 'production';
const SLOTS: Slot[] = ['blue', 'green', 'production'];

/** The smoke test a team keeps in its repository: the URL serves the release being shipped, healthy. */
export const SMOKE_TEST = `#!/usr/bin/env bash
# Usage: scripts/smoke-test URL. Waits (SMOKE_TIMEOUT seconds) until URL serves $DIGEST and its
# health check answers 200.
set -euo pipefail
url=\${1:?usage: smoke-test URL}
deadline=$((SECONDS + \${SMOKE_TIMEOUT:-30}))
while :; do
  if body=$(curl -fsS --max-time 2 "$url/api/health" 2>&1) && [[ $body == *"\\"digest\\":\\"$DIGEST\\""* ]]; then
    echo "$url serves $DIGEST: $body"
    exit 0
  fi
  if (( SECONDS >= deadline )); then
    echo "::error::$url does not serve $DIGEST healthy: $body"
    exit 1
  fi
  sleep 0.2
done
`;

export interface BlueGreenRigOptions {
  /** The GitHub API the jobs call (deployments). */
  github: { url: string; token: string };
  approve?: (request: ApprovalRequest) => ApprovalDecision;
  progress?: (event: Progress) => void;
  /** How long the smoke test waits for a URL to serve the release healthy (the script's SMOKE_TIMEOUT). */
  smokeTimeoutSeconds?: number;
}

/**
 * nginx as the team's load balancer: `/blue/` and `/green/` reach the slots, `/` production. Each path
 * proxies to a demo service that runs whatever image its tag points to; `route` and `reroute` point a
 * path at another service (one started again, another application's slots).
 */
export interface FrontDoor {
  url: string;
  route(path: string, service: DemoService | undefined): void;
  reroute(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFrontDoor(
  dir: string,
  routes: Map<string, DemoService | undefined>,
): Promise<FrontDoor> {
  const port = await freePort();
  const config = join(dir, 'nginx.conf');
  const routesFile = join(dir, 'routes.conf');
  // Nothing listens on port 9 (discard): a path without a service answers 502, as a dead upstream does.
  const upstream = (service: DemoService | undefined) => hostOf(service?.url ?? 'http://127.0.0.1:9');
  // The longest path first, so `/` comes last; a path ending in `/` strips its prefix, `/` keeps it.
  const writeRoutes = () =>
    writeFile(
      routesFile,
      [...routes.entries()]
        .sort(([a], [b]) => b.length - a.length)
        .map(([path, service]) =>
          path === '/'
            ? `location / { proxy_pass http://${upstream(service)}; }`
            : `location ${path} { proxy_pass http://${upstream(service)}/; }`,
        )
        .concat('')
        .join('\n'),
    );
  await writeRoutes();
  await writeFile(
    config,
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (name) => `  ${name}_temp_path ${join(dir, name)};`,
      ),
      `  server { listen 127.0.0.1:${port}; include ${routesFile}; }`,
      '}',
      '',
    ].join('\n'),
  );
  // -e: the compiled-in error log (/var/log/nginx) is not writable by an ordinary user.
  const args = ['-p', dir, '-c', config, '-e', join(dir, 'error.log')];
  const nginx: Service = startService('/usr/sbin/nginx', args);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil('nginx', async () => {
      if (nginx.process.exitCode !== null) throw new Error(`nginx exited: ${nginx.log()}`);
      return (await fetch(url).catch(() => undefined)) !== undefined;
    });
  } catch (error) {
    await nginx.stop();
    throw error;
  }
  return {
    url,
    route(path, service) {
      routes.set(path, service);
    },
    async reroute() {
      await writeRoutes();
      execFileSync('/usr/sbin/nginx', [...args, '-s', 'reload'], { stdio: 'pipe' });
    },
    stop: () => nginx.stop(),
  };
}

/**
 * Everything a team's blue-green starter runs against, on this machine: the registry holding the slot
 * tags `blue` and `green` and the environment's tag `production`; a demo service per tag, which runs
 * whatever image its tag points to; nginx in front (`/blue/`, `/green/`, `/`); PostgreSQL with the
 * production database Flyway has migrated (the switch dry-runs pending migrations on it); an image key
 * pair (repository secrets) and a record key pair (secrets of production, production-blue and
 * production-green); and the team's repository (the demo app, its public keys, its smoke test and the
 * starter adopted) run by the workflow executor.
 */
export class BlueGreenRig {
  /** Called with each finished job's key, so a run can break production right after the switch. */
  onJobFinished: (job: string) => void = () => {};
  /** The release (version) each digest pushed through `pushRelease` carries. */
  readonly releases: Record<string, string> = {};

  private constructor(
    /** Every approval asked for, in order. */
    readonly approvals: ApprovalRequest[],
    readonly temp: { path: string; remove(): Promise<void> },
    readonly registry: LocalRegistry,
    readonly postgres: LocalPostgres,
    readonly client: RegistryClient,
    /** The demo service following each tag of the image; `restart` replaces one. */
    readonly services: Record<Slot, DemoService | undefined>,
    readonly front: FrontDoor,
    readonly productionDatabase: string,
    readonly repository: string,
    readonly executor: WorkflowExecutor,
    readonly keys: { image: KeyPair; record: KeyPair },
    /** Demo services started through `follow` (other applications' tags), stopped with the rig. */
    private readonly followers: DemoService[],
  ) {}

  static async start(options: BlueGreenRigOptions): Promise<BlueGreenRig> {
    const stops: (() => Promise<unknown>)[] = [];
    try {
      const temp = await makeTempDir('blue-green');
      stops.push(() => temp.remove());
      const [registry, postgres, image, record] = await Promise.all([
        startRegistry(),
        startPostgres(),
        keyPair('image'),
        keyPair('record'),
      ]);
      stops.push(
        () => registry.stop(),
        () => postgres.stop(),
      );
      const client = new RegistryClient(registry.host);
      stops.push(() => client.close());
      const productionDatabase = await postgres.createDatabase('production');
      await migratedByFlyway(productionDatabase);

      const [blue, green, production] = await Promise.all(
        SLOTS.map((tag) => startDemoService({ client, repository: REPOSITORY, tag, pollMs: 100 })),
      );
      const services: Record<Slot, DemoService | undefined> = { blue, green, production };
      stops.push(() => Promise.all(Object.values(services).map((service) => service?.stop())));
      const nginxDir = join(temp.path, 'nginx');
      await mkdir(nginxDir);
      const front = await startFrontDoor(
        nginxDir,
        new Map([
          ['/blue/', blue],
          ['/green/', green],
          ['/', production],
        ]),
      );
      stops.push(() => front.stop());

      // The team's repository: the demo app, its public keys, its smoke test and the starter adopted.
      const repository = join(temp.path, 'repository');
      await cp(join(repoRoot, 'demo', 'app'), repository, { recursive: true });
      await writeFile(join(repository, 'cosign.pub'), image.publicPem);
      await writeFile(join(repository, 'record.pub'), record.publicPem);
      await mkdir(join(repository, 'scripts'));
      await writeFile(join(repository, 'scripts', 'smoke-test'), SMOKE_TEST);
      await chmod(join(repository, 'scripts', 'smoke-test'), 0o755);
      await mkdir(join(repository, '.github/workflows'), { recursive: true });
      await writeFile(
        join(repository, '.github/workflows/blue-green.yml'),
        await adoptBlueGreenStarter({ image: `${registry.host}/${REPOSITORY}`, front: front.url }),
      );
      git(repository, 'init', '--quiet', '--initial-branch=main');
      git(repository, 'add', '.');
      git(repository, 'commit', '--quiet', '-m', 'app');

      // The record key is a secret of each environment a promotion runs in; the image key one of the
      // repository's, which blue-green must not need.
      const recordSecrets = { RECORD_PRIVATE_KEY: record.privatePem, RECORD_PASSWORD: record.password };
      const approvals: ApprovalRequest[] = [];
      let rig: BlueGreenRig | undefined;
      const executor = await WorkflowExecutor.start({
        repository: { name: REPOSITORY, path: repository },
        secrets: { COSIGN_PRIVATE_KEY: image.privatePem, COSIGN_PASSWORD: image.password },
        // production's database is a secret of its environment: the switch dry-runs the pending migrations.
        environments: {
          production: { secrets: { ...recordSecrets, DATABASE_URL: productionDatabase } },
          'production-blue': { secrets: recordSecrets },
          'production-green': { secrets: recordSecrets },
        },
        approve: (request) => {
          approvals.push(request);
          return options.approve?.(request) ?? { approved: true, reviewer: 'release-manager' };
        },
        progress: (event) => {
          options.progress?.(event);
          if (event.type === 'job-finished') rig?.onJobFinished(event.job);
        },
        github: options.github,
        env: { SMOKE_TIMEOUT: String(options.smokeTimeoutSeconds ?? 5) },
      });
      stops.push(() => executor.close());
      rig = new BlueGreenRig(
        approvals,
        temp,
        registry,
        postgres,
        client,
        services,
        front,
        productionDatabase,
        repository,
        executor,
        { image, record },
        [],
      );
      return rig;
    } catch (error) {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      throw error;
    }
  }

  get image(): string {
    return `${this.registry.host}/${REPOSITORY}`;
  }

  /** The adopted starter in the team's repository. */
  get starter(): string {
    return join(this.repository, '.github/workflows/blue-green.yml');
  }

  /** Runs the starter by hand (`workflow_dispatch`) for a digest, as a release manager would. */
  release(digest: string): Promise<RunResult> {
    return this.executor.run(this.starter, { name: 'workflow_dispatch', inputs: { image_digest: digest } });
  }

  /**
   * What a build pushes: a `FROM scratch` image of the demo app whose one layer holds /srv/release.json
   * (the version, and the share of health checks that fail), signed with the image key unless told not to.
   */
  async pushRelease(
    version: string,
    errorRate: number,
    options: { sign?: boolean; repository?: string } = {},
  ): Promise<string> {
    const repository = options.repository ?? REPOSITORY;
    const layer = tar([
      { path: 'srv/', directory: true },
      { path: 'srv/release.json', content: Buffer.from(JSON.stringify({ version, errorRate })) },
    ]);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { 'org.opencontainers.image.version': version } },
        rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      }),
    );
    const [configBlob, layerBlob] = [
      await this.client.pushBlob(repository, config),
      await this.client.pushBlob(repository, layer),
    ];
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layerBlob }],
      }),
    );
    const { digest } = await this.client.putManifest(
      repository,
      `v${version}`,
      manifest,
      'application/vnd.oci.image.manifest.v1+json',
    );
    if (options.sign ?? true) await signImage(this.client, repository, digest, this.keys.image.privateKey);
    this.releases[digest] = version;
    return digest;
  }

  /** A demo service running whatever `tag` of `repository` points to, stopped with the rig. */
  async follow(tag: string, repository = REPOSITORY): Promise<DemoService> {
    const service = await startDemoService({ client: this.client, repository, tag, pollMs: 100 });
    this.followers.push(service);
    return service;
  }

  /** Stops the instance serving `slot`: it crashed. nginx answers 502 there until `restart`. */
  async crash(slot: Slot): Promise<void> {
    await this.services[slot]?.stop();
  }

  /** Starts `slot`'s instance again, running what its tag says now, and points nginx at it. */
  async restart(slot: Slot): Promise<void> {
    await this.services[slot]?.stop();
    const service = await startDemoService({
      client: this.client,
      repository: REPOSITORY,
      tag: slot,
      pollMs: 100,
    });
    this.services[slot] = service;
    this.front.route(slot === 'production' ? '/' : `/${slot}/`, service);
    await this.front.reroute();
  }

  async tagOf(tag: string, repository = REPOSITORY): Promise<string | undefined> {
    return (await this.client.headManifest(repository, tag))?.digest;
  }

  /** The release nginx answers with at `path`, once the instance there has caught up with `digest`. */
  async served(path: string, digest: string): Promise<string> {
    let body: { version?: string; digest?: string } = {};
    await waitUntil(`${path} serving ${digest}`, async () => {
      body = (await (await fetch(`${this.front.url}${path}`)).json().catch(() => ({}))) as typeof body;
      return body.digest === digest;
    });
    return body.version ?? '';
  }

  psql(sql: string): string {
    return psql(this.productionDatabase, sql);
  }

  async stop(): Promise<void> {
    await this.executor.close();
    await this.front.stop();
    await Promise.all([...Object.values(this.services), ...this.followers].map((service) => service?.stop()));
    await this.client.close();
    await Promise.all([this.registry.stop(), this.postgres.stop()]);
    await this.temp.remove();
  }
}

/**
 * The blue-green starter as a team adopts it: its image, where the slots are served and production's URL
 * filled in; nothing else changed, and each change must find its line.
 */
export async function adoptBlueGreenStarter(target: { image: string; front: string }): Promise<string> {
  let text = await readFile(BLUE_GREEN_STARTER, 'utf8');
  for (const [from, to] of [
    ['image: ""', `image: ${target.image}`],
    ['slot_url_template: https://{slot}.example.com', `slot_url_template: ${target.front}/{slot}`],
    ['environment_url: https://www.example.com', `environment_url: ${target.front}`],
  ] as const) {
    const found = text.split(from).length - 1;
    if (found !== 1) throw new Error(`the blue-green starter has ${found} of ${JSON.stringify(from)}, not 1`);
    text = text.replace(from, to);
  }
  return text;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** An uncompressed ustar archive of directories and regular files, owned by root, dated 0 (reproducible). */
function tar(entries: { path: string; directory?: boolean; content?: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content ?? Buffer.alloc(0);
    const header = Buffer.alloc(512);
    const put = (text: string, offset: number) => header.write(text, offset, 'utf8');
    const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0');
    put(entry.path, 0);
    put(octal(entry.directory ? 0o755 : 0o644, 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(content.length, 12), 124);
    put(octal(0, 12), 136);
    put(entry.directory ? '5' : '0', 156);
    put('ustar\0', 257);
    put('00', 263);
    // The checksum is taken with its own field counted as spaces.
    put('        ', 148);
    const sum = header.reduce((total, byte) => total + byte, 0);
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
