import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type GitHubFixture, type RecordedRequest, startGitHub } from './github.js';

const SHA = 'a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d';

interface Answer {
  status: number;
  body: unknown;
}

async function call(
  github: GitHubFixture,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${github.url}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const sarifUpload = { commit_sha: SHA, ref: 'refs/heads/main', sarif: 'H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA==' };
const sarifReceipt = {
  id: '47177e22-5596-11eb-80a1-c1e54ef945c6',
  url: 'https://api.github.com/repos/octo/app/code-scanning/sarifs/47177e22-5596-11eb-80a1-c1e54ef945c6',
};

function deployment(id: number, request: { ref?: unknown; environment?: unknown; payload?: unknown }) {
  const url = `https://api.github.com/repos/octo/app/deployments/${id}`;
  return {
    url,
    id,
    node_id: `DE_${id}`,
    sha: SHA,
    ref: request.ref,
    task: 'deploy',
    payload: request.payload ?? {},
    environment: request.environment ?? 'production',
    description: null,
    creator: null,
    created_at: '2025-01-02T03:04:05Z',
    updated_at: '2025-01-02T03:04:05Z',
    statuses_url: `${url}/statuses`,
    repository_url: 'https://api.github.com/repos/octo/app',
  };
}

function issue(number: number, title: unknown) {
  const url = `https://api.github.com/repos/octo/app/issues/${number}`;
  return {
    id: 1000 + number,
    node_id: `I_${number}`,
    url,
    repository_url: 'https://api.github.com/repos/octo/app',
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: `https://github.com/octo/app/issues/${number}`,
    number,
    state: 'open',
    title,
    locked: false,
    labels: [],
    assignee: null,
    milestone: null,
    comments: 0,
    closed_at: null,
    user: null,
    created_at: '2025-01-02T03:04:05Z',
    updated_at: '2025-01-02T03:04:05Z',
  };
}

describe('GitHub fixture server', () => {
  let github: GitHubFixture;

  beforeAll(async () => {
    github = await startGitHub();
  });
  afterEach(() => github.assertDone());
  afterAll(() => github.stop());

  it('answers a valid SARIF upload with the registered 202 and records it', async () => {
    github.on('code-scanning/upload-sarif', { status: 202, body: sarifReceipt });

    const answer = await call(github, 'POST', '/repos/octo/app/code-scanning/sarifs', sarifUpload, {
      Authorization: 'token ghs_anything',
    });

    expect(answer).toEqual({ status: 202, body: sarifReceipt });
    expect(github.requests.at(-1)).toMatchObject({
      operationId: 'code-scanning/upload-sarif',
      method: 'POST',
      path: '/repos/octo/app/code-scanning/sarifs',
      query: {},
      body: sarifUpload,
      headers: { authorization: 'token ghs_anything', accept: 'application/vnd.github+json' },
    });
    expect(github.problems).toEqual([]);
  });

  it('rejects a SARIF upload without commit_sha with 422, like GitHub', async () => {
    github.on('code-scanning/upload-sarif', { status: 202, body: sarifReceipt });
    const { commit_sha: _, ...incomplete } = sarifUpload;

    const answer = await call(github, 'POST', '/repos/octo/app/code-scanning/sarifs', incomplete);

    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      message: 'Validation Failed',
      errors: [expect.objectContaining({ field: 'body.commit_sha', code: 'missing_field' })],
    });
    expect(github.problems).toEqual([expect.stringContaining('422 (code-scanning/upload-sarif)')]);
    expect(github.problems[0]).toContain('commit_sha');
    expect(() => github.assertDone()).toThrow(
      /commit_sha[\s\S]*1 of 1 registered response\(s\) never requested/,
    );
  });

  it('answers an unknown path with 404 and records a problem', async () => {
    const answer = await call(github, 'GET', '/repos/octo/app/not-a-thing');

    expect(answer).toEqual({
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
    });
    expect(github.problems).toEqual([expect.stringMatching(/^GET \/repos\/octo\/app\/not-a-thing: 404/)]);
    expect(() => github.assertDone()).toThrow(/not-a-thing/);
  });

  it('answers a known path with a method GitHub does not offer with 404', async () => {
    const answer = await call(github, 'PUT', '/repos/octo/app/code-scanning/sarifs', sarifUpload);

    expect(answer.status).toBe(404);
    expect(() => github.assertDone()).toThrow(/PUT \/repos\/octo\/app\/code-scanning\/sarifs: 404/);
  });

  it('answers malformed JSON with 400', async () => {
    const answer = await call(github, 'POST', '/repos/octo/app/issues', '{"title": ');

    expect(answer).toMatchObject({ status: 400, body: { message: 'Problems parsing JSON' } });
    expect(() => github.assertDone()).toThrow(/400 \(issues\/create\) body is not JSON/);
  });

  it('rejects query and path parameters of the wrong type', async () => {
    github.on('repos/list-deployments', { status: 200, body: [] });

    const badQuery = await call(github, 'GET', '/repos/octo/app/deployments?per_page=many');
    const badPath = await call(github, 'GET', '/repos/octo/app/deployments/latest');
    const good = await call(github, 'GET', '/repos/octo/app/deployments?environment=staging&per_page=5');

    expect([badQuery.status, badPath.status, good.status]).toEqual([422, 422, 200]);
    expect(github.requests.at(-1)).toMatchObject({
      operationId: 'repos/list-deployments',
      query: { environment: 'staging', per_page: '5' },
    });
    expect(github.problems).toEqual([
      expect.stringContaining('per_page'),
      expect.stringContaining('deployment_id'),
    ]);
    expect(() => github.assertDone()).toThrow(/2 problem/);
  });

  it('refuses to register a response GitHub would never send', () => {
    expect(() =>
      github.on('repos/create-deployment', { status: 201, body: { id: 1, sha: SHA, ref: 'main' } }),
    ).toThrow(
      /repos\/create-deployment does not match the documented 201 schema: body\.node_id: missing; body\.task: missing/,
    );
    expect(() =>
      github.on('repos/create-deployment', {
        status: 201,
        body: { ...deployment(1, { ref: 'main' }), url: 'not a url' },
      }),
    ).toThrow(/body\.url: must match format "uri"/);
    expect(() => github.on('repos/create-deployment', { status: 200, body: {} })).toThrow(
      /status 200, which is not documented \(documented: 201, 202, 409, 422\)/,
    );
    expect(() => github.on('repos/delete-deployment', { status: 204, body: { ok: true } })).toThrow(
      /status 204 is documented without one/,
    );
    expect(() => github.on('repos/create-a-deployment', { status: 201 })).toThrow(/not an operationId/);
  });

  it('accepts an undocumented server error, so tests can simulate an outage', async () => {
    github.on('repos/create-deployment', { status: 502, body: { message: 'Server Error' } });

    const answer = await call(github, 'POST', '/repos/octo/app/deployments', { ref: 'main' });

    expect(answer).toEqual({ status: 502, body: { message: 'Server Error' } });
  });

  it('reports a valid request nobody registered a response for', async () => {
    const answer = await call(github, 'POST', '/repos/octo/app/issues', { title: 'unplanned' });

    expect(answer.status).toBe(500);
    expect(github.problems).toEqual([
      expect.stringContaining('unexpected request to issues/create: no registered response left'),
    ]);
    expect(() => github.assertDone()).toThrow(/unexpected request to issues\/create/);
  });

  it('uses a response `times` times, then treats the next request as unexpected', async () => {
    github.on('code-scanning/upload-sarif', { status: 202, body: sarifReceipt }, { times: 2 });

    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await call(github, 'POST', '/repos/octo/app/code-scanning/sarifs', sarifUpload)).status);
    }

    expect(statuses).toEqual([202, 202, 500]);
    expect(() => github.assertDone()).toThrow(/unexpected request to code-scanning\/upload-sarif/);
  });

  it('picks the response whose `when` accepts the request and reports the unused one', async () => {
    const byTitle = (title: string) => (req: RecordedRequest) =>
      (req.body as { title?: string }).title === title;
    github.on('issues/create', { status: 201, body: issue(1, 'first') }, { when: byTitle('first') });
    github.on('issues/create', { status: 201, body: issue(2, 'second') }, { when: byTitle('second') });
    github.on('issues/create', { status: 201, body: issue(3, 'third') }, { when: byTitle('third') });

    const second = await call(github, 'POST', '/repos/octo/app/issues', { title: 'second' });
    const first = await call(github, 'POST', '/repos/octo/app/issues', { title: 'first' });
    const other = await call(github, 'POST', '/repos/octo/app/issues', { title: 'other' });

    expect([second.body, first.body]).toMatchObject([{ number: 2 }, { number: 1 }]);
    expect(other.status).toBe(500);
    expect(() => github.assertDone()).toThrow(
      /1 registered with `when` did not match[\s\S]*issues\/create: 1 of 1 registered response\(s\) never requested \(with a `when` condition\)/,
    );
  });

  it('round-trips createDeployment with a response built from the request', async () => {
    github.on('repos/create-deployment', (req) => {
      const body = req.body as { ref: string; environment?: string; payload?: unknown };
      return { status: 201, body: deployment(7, body) };
    });

    const answer = await call(github, 'POST', '/repos/octo/app/deployments', {
      ref: SHA,
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { digest: `sha256:${'0'.repeat(64)}` },
    });

    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ id: 7, ref: SHA, environment: 'staging' });
    expect(github.requests.at(-1)?.operationId).toBe('repos/create-deployment');
  });

  it('rejects a createDeployment request without ref', async () => {
    github.on('repos/create-deployment', { status: 201, body: deployment(8, { ref: 'main' }) });

    const answer = await call(github, 'POST', '/repos/octo/app/deployments', { environment: 'staging' });

    expect(answer.status).toBe(422);
    expect(() => github.assertDone()).toThrow(
      /422 \(repos\/create-deployment\) request rejected: body\.ref: missing/,
    );
  });

  it('round-trips issues/create', async () => {
    github.on('issues/create', (req) => ({
      status: 201,
      body: issue(42, (req.body as { title: string }).title),
    }));

    const answer = await call(github, 'POST', '/repos/octo/app/issues', {
      title: 'Promotion to production blocked',
      body: 'scan-gate found 2 critical findings',
      labels: ['digestline'],
    });

    expect(answer).toMatchObject({
      status: 201,
      body: { number: 42, title: 'Promotion to production blocked' },
    });
    expect(github.requests.at(-1)).toMatchObject({
      operationId: 'issues/create',
      path: '/repos/octo/app/issues',
    });
  });

  it('accepts null where GitHub marks a schema nullable without a type, and still checks the rest', async () => {
    github.on('issues/create', { status: 201, body: issue(43, 'no milestone') });

    const withNull = await call(github, 'POST', '/repos/octo/app/issues', {
      title: 'no milestone',
      milestone: null,
    });
    const withBoolean = await call(github, 'POST', '/repos/octo/app/issues', { title: 'x', milestone: true });

    expect([withNull.status, withBoolean.status]).toEqual([201, 422]);
    expect(() => github.assertDone()).toThrow(/422 \(issues\/create\) request rejected: body\.milestone/);
  });

  it('fails the request when a response function returns a shape GitHub would never send', async () => {
    github.on('issues/create', () => ({ status: 201, body: { number: 1 } }));

    const answer = await call(github, 'POST', '/repos/octo/app/issues', { title: 'x' });

    expect(answer.status).toBe(500);
    expect(github.requests.filter((r) => r.body && (r.body as { title?: string }).title === 'x')).toEqual([]);
    expect(() => github.assertDone()).toThrow(
      /the response function returned does not match the documented 201/,
    );
  });
});

