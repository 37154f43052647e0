import './parser-env.js';
import type { ParseResult, RawStmt } from '@pgsql/types';
import createParserModule from 'libpg-query/wasm/libpg-query.js';
import { type AnyNode, type NodeKind, withKind } from './nodes.js';

export interface Statement {
  /** The node type, e.g. `AlterTableStmt`. */
  kind: NodeKind;
  /**
   * The node's fields, untyped: what a walk over any node reads (the dry-run's). Nodes inside carry no
   * `location` (see statementsTreeText): where the statement is, start and end say.
   */
  node: Record<string, unknown>;
  /** The same node typed by @pgsql/types, narrowed by `kind`: what the rules read. */
  ast: AnyNode;
  /** UTF-16 index of the first character in the parsed text. */
  start: number;
  /** UTF-16 index just past the last character (before the `;`, trailing blanks dropped). */
  end: number;
}

export interface SyntaxProblem {
  message: string;
  /** UTF-16 index in the parsed text where PostgreSQL's parser stopped. */
  index: number;
}

export interface ParseOutcome {
  statements: Statement[];
  syntaxError?: SyntaxProblem;
}

let parser: ParserModule | undefined;
let loading: Promise<ParserModule> | undefined;

/** Loads the WebAssembly parser; every other function here needs it loaded. */
export async function loadParser(): Promise<void> {
  loading ??= createParserModule();
  parser = await loading;
}

/** A syntax error as PostgreSQL reports it: the message and a 0-based character position. */
export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly cursorPosition: number,
  ) {
    super(message);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * libpg-query's parse tree as it comes, positions in UTF-8 bytes: what `parseSql` builds on. Calls the
 * WebAssembly module directly, through libpg_query's C API (pg_query_parse's PgQueryParseResult and
 * PgQueryError), so that text crosses into and out of it by the platform's UTF-8 encoder and decoder:
 * libpg-query's own parseSync copies it a character at a time in JavaScript, which cost a fifth of the
 * parse on a 10 MB parse tree. Throws SqlSyntaxError for SQL PostgreSQL rejects.
 */
export function parseTree(sql: string): ParseResult {
  return JSON.parse(parseTreeText(sql)) as ParseResult;
}

// A node's byte offset in its piece; never a string's content, where a quote is escaped.
const NODE_LOCATION = /,"location":-?\d+/g;

/**
 * The tree statements are made of: {@link parseTreeText} without the nodes' own `location`, which
 * nothing reads (an offset into the piece parsed, not the file) and which is an eighth of the text:
 * the lint parses the text a seventh quicker without it.
 */
export function statementsTreeText(sql: string): string {
  return parseTreeText(sql).replace(NODE_LOCATION, '');
}

/** {@link statementsTreeText}, parsed: the tree parseSql and parseSqlInChunks build statements from. */
export function statementsTree(sql: string): ParseResult {
  return JSON.parse(statementsTreeText(sql)) as ParseResult;
}

/** {@link parseTree}'s JSON text, not yet parsed. */
export function parseTreeText(sql: string): string {
  const module = parser;
  if (module === undefined) throw new Error('The PostgreSQL parser is not loaded: call loadParser() first.');
  const capacity = sql.length * 3 + 1;
  const input = module._malloc(capacity);
  if (!input) throw new Error(`The PostgreSQL parser could not allocate ${capacity} bytes for the SQL.`);
  try {
    // Read the heap after every call into the module: a call may grow its memory and replace the buffer.
    const { written } = encoder.encodeInto(sql, module.HEAPU8.subarray(input, input + capacity - 1));
    module.HEAPU8[input + written] = 0;
    const result = module._wasm_parse_query_raw(input);
    if (!result) throw new Error('The PostgreSQL parser could not allocate its result.');
    try {
      // PgQueryParseResult: char *parse_tree, char *stderr_buffer, PgQueryError *error.
      const tree = module.HEAPU32[result / 4] as number;
      const error = module.HEAPU32[result / 4 + 2] as number;
      if (error) {
        // PgQueryError: char *message, *funcname, *filename; int lineno, cursorpos (1-based, 0: none).
        const message = cString(module, module.HEAPU32[error / 4] as number) || 'syntax error';
        const cursor = module.HEAPU32[error / 4 + 4] as number;
        throw new SqlSyntaxError(message, cursor > 0 ? cursor - 1 : 0);
      }
      return cString(module, tree);
    } finally {
      module._wasm_free_parse_result(result);
    }
  } finally {
    module._free(input);
  }
}

