// A small seeded fuzzer: inputs made from real ones by mutation (truncated, wrong types, huge strings,
// deep nesting, invalid UTF-8), run one by one in a worker thread that is ended from outside when an
// input hangs or exhausts its heap. The same seed gives the same inputs, so a failure can be replayed.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** mulberry32: small, fast and good enough to pick mutations. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  'é\u0301',
  '🙂',
  '../../../../etc/passwd',
  '/',
  '%s%n%x',
  '<script>alert(1)</script>',
  '\n\n\r\n',
  'null',
  '-1',
  '1e309',
  '__proto__',
  'constructor',
  'CVE-0000-0000',
  '\t-\t:',
];

/** A string of up to a quarter of a megabyte, of one repeated character or of odd ones. */
export function hugeString(random: Random): string {
  const length = random.pick([4_096, 65_536, 262_144]);
  return random.chance(0.5) ? 'A'.repeat(length) : random.pick(ODD_STRINGS.slice(3)).repeat(length / 8);
}

export function oddString(random: Random): string {
  return random.chance(0.1) ? hugeString(random) : random.pick(ODD_STRINGS);
}

/** Nested `depth` times, built without recursion so that the generator itself cannot overflow. */
function nested(depth: number, leaf: unknown, asObject: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
}

/** Any JSON value of the wrong kind: what a field should never hold, and sometimes what it should. */
export function oddValue(random: Random): unknown {
  switch (random.int(12)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 2]);
    case 3:
      return [];
    case 4:
      return {};
    case 5:
      return nested(random.pick([10, 500, 2_000]), oddString(random), random.chance(0.5));
    case 6:
      return Array.from({ length: random.pick([1, 3, 1_000]) }, () => random.pick(ODD_STRINGS));
    case 7:
      return { [random.pick(ODD_STRINGS)]: random.pick(ODD_STRINGS) };
    default:
      return oddString(random);
  }
}

type Container = Record<string, unknown> | unknown[];

/** Every object and array in `value` with the keys in it, breadth first, at most `limit` of them. */
function slots(value: unknown, limit = 5_000): { parent: Container; key: string | number }[] {
  const found: { parent: Container; key: string | number }[] = [];
  const queue: unknown[] = [value];
  while (queue.length > 0 && found.length < limit) {
    const node = queue.shift();
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        found.push({ parent: node, key: index });
        queue.push(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        found.push({ parent: node as Record<string, unknown>, key });
        queue.push(child);
      }
    }
  }
  return found;
}

/** The same value of another JSON type: a number as a string, a list as an object, and so on. */
function retyped(value: unknown, random: Random): unknown {
  if (typeof value === 'string') return random.pick([Number(value) || 7, [value], { value }, null]);
  if (typeof value === 'number') return random.pick([String(value), [value], true]);
  if (Array.isArray(value)) return random.pick([{ ...value }, value.length, JSON.stringify(value)]);
  if (value !== null && typeof value === 'object') return random.pick([Object.values(value), 'object', 1]);
  return random.pick(['true', 1, [], {}]);
}

/** One to three structural changes to a copy of a parsed JSON or YAML document. */
export function mutateValue(document: unknown, random: Random): unknown {
  const copy = structuredClone(document);
  const changes = 1 + random.int(3);
  for (let i = 0; i < changes; i++) {
    const all = slots(copy);
    if (all.length === 0) return oddValue(random);
    const { parent, key } = random.pick(all);
    const current = (parent as Record<string | number, unknown>)[key];
    const set = (value: unknown) => {
      (parent as Record<string | number, unknown>)[key] = value;
    };
    switch (random.int(6)) {
      case 0:
        set(oddValue(random));
        break;
      case 1:
        set(retyped(current, random));
        break;
      case 2:
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else delete parent[key as string];
        break;
      case 3:
        if (Array.isArray(parent))
          parent.push(...Array.from({ length: random.pick([2, 50, 500]) }, () => current));
        else set(oddValue(random));
        break;
      case 4:
        set(nested(random.pick([3, 200]), current, random.chance(0.5)));
        break;
      default:
        set(random.chance(0.5) ? hugeString(random) : oddString(random));
    }
  }
  return copy;
}

