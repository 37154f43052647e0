import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import * as http from 'node:http';
import { listenOnLoopback } from './util.js';

/** The claims a GitHub Actions OIDC token carries (docs: "About security hardening with OpenID Connect"). */
export interface GitHubClaims {
  sub: string;
  repository: string;
  repository_owner: string;
  repository_id: string;
  repository_owner_id: string;
  repository_visibility: string;
  ref: string;
  ref_type: string;
  sha: string;
  workflow: string;
  workflow_ref: string;
  workflow_sha: string;
  job_workflow_ref: string;
  job_workflow_sha: string;
  event_name: string;
  run_id: string;
  run_number: string;
  run_attempt: string;
  runner_environment: string;
  actor: string;
  environment?: string;
  [claim: string]: string | undefined;
}

export interface JobIdentity {
  /** `owner/repo` */
  repository: string;
  /** The workflow file under .github/workflows, e.g. `build.yml`. */
  workflowFile: string;
  ref?: string;
  sha?: string;
  /** A job that runs in an `environment:` gets it in its token (and in `sub`). */
  environment?: string;
  /** A reusable workflow the job runs (`job_workflow_ref`), when it is not the caller's own file. */
  jobWorkflow?: { repository: string; workflowFile: string; ref: string };
  eventName?: string;
  runId?: string;
}

/**
 * GitHub-shaped claims for a job: `sub` is `repo:OWNER/REPO:environment:NAME` for a job in an
 * environment and `repo:OWNER/REPO:ref:REF` otherwise, as GitHub issues them.
 */
export function githubClaims(job: JobIdentity): GitHubClaims {
  const ref = job.ref ?? 'refs/heads/main';
  const sha = job.sha ?? createHash('sha1').update(`${job.repository}@${ref}`).digest('hex');
  const [owner = job.repository] = job.repository.split('/');
  const workflowRef = `${job.repository}/.github/workflows/${job.workflowFile}@${ref}`;
  const jobWorkflow = job.jobWorkflow;
  const runId = job.runId ?? String(1_000_000 + (randomBytes(3).readUIntBE(0, 3) % 1_000_000));
  return {
    sub:
      job.environment === undefined
        ? `repo:${job.repository}:ref:${ref}`
        : `repo:${job.repository}:environment:${job.environment}`,
    repository: job.repository,
    repository_owner: owner,
    repository_id: String(createHash('sha256').update(job.repository).digest().readUInt32BE(0)),
    repository_owner_id: String(createHash('sha256').update(owner).digest().readUInt32BE(0)),
    repository_visibility: 'private',
    ref,
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    sha,
    workflow: job.workflowFile.replace(/\.ya?ml$/, ''),
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref:
      jobWorkflow === undefined
        ? workflowRef
        : `${jobWorkflow.repository}/.github/workflows/${jobWorkflow.workflowFile}@${jobWorkflow.ref}`,
    job_workflow_sha: sha,
    event_name: job.eventName ?? 'push',
    run_id: runId,
    run_number: '1',
    run_attempt: '1',
    runner_environment: 'github-hosted',
    actor: owner,
    ...(job.environment === undefined ? {} : { environment: job.environment }),
  };
}

/** What a runner gives a job with `permissions: id-token: write`: where and how to ask for a token. */
export interface IdTokenRequest {
  /** `ACTIONS_ID_TOKEN_REQUEST_URL`; the runner's toolkit appends `&audience=…`. */
  url: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN` */
  token: string;
}

export interface LocalOidcIssuer {
  /** The `iss` of its tokens and the base of `/.well-known/openid-configuration`. */
  issuer: string;
  /** The key its tokens are signed with (ES256), for a relying party such as the local Fulcio. */
  publicKey: KeyObject;
  /** A job's token endpoint: each job gets its own request token, bound to its claims. */
  job(claims: GitHubClaims): IdTokenRequest;
  /** Mints a token directly. */
  mint(claims: GitHubClaims, audience?: string): string;
  /** Every token minted through a job's endpoint, oldest first. */
  minted(): { audience: string; claims: GitHubClaims }[];
  stop(): Promise<void>;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * An OIDC issuer on 127.0.0.1 that mints GitHub-shaped ID tokens (ES256): the discovery document, its
 * JWKS, and a token endpoint that answers the way a runner's `ACTIONS_ID_TOKEN_REQUEST_URL` does
 * (`GET …&audience=sigstore` with `Authorization: Bearer <request token>` → `{"value": "<jwt>"}`), so
 * an action bundle gets its token through the real toolkit. `issuer` may be set to GitHub's URL to stand
 * in for it; by default it is the server's own URL.
 */
export async function startOidcIssuer(options: { issuer?: string } = {}): Promise<LocalOidcIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
  const jobs = new Map<string, GitHubClaims>();
  const minted: { audience: string; claims: GitHubClaims }[] = [];
  let issuer = options.issuer ?? '';

  const mint = (claims: GitHubClaims, audience = 'sigstore') => {
    const now = Math.floor(Date.now() / 1000);
    const header = base64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid }));
    const body = base64url(
      JSON.stringify({ ...claims, iss: issuer, aud: audience, iat: now, nbf: now - 5, exp: now + 300 }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${body}`), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${header}.${body}.${base64url(signature)}`;
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      reply(200, {
        issuer,
        jwks_uri: `${serverURL}/.well-known/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'repository', 'ref', 'sha', 'job_workflow_ref'],
      });
      return;
    }
    if (url.pathname === '/.well-known/jwks') {
      reply(200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' }] });
      return;
    }
    if (url.pathname === '/token' && request.method === 'GET') {
      const bearer = /^bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const claims = bearer === undefined ? undefined : jobs.get(bearer);
      if (claims === undefined) {
        reply(401, { message: 'Bad credentials: no job has this request token' });
        return;
      }
      const audience = url.searchParams.get('audience') ?? 'sigstore';
      minted.push({ audience, claims });
      reply(200, { value: mint(claims, audience) });
      return;
    }
    reply(404, { message: `no ${request.method} ${url.pathname} here` });
  });
  const serverURL = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  if (issuer === '') issuer = serverURL;

  return {
    issuer,
    publicKey,
    job(claims) {
      const token = randomBytes(24).toString('hex');
      jobs.set(token, claims);
      return { url: `${serverURL}/token?api-version=2.0`, token };
    },
    mint,
    minted: () => [...minted],
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The claims of an ES256 token if `publicKey` signed it; undefined when the signature does not verify. */
export function verifiedClaims(token: string, publicKey: KeyObject): Record<string, unknown> | undefined {
  const [header, body, signature] = token.split('.');
  if (header === undefined || body === undefined || signature === undefined) return undefined;
  const ok = verify(
    'sha256',
    Buffer.from(`${header}.${body}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  return ok
    ? (JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>)
    : undefined;
}
