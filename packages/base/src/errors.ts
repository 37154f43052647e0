/**
 * Whose fault a failure is, which decides how it is reported:
 * - `user`: the input is wrong or a gate refused it. Reported as a clean failure without a stack: the
 *   fix belongs in the workflow or the command line, not in our code.
 * - `environment`: a registry, database, network or tool outside us failed. Reported with its causes.
 * - `bug`: something we did not expect. Reported with its causes and stacks.
 */
export type Fault = 'user' | 'environment' | 'bug';

export interface DigestlineErrorOptions<Code extends string> {
  code: Code;
  fault: Fault;
  cause?: unknown;
}

/**
 * The base of every domain error. `code` is stable (tests, scripts and docs may rely on it); the message
 * says what was wrong and how to fix it.
 */
export class DigestlineError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly fault: Fault;

  constructor(message: string, options: DigestlineErrorOptions<Code>) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.fault = options.fault;
  }
}

/**
 * A base class for an error that is always the same code and fault:
 * `export class PrometheusError extends errorClass('PrometheusError', 'PROMETHEUS_FAILED', 'environment') {}`.
 */
export function errorClass<Code extends string>(name: string, code: Code, fault: Fault) {
  return class extends DigestlineError<Code> {
    override name = name;
    constructor(message: string, options: { cause?: unknown } = {}) {
      super(message, { code, fault, cause: options.cause });
    }
  };
}

/** The user's input is wrong: a clean failure that names the input and the fix. */
export class ConfigurationError extends errorClass('ConfigurationError', 'CONFIGURATION', 'user') {}

/**
 * A gate ran and said no (blocking findings, a failed dry-run, an unhealthy canary): the step fails
 * cleanly, with what to look at, and nothing was changed by the refusal itself.
 */
export class GateFailedError extends errorClass('GateFailedError', 'GATE_FAILED', 'user') {}

/** The fault of any thrown value: ours unless it says otherwise. */
export function faultOf(error: unknown): Fault {
  return error instanceof DigestlineError ? error.fault : 'bug';
}

/**
 * Exit codes shared by every command-line front end (the `digestline` CLI, `migration-check`):
 * 0 everything passed; 1 a gate or verification ran and said no; 2 the user's input is wrong or a gate
 * refused the request (fault `user`); 3 something outside failed (fault `environment`); 4 a bug.
 */
export const ExitCode = { ok: 0, failed: 1, user: 2, environment: 3, bug: 4 } as const;

export function exitCodeOf(error: unknown): number {
  return ExitCode[faultOf(error)];
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

/** How a front end shows an error: a user's mistake by its message alone, anything else with its causes. */
export function reportError(error: unknown): string {
  return faultOf(error) === 'user' && isErrorLike(error) ? error.message : describeError(error);
}

/** Stacks of the error and its causes, for the debug log. */
export function describeStacks(error: unknown): string[] {
  return causeChain(error)
    .map((e) => (isErrorLike(e) ? e.stack : undefined))
    .filter((stack): stack is string => typeof stack === 'string');
}

interface ErrorLike {
  message: string;
  name?: unknown;
  stack?: unknown;
  cause?: unknown;
  code?: unknown;
  errors?: unknown;
}

/**
 * Errors from another realm (undici's fetch errors inside a test VM, a worker's errors) fail
 * `instanceof Error`; their shape is what counts here.
 */
function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as ErrorLike).message === 'string';
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < MAX_CAUSES && !chain.includes(current)) {
    chain.push(current);
    current = isErrorLike(current) ? current.cause : undefined;
  }
  return chain;
}

function ownMessage(error: unknown): string {
  if (!isErrorLike(error)) return typeof error === 'string' ? error : safeJson(error);
  // Node's connection errors for dual-stack hosts are AggregateErrors with an empty message.
  if (Array.isArray(error.errors) && error.errors.length > 0) {
    const inner = error.errors.map(ownMessage).join('; ');
    return error.message ? `${error.message}: ${inner}` : inner;
  }
  return error.message || (typeof error.code === 'string' ? error.code : String(error.name ?? 'Error'));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
