import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type CanaryEvent, sendWebhook } from '../src/index.js';

interface Received {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

let server: Server;
let base: string;
const received: Received[] = [];
let status = 200;

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    let text = '';
    request.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        contentType: request.headers['content-type'],
        body: JSON.parse(text),
      });
      response.writeHead(status);
      response.end(status === 200 ? 'ok' : 'invalid_token');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const event: CanaryEvent = {
  result: 'rolled-back',
  image: '127.0.0.1:5000/team/app',
  digest: `sha256:${'a'.repeat(64)}`,
  previousDigest: `sha256:${'b'.repeat(64)}`,
  reason: '3 consecutive failed checks at 5 %',
  failedChecks: 3,
};

describe('sendWebhook', () => {
  test('slack: posts text and blocks naming the decision and the reason', async () => {
    received.length = 0;
    expect(await sendWebhook(`${base}/services/T0/B0/secret`, 'slack', event)).toEqual({ ok: true });
    const [request] = received;
    expect(request?.contentType).toBe('application/json');
    expect(request?.body).toMatchObject({ text: `Canary rolled back: ${event.image}@${event.digest}` });
    expect(JSON.stringify(request?.body)).toContain('Reason: 3 consecutive failed checks at 5 %');
  });

  test('teams: posts a message with an Adaptive Card', async () => {
    received.length = 0;
    await sendWebhook(`${base}/teams`, 'teams', { ...event, result: 'promoted', reason: 'all good' });
    const body = received[0]?.body as {
      type: string;
      attachments: { contentType: string; content: { type: string; body: { text: string }[] } }[];
    };
    expect(body.type).toBe('message');
    expect(body.attachments[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(body.attachments[0]?.content.type).toBe('AdaptiveCard');
    expect(body.attachments[0]?.content.body[0]?.text).toBe(
      `Canary promoted: ${event.image}@${event.digest}`,
    );
  });

  test('json: posts the event itself', async () => {
    received.length = 0;
    await sendWebhook(`${base}/hook`, 'json', event);
    expect(received[0]?.body).toEqual({ source: 'digestline/canary-deploy', ...event });
  });

  test('a refusing or unreachable webhook is reported, never thrown, and the report leaves out the URL', async () => {
    status = 403;
    const refused = await sendWebhook(`${base}/services/T0/B0/secret`, 'slack', event);
    status = 200;
    expect(refused).toEqual({ ok: false, problem: 'the webhook answered HTTP 403' });
    const unreachable = await sendWebhook('http://127.0.0.1:9/services/secret', 'json', event);
    expect(unreachable.ok).toBe(false);
    expect(JSON.stringify(unreachable)).not.toContain('secret');
    expect(JSON.stringify(unreachable)).toContain('could not be reached');
  });
});