describe('GitHub fixture server with a token', () => {
  let github: GitHubFixture;

  beforeAll(async () => {
    github = await startGitHub({ token: 'ghs_secret' });
  });
  afterEach(() => github.assertDone());
  afterAll(() => github.stop());

  it('accepts "token X" and "Bearer X" and rejects a missing or wrong token with 401', async () => {
    github.on('code-scanning/upload-sarif', { status: 202, body: sarifReceipt }, { times: 2 });
    const upload = (headers: Record<string, string>) =>
      call(github, 'POST', '/repos/octo/app/code-scanning/sarifs', sarifUpload, headers);

    const answers = [
      await upload({ authorization: 'token ghs_secret' }),
      await upload({ authorization: 'Bearer ghs_secret' }),
      await upload({}),
      await upload({ authorization: 'token ghs_wrong' }),
    ];

    expect(answers.map((a) => a.status)).toEqual([202, 202, 401, 401]);
    expect(answers[2]?.body).toMatchObject({ message: 'Requires authentication' });
    expect(answers[3]?.body).toMatchObject({ message: 'Bad credentials' });
    expect(github.problems).toEqual([
      expect.stringContaining('401 no Authorization header'),
      expect.stringContaining('401 wrong credentials'),
    ]);
    expect(github.problems.join('\n')).not.toContain('ghs_wrong');
    expect(() => github.assertDone()).toThrow(/2 problem/);
  });
});
