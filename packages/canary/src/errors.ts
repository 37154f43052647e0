/**
 * The message of an error and, when it wraps one, of its cause (undici's "fetch failed" says nothing
 * without its cause). Duck-typed: errors from Node's own realm fail `instanceof Error` inside a VM
 * context such as Jest's.
 */
export function messageOf(error: unknown): string {
  const outer = (error as { message?: unknown } | undefined)?.message;
  const cause = (error as { cause?: { message?: unknown; code?: unknown } } | undefined)?.cause;
  const inner = typeof cause?.message === 'string' && cause.message !== '' ? cause.message : cause?.code;
  if (typeof outer !== 'string') return String(error);
  return typeof inner === 'string' && inner !== '' ? `${outer}: ${inner}` : outer;
}
