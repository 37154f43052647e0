import { once } from 'node:events';
import type { MessagePort, Worker } from 'node:worker_threads';
import type { ParseResult } from '@pgsql/types';
import {
  loadParser,
  type PieceSource,
  pieceCuts,
  SqlSyntaxError,
  statementsTree,
  statementsTreeText,
} from './parser.js';
import { PARSER_THREAD_ARG } from './parser-thread.js';

// Loaded when a second thread is used: a small migration set never needs the module (9 ms to load).
const threads = () => process.getBuiltinModule('node:worker_threads');

/**
 * Below this much SQL in all, parsing on one thread is quicker than with a second one (which takes
 * about 100 ms to boot and load the parser; 256 KB of SQL takes about 50 ms to parse).
 */
export const PARALLEL_FROM_CHARS = 256 * 1024;

/**
 * The pieces two threads share: smaller than one thread's (PARSE_CHUNK_CHARS), since a message costs
 * little, the other thread starts sooner, and a smaller tree is garbage before the collector copies it
 * (20,000 statements: 392 ms with 16 KB pieces, 412 ms with 64 KB, the whole step).
 */
export const PARALLEL_CHUNK_CHARS = 16 * 1024;

/** How long the lint waits for a piece the second thread took before it parses the piece itself. */
const STALL_MS = 5_000;

export interface ParserThreadOptions {
  /** Node options for the thread (e.g. a loader that runs TypeScript, for an unbundled entry). */
  execArgv?: string[];
  /** How long to wait for a piece the thread took before parsing it here; default 5 s. */
  stallMs?: number;
}

const READY = 'ready';

export { isParserThread } from './parser-thread.js';

/** What the lint sends the second thread once it knows the migrations. */
interface Work {
  pieces: string[];
  control: SharedArrayBuffer;
  port: MessagePort;
}

/** What the second thread hands back for one piece: PostgreSQL's JSON, or its syntax error. */
type Answer =
  | { index: number; tree: string }
  | { index: number; syntaxError: { message: string; cursorPosition: number } }
  | { index: number; failure: string };

/**
 * A second thread that serves PostgreSQL's parser, started from `entry` (a script that calls
 * {@link serveParser} when `isParserThread()`, from parser-thread.ts). Start it as early as the
 * migration set is known to be large: it takes about 100 ms to boot and load the parser, which it does
 * while this thread loads the rest and discovers the migrations. It waits for {@link ParallelParser.start}'s work, and is
 * stopped by {@link ParallelParser.close} or {@link ParserThread.stop}.
 */
export class ParserThread {
  readonly worker: Worker;
  readonly stallMs: number;
  /** Resolves once the thread has loaded the parser (never, if it fails: nothing needs to wait for it). */
  readonly ready: Promise<void>;

  constructor(entry: URL, options: ParserThreadOptions = {}) {
    this.stallMs = options.stallMs ?? STALL_MS;
    this.worker = new (threads().Worker)(entry, { argv: [PARSER_THREAD_ARG], execArgv: options.execArgv });
    this.ready = new Promise((resolve) => {
      this.worker.on('message', (message) => {
        if (message === READY) resolve();
      });
    });
    // A thread that cannot start or fails answers nothing; the pieces it never took are parsed here.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  stop(): void {
    void this.worker.terminate();
  }
}

/**
 * PostgreSQL's parser on two threads. Every migration is cut into the pieces parseSqlInChunks parses
 * (the same cuts); the second thread parses pieces ahead of the lint and hands back their JSON, while
 * the lint on this thread parses that JSON and applies the rules, in order. Both threads take the next
 * piece nobody has taken from one shared counter, so neither waits for the other while there is work:
 * this thread parses a piece itself whenever the other has not taken it yet (at the start, while it
 * boots, or when the rules are the quicker side). Waiting for a piece uses Atomics.wait, so the lint
 * stays synchronous. If the other thread fails or stalls, this one parses the rest itself: the
 * statements are always those of a parse on this thread.
 */
export class ParallelParser {
  private readonly port: MessagePort;
  /** [0]: the next piece nobody has taken; [1 + i]: 1 once the other thread has answered piece i. */
  private readonly control: Int32Array;
  private readonly texts: string[] = [];
  /** Per migration (by its text): each piece's index and end, by where it starts. */
  private readonly byMigration = new Map<string, Map<number, { index: number; cut: number }>>();
  /** Pieces this thread took and parses itself. */
  private readonly mine = new Set<number>();
  /** Pieces whose answer was used (two migrations with the same text share their pieces). */
  private readonly answered = new Set<number>();
  private abandoned = false;

  private constructor(
    private readonly thread: ParserThread,
    sqls: string[],
    chunkChars: number,
  ) {
    for (const sql of sqls) {
      if (this.byMigration.has(sql)) continue;
      const starts = new Map<number, { index: number; cut: number }>();
      for (const { start, cut } of pieceCuts(sql, chunkChars)) {
        const index = this.texts.push(cut === -1 ? sql.slice(start) : sql.slice(start, cut)) - 1;
        starts.set(start, { index, cut });
      }
      this.byMigration.set(sql, starts);
    }
    const control = new SharedArrayBuffer(4 * (1 + this.texts.length));
    this.control = new Int32Array(control);
    const { port1, port2 } = new (threads().MessageChannel)();
    this.port = port1;
    const work: Work = { pieces: this.texts, control, port: port2 };
    thread.worker.postMessage(work, [port2]);
  }