function cString(module: ParserModule, pointer: number): string {
  if (!pointer) return '';
  const heap = module.HEAPU8;
  return decoder.decode(heap.subarray(pointer, heap.indexOf(0, pointer)));
}

const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * Parses SQL with PostgreSQL's own grammar. Positions come back as UTF-8 byte offsets (statements) and
 * character offsets (errors); both are turned into string indices so lines and columns are exact.
 */
export function parseSql(sql: string): ParseOutcome {
  const { statements, syntaxError } = parsePiece(sql);
  return syntaxError ? { statements, syntaxError } : { statements };
}

/** parseSql, and where the last statement's text ends before the blanks and `;` after it. */
function parsePiece(
  sql: string,
  tree: (sql: string) => ParseResult = statementsTree,
): ParseOutcome & { lastEnd: number } {
  if (sql.trim() === '') return { statements: [], lastEnd: -1 };
  let raw: RawStmt[];
  try {
    raw = tree(sql).stmts ?? [];
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    return {
      statements: [],
      syntaxError: { message: error.message, index: codePointToIndex(sql, error.cursorPosition) },
      lastEnd: -1,
    };
  }
  const toIndex = NON_ASCII.test(sql) ? byteToIndexMapper(sql) : (byte: number) => byte;
  const statements: Statement[] = [];
  let lastEnd = -1;
  for (const entry of raw) {
    const ast = entry.stmt && withKind(entry.stmt);
    if (ast === undefined) continue;
    const startByte = entry.stmt_location ?? 0;
    const start = toIndex(startByte);
    // A length of 0 means "to the end of the text" (the last statement without a semicolon).
    let end = entry.stmt_len ? toIndex(startByte + entry.stmt_len) : sql.length;
    lastEnd = end;
    while (end > start && /\s/.test(sql[end - 1] as string)) end--;
    statements.push({ kind: ast.kind, node: ast.node as Record<string, unknown>, ast, start, end });
  }
  return { statements, lastEnd };
}

/** Up to this many characters a migration is parsed in one call; a larger one in pieces of about this size. */
export const PARSE_CHUNK_CHARS = 64 * 1024;

export interface Chunk {
  /** Statements with their positions in the whole text. */
  statements: Statement[];
  /** Whether a statement may follow in a later chunk (there is more than blanks and comments after it). */
  more: boolean;
}

const BLANK_OR_COMMENTS = /(?:\s+|--[^\n]*|\/\*[\s\S]*?\*\/)*$/y;

/**
 * Parses `sql` a piece at a time and yields each piece's statements before the next is parsed, so the
 * parse trees of a large file are not all alive at once (as one tree they survived every young-generation
 * collection: a third of the run on 20,000 statements). A piece ends at a `;` after `chunkChars`
 * characters that the scan below takes for the end of a statement, and is kept only if PostgreSQL parses
 * it and its last statement ends exactly at that `;`. Otherwise (a `;` inside a BEGIN ATOMIC body, a
 * scan that misread the text, a real syntax error) the whole text is parsed once and the rest of its
 * statements come from there: so the statements are always those of a parse of the whole text. Returns
 * the syntax error of the whole text, if any; the statements yielded before it are then void.
 */
export function* parseSqlInChunks(
  sql: string,
  chunkChars = PARSE_CHUNK_CHARS,
  source?: PieceSource,
): Generator<Chunk, SyntaxProblem | undefined> {
  let start = 0;
  while (start < sql.length) {
    const cut = source?.cutAfter(start) ?? statementEndAfter(sql, start, start + chunkChars);
    const piece = cut === -1 ? sql.slice(start) : sql.slice(start, cut);
    const at = start;
    const outcome = parsePiece(piece, source && ((text) => source.tree(text, at)));
    const kept = outcome.syntaxError === undefined && (cut === -1 || outcome.lastEnd === piece.length - 1);
    if (!kept) {
      const whole = parseSql(sql);
      if (whole.syntaxError) return whole.syntaxError;
      yield { statements: whole.statements.filter((statement) => statement.start >= start), more: false };
      return undefined;
    }
    for (const statement of outcome.statements) {
      statement.start += start;
      statement.end += start;
    }
    const more = cut !== -1 && !onlyBlanksAfter(sql, cut);
    yield { statements: outcome.statements, more };
    if (!more) return undefined;
    start = cut;
  }
  return undefined;
}

