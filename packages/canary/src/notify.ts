export type WebhookFormat = 'slack' | 'teams' | 'json';

export interface CanaryEvent {
  result: 'promoted' | 'rolled-back';
  image: string;
  digest: string;
  previousDigest?: string;
  reason: string;
  failedChecks: number;
  /** Link to the workflow run, when known. */
  runUrl?: string;
}

function headline(event: CanaryEvent): string {
  return event.result === 'promoted'
    ? `Canary promoted: ${event.image}@${event.digest}`
    : `Canary rolled back: ${event.image}@${event.digest}`;
}

function lines(event: CanaryEvent): string[] {
  return [
    `Reason: ${event.reason}`,
    `Failed checks: ${event.failedChecks}`,
    ...(event.previousDigest === undefined ? [] : [`Previous digest: ${event.previousDigest}`]),
    ...(event.runUrl === undefined ? [] : [`Run: ${event.runUrl}`]),
  ];
}

/** The request body each receiver expects: Slack incoming webhook, Teams (Adaptive Card), or the event itself. */
export function webhookBody(format: WebhookFormat, event: CanaryEvent): unknown {
  if (format === 'json') return { source: 'digestline/canary-deploy', ...event };
  if (format === 'slack') {
    return {
      text: headline(event),
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: headline(event) } },
        { type: 'section', text: { type: 'mrkdwn', text: lines(event).join('\n') } },
      ],
    };
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', size: 'Medium', weight: 'Bolder', text: headline(event), wrap: true },
            ...lines(event).map((text) => ({ type: 'TextBlock', text, wrap: true })),
          ],
        },
      },
    ],
  };
}

/**
 * Posts the event. Never throws: a broken webhook must not stand between a bad canary and its rollback.
 * The returned problem never contains the URL, which usually carries the receiver's secret.
 */
export async function sendWebhook(
  url: string,
  format: WebhookFormat,
  event: CanaryEvent,
  timeoutMs = 10_000,
): Promise<{ ok: true } | { ok: false; problem: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(format, event)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    if (response.ok) return { ok: true };
    return { ok: false, problem: `the webhook answered HTTP ${response.status}` };
  } catch (error) {
    // Only the error code: messages of URL parsing errors quote the URL.
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const detail =
      typeof cause?.code === 'string' ? cause.code : ((error as { name?: string }).name ?? 'error');
    return { ok: false, problem: `the webhook could not be reached (${detail})` };
  }
}
