import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { githubClaims, type LocalOidcIssuer, startOidcIssuer, verifiedClaims } from '../src/index.js';

let issuer: LocalOidcIssuer;
beforeAll(async () => {
  issuer = await startOidcIssuer();
});
afterAll(() => issuer?.stop());

describe('the local OIDC issuer', () => {
  test('answers a job’s token request the way a runner’s endpoint does, with a token its JWKS verifies', async () => {
    const claims = githubClaims({
      repository: 'octo/app',
      workflowFile: 'promote.yml',
      environment: 'production',
    });
    const job = issuer.job(claims);
    const response = await fetch(`${job.url}&audience=sigstore`, {
      headers: { authorization: `Bearer ${job.token}` },
    });
    expect(response.status).toBe(200);
    const { value } = (await response.json()) as { value: string };

    const discovery = (await (await fetch(`${issuer.issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery.issuer).toBe(issuer.issuer);
    const { keys } = (await (await fetch(discovery.jwks_uri)).json()) as { keys: object[] };
    const key = createPublicKey({ key: keys[0] as never, format: 'jwk' });
    expect(verifiedClaims(value, key)).toMatchObject({
      iss: issuer.issuer,
      aud: 'sigstore',
      sub: 'repo:octo/app:environment:production',
      job_workflow_ref: 'octo/app/.github/workflows/promote.yml@refs/heads/main',
      environment: 'production',
    });
    expect(issuer.minted()).toEqual([{ audience: 'sigstore', claims }]);
  });

  test('refuses a request token no job was given', async () => {
    const job = issuer.job(githubClaims({ repository: 'octo/app', workflowFile: 'build.yml' }));
    const response = await fetch(`${job.url}&audience=sigstore`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(response.status).toBe(401);
  });
});
