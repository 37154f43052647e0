import './parser-env.js';
import type { ParseResult, RawStmt } from '@pgsql/types';
import { hasSqlDetails, loadModule, parseSync } from 'libpg-query';
import { type AnyNode, type NodeKind, withKind } from './nodes.js';

export interface Statement {
  /** The node type, e.g. `AlterTableStmt`. */
  kind: NodeKind;
  /** The node's fields, untyped: what a walk over any node reads (the dry-run's). */
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

/** Loads the WebAssembly parser; every other function here needs it loaded. */
export async function loadParser(): Promise<void> {
  await loadModule();
}

/** libpg-query's parse tree as it comes, positions in UTF-8 bytes: what `parseSql` builds on. */
export function parseTree(sql: string): ParseResult {
  return parseSync(sql);
}

const NON_ASCII = /[^\p{ASCII}]/u;

/**
 * Parses SQL with PostgreSQL's own grammar. Positions come back as UTF-8 byte offsets (statements) and
 * character offsets (errors); both are turned into string indices so lines and columns are exact.
 */
export function parseSql(sql: string): ParseOutcome {
  if (sql.trim() === '') return { statements: [] };
  let raw: RawStmt[];
  try {
    raw = parseTree(sql).stmts ?? [];
  } catch (error) {
    if (!hasSqlDetails(error)) throw error;
    const details = error.sqlDetails as { message: string; cursorPosition: number };
    return {
      statements: [],
      syntaxError: { message: details.message, index: codePointToIndex(sql, details.cursorPosition) },
    };
  }
  const toIndex = NON_ASCII.test(sql) ? byteToIndexMapper(sql) : (byte: number) => byte;
  const statements: Statement[] = [];
  for (const entry of raw) {
    const ast = entry.stmt && withKind(entry.stmt);
    if (ast === undefined) continue;
    const startByte = entry.stmt_location ?? 0;
    const start = toIndex(startByte);
    // A length of 0 means "to the end of the text" (the last statement without a semicolon).
    let end = entry.stmt_len ? toIndex(startByte + entry.stmt_len) : sql.length;
    while (end > start && /\s/.test(sql[end - 1] as string)) end--;
    statements.push({ kind: ast.kind, node: ast.node as Record<string, unknown>, ast, start, end });
  }
  return { statements };
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