/** Pieces of a migration's text parsed elsewhere, cut where parseSqlInChunks cuts (see pieceCuts). */
export interface PieceSource {
  /** Where the piece that starts at `start` ends (-1: at the end of the text); undefined: not known. */
  cutAfter(start: number): number | undefined;
  /** The piece's parse tree; throws SqlSyntaxError as parseTree does. */
  tree(piece: string, start: number): ParseResult;
}

/** The cuts parseSqlInChunks makes in `sql`, as it would make them: each piece's start and end. */
export function pieceCuts(sql: string, chunkChars = PARSE_CHUNK_CHARS): { start: number; cut: number }[] {
  const cuts: { start: number; cut: number }[] = [];
  let start = 0;
  while (start < sql.length) {
    const cut = statementEndAfter(sql, start, start + chunkChars);
    cuts.push({ start, cut });
    if (cut === -1 || onlyBlanksAfter(sql, cut)) break;
    start = cut;
  }
  return cuts;
}

function onlyBlanksAfter(sql: string, index: number): boolean {
  BLANK_OR_COMMENTS.lastIndex = index;
  return BLANK_OR_COMMENTS.test(sql);
}

const IDENTIFIER_CHAR = /[\p{L}\p{N}_$]/u;
/** A run of characters that start nothing the scan below tracks (quotes, comments, `$`, parentheses, `;`). */
const PLAIN = /[^'"\-/$();]+/y;
const DOLLAR_TAG = /\$(?:[\p{L}_][\p{L}\p{N}_]*)?\$/uy;

/**
 * The index just past the first `;` at or after `from` that is outside quotes, comments, dollar-quoted
 * bodies and parentheses, scanning from `start` (the beginning of a statement); -1 if there is none. A
 * misreading here costs time, never correctness: parseSqlInChunks checks every piece with the parser.
 */
function statementEndAfter(sql: string, start: number, from: number): number {
  if (from >= sql.length) return -1;
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'") {
      // E'…' takes backslash escapes; '' is a quote inside either kind.
      const escapes = (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !IDENTIFIER_CHAR.test(sql[i - 2] ?? '');
      i++;
      while (i < sql.length) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      i = sql.indexOf('"', i + 1);
      if (i === -1) return -1;
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      i = sql.indexOf('\n', i);
      if (i === -1) return -1;
    } else if (c === '/' && sql[i + 1] === '*') {
      let nesting = 1;
      i += 2;
      while (i < sql.length && nesting > 0) {
        const pair = sql.slice(i, i + 2);
        if (pair === '/*' || pair === '*/') {
          nesting += pair === '/*' ? 1 : -1;
          i += 2;
        } else i++;
      }
    } else if (c === '$' && !IDENTIFIER_CHAR.test(sql[i - 1] ?? '')) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag === undefined) i++;
      else {
        const close = sql.indexOf(tag, i + tag.length);
        if (close === -1) return -1;
        i = close + tag.length;
      }
    } else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      i++;
    } else if (c === ';' && depth === 0 && i >= from) {
      return i + 1;
    } else {
      // Names, keywords, numbers and blanks, skipped in one step: most of a migration is those.
      PLAIN.lastIndex = i + 1;
      i = PLAIN.test(sql) ? PLAIN.lastIndex : i + 1;
    }
  }
  return -1;
}

/** Byte offsets of a statement list only grow, so one forward walk over the text maps them all. */
function byteToIndexMapper(sql: string): (byte: number) => number {
  let index = 0;
  let bytes = 0;
  return (target) => {
    if (target < bytes) {
      index = 0;
      bytes = 0;
    }
    while (bytes < target && index < sql.length) {
      const code = sql.codePointAt(index) as number;
      bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      index += code > 0xffff ? 2 : 1;
    }
    return index;
  };
}

function codePointToIndex(sql: string, codePoints: number): number {
  let index = 0;
  for (let i = 0; i < codePoints && index < sql.length; i++) {
    index += (sql.codePointAt(index) as number) > 0xffff ? 2 : 1;
  }
  return index;
}

/** Maps string indices to 1-based line and column (columns count UTF-16 units, as GitHub does). */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(index: number): { line: number; column: number } {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] as number) <= index) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: index - (this.starts[low] as number) + 1 };
  }
}
