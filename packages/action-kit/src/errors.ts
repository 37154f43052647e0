/**
 * The user's input is wrong. `run()` reports only the message: a stack trace would point at our code
 * when the fix belongs in the workflow file.
 */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

// A cause chain is data from other libraries; guard against cycles and absurd depth.
const MAX_CAUSES = 10;

/**
 * One line for an error and everything that caused it, e.g.
 * `registry push failed (caused by: fetch failed (caused by: connect ECONNREFUSED 127.0.0.1:5000))`.
 * The bare "fetch failed" of undici is useless without its cause, which is why the chain is kept.
 */
export function describeError(error: unknown): string {
  const messages = causeChain(error).map(ownMessage);
  // Wrappers often repeat their cause's message (`push failed: ${e.message}`); say it once.
  const kept = messages.filter((message, i) => i === 0 || !messages[i - 1]?.includes(message));
  return kept.reduceRight((inner, outer) => (inner === '' ? outer : `${outer} (caused by: ${inner})`), '');
}

/** Stacks of the error and its causes, for the debug log. */
export function describeStacks(error: unknown): string[] {
  return causeChain(error)
    .map((e) => (e instanceof Error ? e.stack : undefined))
    .filter((stack): stack is string => stack !== undefined);
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < MAX_CAUSES && !chain.includes(current)) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

function ownMessage(error: unknown): string {
  if (!(error instanceof Error)) return typeof error === 'string' ? error : safeJson(error);
  // Node's connection errors for dual-stack hosts are AggregateErrors with an empty message.
  if (error instanceof AggregateError && error.errors.length > 0) {
    const inner = error.errors.map(ownMessage).join('; ');
    return error.message ? `${error.message}: ${inner}` : inner;
  }
  const code = (error as { code?: unknown }).code;
  return error.message || (typeof code === 'string' ? code : error.name);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
