import { describe, expect, test } from '@jest/globals';
import { expectGitHubCalls, expectSuccess, useDeliveryRig } from './delivery-rig.js';

/**
 * The delivery starter keyless, as a team on a private Sigstore adopts it: the key lines deleted, its
 * Fulcio, Rekor, timestamp authority and trusted root named. The build job's identity (our
 * build-and-sign.yml, run for the team's repository) signs the image; each promotion job's identity (our
 * promote.yml, in its environment) signs its record, and each promotion verifies both before a tag moves.
 */
const fixtures = useDeliveryRig('keyless');

describe('the delivery starter keyless', () => {
  test('release 1 reaches production signed by the workflows identities, with no key anywhere', async () => {
    const [rig, github] = [fixtures.rig(), fixtures.github()];
    expectGitHubCalls(github, 4, 2);
    // The merge job's keyless bundles also go to GitHub's attestations API (for `gh attestation verify`).
    github.on('repos/create-attestation', { status: 201, body: { id: 1 } }, { times: 3 });
    const run = await rig.run();
    expectSuccess(run);
    const digest = run.job('build/merge').outputs.digest as string;
    for (const env of ['dev', 'staging', 'canary', 'production']) expect(await rig.tagOf(env)).toBe(digest);

    // Who got a token: the merge job (it signs) and each promotion job (it signs its record), never
    // the platform builds, the scans or the canary.
    const minted = rig.tokens;
    expect(minted.every((token) => token.audience === 'sigstore')).toBe(true);
    expect(minted.map((token) => [token.job, token.claims.job_workflow_ref.replace(/@.*$/, '')])).toEqual([
      ['build/merge', 'digestline/actions/.github/workflows/build-and-sign.yml'],
      ['build/promote-dev/promote', 'digestline/actions/.github/workflows/promote.yml'],
      ['staging/promote', 'digestline/actions/.github/workflows/promote.yml'],
      ['canary-stage/promote', 'digestline/actions/.github/workflows/promote.yml'],
      ['canary/promote-production/promote', 'digestline/actions/.github/workflows/promote.yml'],
    ]);
    // Each record is signed in its environment (the token's sub names it), by the caller's repository.
    expect(minted.slice(1).map((token) => token.claims.sub)).toEqual(
      ['dev', 'staging', 'canary', 'production'].map((env) => `repo:octo-org/app:environment:${env}`),
    );
    // Fulcio certified exactly those identities.
    const sans = (rig.sigstore?.sigstore.requests() ?? [])
      .filter((request) => request.service === 'fulcio' && request.status < 300)
      .map((request) => request.detail ?? '');
    expect(sans.some((san) => san.includes('/.github/workflows/build-and-sign.yml@'))).toBe(true);
    expect(sans.filter((san) => san.includes('/.github/workflows/promote.yml@'))).toHaveLength(4);

    const attested = github.requests
      .filter((request) => request.operationId === 'repos/create-attestation')
      .map((request) => (request.body as { bundle: { dsseEnvelope?: { payload: string } } }).bundle)
      .map((bundle) => JSON.parse(Buffer.from(bundle.dsseEnvelope?.payload ?? '', 'base64').toString('utf8')))
      .map((statement: { predicateType: string; subject: { digest: { sha256: string } }[] }) => [
        statement.predicateType,
        `sha256:${statement.subject[0]?.digest.sha256}`,
      ]);
    expect(attested).toEqual([
      ['https://sigstore.dev/cosign/sign/v1', digest],
      ['https://spdx.dev/Document', digest],
      ['https://slsa.dev/provenance/v1', digest],
    ]);
    github.assertDone();
  }, 600_000);
});
