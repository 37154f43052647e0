import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigurationError, createOctokit } from '../src/index.js';
import { fakeRunner } from './runner.js';

const runner = fakeRunner();

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** A stand-in for the GitHub API on 127.0.0.1 that answers from a script and records what it was asked. */
let server: Server;
let origin = '';
let replies: Reply[] = [];
let received: Received[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    // The last reply repeats, so "always fail" is a one-element script.
    const reply = (replies.length > 1 ? replies.shift() : replies[0]) ?? {
      status: 404,
      body: { message: 'Not Found' },
    };
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    response.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  replies = [];
  received = [];
});

const repo = { id: 1, name: 'octo-repo', full_name: 'octo-org/octo-repo' };

describe('createOctokit', () => {
  it('calls the API at GITHUB_API_URL with the token, as on GitHub Enterprise Server', async () => {
    process.env.GITHUB_API_URL = `${origin}/api/v3`;
    replies = [{ status: 200, body: repo }];
    const { data } = await createOctokit('ghs_example_token').rest.repos.get({
      owner: 'octo-org',
      repo: 'octo-repo',
    });
    expect(data.full_name).toBe('octo-org/octo-repo');
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /api/v3/repos/octo-org/octo-repo']);
    expect(received[0]?.headers.authorization).toBe('token ghs_example_token');
  });

  it('prefers an explicit baseUrl', async () => {
    process.env.GITHUB_API_URL = 'http://127.0.0.1:9/not-this-one';
    replies = [{ status: 200, body: repo }];
    await createOctokit('t0ken', { baseUrl: `${origin}/explicit` }).request('GET /repos/{owner}/{repo}', {
      owner: 'octo-org',
      repo: 'octo-repo',
    });
    expect(received.map((r) => r.url)).toEqual(['/explicit/repos/octo-org/octo-repo']);
  });

  it('registers the token as a secret before using it', () => {
    createOctokit('ghs_secret_value', { baseUrl: origin });
    expect(runner.commands('add-mask')).toContain('ghs_secret_value');
  });

  it('refuses an empty token as a configuration mistake', () => {
    expect(() => createOctokit('')).toThrow(ConfigurationError);
  });

  it('retries a GET that failed with a server error', async () => {
    replies = [
      { status: 500, body: { message: 'Internal Server Error' } },
      { status: 200, body: repo },
    ];
    const octokit = createOctokit('t0ken', { baseUrl: origin, retries: 1 });
    const { data } = await octokit.rest.repos.get({ owner: 'octo-org', repo: 'octo-repo' });
    expect(data.id).toBe(1);
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /repos/octo-org/octo-repo',
      'GET /repos/octo-org/octo-repo',
    ]);
  });

  it('surfaces the server error when retries are turned off', async () => {
    replies = [{ status: 502, body: { message: 'Bad Gateway' } }];
    const octokit = createOctokit('t0ken', { baseUrl: origin, retries: 0 });
    await expect(octokit.rest.repos.get({ owner: 'octo-org', repo: 'octo-repo' })).rejects.toMatchObject({
      status: 502,
    });
    expect(received).toHaveLength(1);
  });

  it('does not retry a client error', async () => {
    replies = [{ status: 404, body: { message: 'Not Found' } }];
    const octokit = createOctokit('t0ken', { baseUrl: origin });
    await expect(octokit.rest.repos.get({ owner: 'octo-org', repo: 'nope' })).rejects.toMatchObject({
      status: 404,
    });
    expect(received).toHaveLength(1);
  });

  it('waits out a secondary rate limit twice with a warning, then gives up', async () => {
    replies = [
      {
        status: 403,
        headers: { 'retry-after': '1' },
        body: {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        },
      },
    ];
    const octokit = createOctokit('t0ken', { baseUrl: origin });
    await expect(octokit.rest.repos.get({ owner: 'octo-org', repo: 'octo-repo' })).rejects.toMatchObject({
      status: 403,
    });
    expect(received).toHaveLength(3);
    expect(runner.commands('warning')).toEqual([
      'GET /repos/{owner}/{repo} hit the GitHub API secondary rate limit; retrying in 1s (retry 1 of 2).',
      'GET /repos/{owner}/{repo} hit the GitHub API secondary rate limit; retrying in 1s (retry 2 of 2).',
      'GET /repos/{owner}/{repo} hit the GitHub API secondary rate limit; giving up after 2 retries.',
    ]);
  });

  it('waits for the primary rate limit to reset, with a warning', async () => {
    const resetNow = String(Math.floor(Date.now() / 1000));
    replies = [
      {
        status: 403,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': resetNow },
        body: { message: 'API rate limit exceeded' },
      },
      { status: 200, body: repo },
    ];
    const octokit = createOctokit('t0ken', { baseUrl: origin });
    const { data } = await octokit.rest.repos.get({ owner: 'octo-org', repo: 'octo-repo' });
    expect(data.id).toBe(1);
    expect(received).toHaveLength(2);
    expect(runner.commands('warning')).toEqual([
      expect.stringMatching(
        /^GET \/repos\/\{owner\}\/\{repo\} hit the GitHub API rate limit; retrying in [01]s \(retry 1 of 2\)\.$/,
      ),
    ]);
  });
});