/** Bytes that are not UTF-8: a lone continuation byte, an overlong form, a surrogate, a cut sequence. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xff], [0xfe, 0xff]];

/** Byte-level damage: truncation, invalid UTF-8, deleted or repeated spans. */
export function damageBytes(bytes: Buffer, random: Random): Buffer {
  if (bytes.length === 0) return Buffer.from(random.pick(INVALID_UTF8));
  const at = random.int(bytes.length);
  switch (random.int(5)) {
    case 0:
      return bytes.subarray(0, at);
    case 1:
      return Buffer.concat([
        bytes.subarray(0, at),
        Buffer.from(random.pick(INVALID_UTF8)),
        bytes.subarray(at),
      ]);
    case 2:
      return Buffer.concat([
        bytes.subarray(0, at),
        bytes.subarray(Math.min(bytes.length, at + 1 + random.int(64))),
      ]);
    case 3: {
      const span = bytes.subarray(at, at + 1 + random.int(256));
      return Buffer.concat([
        bytes.subarray(0, at),
        ...Array(random.pick([2, 100])).fill(span),
        bytes.subarray(at),
      ]);
    }
    default: {
      const copy = Buffer.from(bytes);
      copy[at] = random.int(256);
      return copy;
    }
  }
}

/** Text nested `depth` levels deep with no end, or with one: JSON's and YAML's flow syntax alike. */
export function deepText(random: Random): string {
  const depth = random.pick([1_000, 100_000]);
  const [open, close] = random.pick([
    ['[', ']'],
    ['{"a":', '}'],
  ] as const);
  return `${open.repeat(depth)}${random.chance(0.5) ? `1${close.repeat(depth)}` : ''}`;
}

export interface FuzzFailure {
  index: number;
  /** What was wrong: a plain exception, a hang or the heap. */
  outcome: string;
  input: string;
}

export interface FuzzOptions<T> {
  /** A module exporting the target, an absolute path or a URL relative to the test. */
  module: string;
  /** The exported function: it gets one input, and returns or throws. */
  name: string;
  inputs: T[];
  /** A one-line description of an input for the failure report. */
  describe(input: T): string;
  /** What counts as a clear error, from what the worker saw. */
  acceptError(error: { name: string; code?: string; fault?: string; message: string }): boolean;
  timeoutMs?: number;
  heapMb?: number;
}

const WORKER = fileURLToPath(new URL('./fuzz-worker.mjs', import.meta.url));

interface Reply {
  index?: number;
  ready?: boolean;
  ok?: boolean;
  name: string;
  code?: string;
  fault?: string;
  message: string;
  stack?: string;
}

/**
 * Runs every input through the target in a worker: an input that runs longer than `timeoutMs` (5 s) or
 * exhausts the worker's heap is a failure, and a new worker takes the next input. Returns the failures.
 */
export async function fuzz<T>(options: FuzzOptions<T>): Promise<FuzzFailure[]> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const failures: FuzzFailure[] = [];
  let worker: Worker | undefined;
  let pending: ((reply: Reply) => void) | undefined;

  const start = async () => {
    const current = new Worker(WORKER, {
      workerData: { module: options.module, name: options.name },
      resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? 512, stackSizeMb: 4 },
    });
    worker = current;
    // A worker that was ended must not answer for the one that replaced it.
    const answer = (reply: Reply) => {
      if (worker === current) pending?.(reply);
    };
    current.on('message', answer);
    current.on('error', (error: Error & { code?: string }) =>
      answer({ name: 'WorkerError', code: error.code, message: error.message }),
    );
    current.on('exit', (code) => answer({ name: 'WorkerExit', message: `the worker exited with ${code}` }));
    const ready = await next(60_000);
    if (!ready.ready) throw new Error(`the fuzz worker did not start: ${ready.name}: ${ready.message}`);
  };
  const next = (ms: number) =>
    new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => resolve({ name: 'Timeout', message: `no answer within ${ms} ms` }), ms);
      pending = (reply) => {
        clearTimeout(timer);
        pending = undefined;
        resolve(reply);
      };
    });

  try {
    await start();
    for (const [index, input] of options.inputs.entries()) {
      (worker as Worker).postMessage({ index, input });
      const reply = await next(timeoutMs);
      if (reply.ok) continue;
      const crashed = reply.index === undefined;
      if (crashed || !options.acceptError(reply)) {
        const outcome = crashed
          ? reply.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? 'ran out of memory'
            : reply.name === 'Timeout'
              ? `hung (over ${timeoutMs / 1000} s)`
              : `ended the worker: ${reply.message}`
          : `${reply.name}${reply.code ? ` ${reply.code}` : ''}: ${reply.message.slice(0, 300)}\n${reply.stack ?? ''}`;
        failures.push({ index, outcome, input: options.describe(input).slice(0, 300) });
      }
      if (crashed) {
        const ended = worker;
        worker = undefined;
        await ended?.terminate();
        await start();
      }
    }
  } finally {
    pending = undefined;
    await worker?.terminate();
  }
  return failures;
}