  /**
   * Hands the migrations to the second thread when they hold enough SQL to pay for it; otherwise stops
   * it and returns undefined (parse on this thread).
   */
  static start(
    thread: ParserThread | undefined,
    sqls: string[],
    chunkChars = PARALLEL_CHUNK_CHARS,
  ): ParallelParser | undefined {
    if (thread === undefined) return undefined;
    let chars = 0;
    for (const sql of sqls) chars += sql.length;
    if (chars < PARALLEL_FROM_CHARS) {
      thread.stop();
      return undefined;
    }
    return new ParallelParser(thread, sqls, chunkChars);
  }

  /** How many pieces there are, and how many the second thread parsed. */
  get progress(): { pieces: number; parsedThere: number } {
    return { pieces: this.texts.length, parsedThere: this.answered.size };
  }

  /** The pieces of one migration's text, for parseSqlInChunks. */
  piecesOf(sql: string): PieceSource {
    const starts = this.byMigration.get(sql);
    return {
      cutAfter: (start) => starts?.get(start)?.cut,
      tree: (piece, start) => {
        const index = starts?.get(start)?.index;
        // A piece cut differently (never, with the same cuts) is parsed here.
        if (index === undefined || this.texts[index] !== piece) return statementsTree(piece);
        return this.tree(index);
      },
    };
  }

  private tree(index: number): ParseResult {
    if (this.abandoned || this.mine.has(index) || this.answered.has(index)) {
      return statementsTree(this.texts[index] as string);
    }
    // Take the piece unless the other thread has: the counter hands out the lowest piece nobody took.
    while (Atomics.load(this.control, 0) <= index) {
      const taken = Atomics.add(this.control, 0, 1);
      // Pieces taken here are parsed here, now or when asked for (a piece before this one was skipped
      // when its migration was parsed whole; taking it spares the other thread the work).
      if (taken < this.texts.length) this.mine.add(taken);
      if (taken === index) return statementsTree(this.texts[index] as string);
      if (taken > index) break;
    }
    const answer = this.answerFor(index);
    if (answer === undefined) return this.abandon(index);
    this.answered.add(index);
    if ('tree' in answer) return JSON.parse(answer.tree) as ParseResult;
    if ('syntaxError' in answer) {
      throw new SqlSyntaxError(answer.syntaxError.message, answer.syntaxError.cursorPosition);
    }
    return this.abandon(index);
  }

  /** The other thread's answer for a piece it took; undefined when it stalls. */
  private answerFor(index: number): Answer | undefined {
    const waitedFrom = Date.now();
    for (;;) {
      if (Atomics.load(this.control, 1 + index) === 1) {
        const received = threads().receiveMessageOnPort(this.port);
        if (received !== undefined) {
          const answer = received.message as Answer;
          if (answer.index === index) return answer;
          // An answer for a piece the lint skipped: its migration was parsed whole.
          if (answer.index < index) continue;
          return undefined;
        }
      }
      if (Date.now() - waitedFrom > this.thread.stallMs) return undefined;
      Atomics.wait(this.control, 1 + index, 0, 50);
    }
  }

  /** Parses this piece and every later one on this thread. */
  private abandon(index: number): ParseResult {
    this.abandoned = true;
    Atomics.store(this.control, 0, this.texts.length);
    this.thread.stop();
    return statementsTree(this.texts[index] as string);
  }

  /** Stops the second thread (ParserThread.stop does too). */
  close(): void {
    Atomics.store(this.control, 0, this.texts.length);
    this.port.close();
    this.thread.stop();
  }
}

/**
 * The second thread's side: loads the parser, waits for the lint's work, then takes the next piece
 * nobody has taken and answers it, until none is left.
 */
export async function serveParser(): Promise<void> {
  const port = threads().parentPort as MessagePort;
  // Listening first: the work may come while the parser loads.
  const working = once(port, 'message');
  await loadParser();
  port.postMessage(READY);
  const [work] = (await working) as [Work];
  const { pieces, control, port: answers } = work;
  const state = new Int32Array(control);
  for (;;) {
    const index = Atomics.add(state, 0, 1);
    if (index >= pieces.length) break;
    let answer: Answer;
    try {
      answer = { index, tree: statementsTreeText(pieces[index] as string) };
    } catch (error) {
      answer =
        error instanceof SqlSyntaxError
          ? { index, syntaxError: { message: error.message, cursorPosition: error.cursorPosition } }
          : { index, failure: String(error) };
    }
    answers.postMessage(answer);
    Atomics.store(state, 1 + index, 1);
    Atomics.notify(state, 1 + index);
  }
  answers.close();
}
