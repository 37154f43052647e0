import { ScanInputError } from './errors.js';

/**
 * Scanners run as `grype … > report.json 2>&1` put warnings before the JSON and an error line after
 * it. Leading lines are skipped up to the first line that opens with `{`; the end of the document is
 * where JSON.parse says non-whitespace follows it. A clean report is parsed once and never copied.
 */
function documentStart(text: string): number {
  let start = 0;
  while (start < text.length && /\s/.test(text.charAt(start))) start++;
  if (text.charAt(start) === '{') return start;
  const brace = text.search(/\n\{/);
  return brace === -1 ? 0 : brace + 1;
}

const TRAILING = /^Unexpected non-whitespace character after JSON at position (\d+)/;

/** Parses a report, naming the file and the line and column of a syntax error in the original text. */
export function parseReportJson(text: string, file: string): unknown {
  if (/^\s*$/.test(text)) {
    throw new ScanInputError(`${file} is empty: the scanner wrote no report; check the scan step's log.`, {
      file,
    });
  }
  const start = documentStart(text);
  let body = start === 0 ? text : text.slice(start);
  try {
    try {
      return JSON.parse(body);
    } catch (error) {
      const trailing = TRAILING.exec((error as Error).message);
      if (!trailing) throw error;
      body = body.slice(0, Number(trailing[1]));
      return JSON.parse(body);
    }
  } catch (error) {
    const message = (error as Error).message;
    const at = /at position (\d+)/.exec(message);
    const offset = start + (at ? Number(at[1]) : errorOffset(body));
    const { line, column } = lineAndColumn(text, offset);
    const reason = message.replace(/ in JSON at position.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
    const truncated = offset >= text.trimEnd().length ? ' (the file looks truncated)' : '';
    throw new ScanInputError(
      `${file} is not valid JSON at line ${line}, column ${column}${truncated}: ${reason}. Regenerate the report with the scanner's JSON output format.`,
      { file, line },
    );
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Where JSON.parse gave up. V8 leaves the position out of some messages ("Unexpected token"), so the
 * text is walked once more, only on failure, to find the first character that cannot continue it.
 */
function errorOffset(text: string): number {
  let i = 0;
  const skip = () => {
    while (i < text.length && ' \t\r\n'.includes(text.charAt(i))) i++;
  };
  // Throws the offset of the character that cannot continue the document.
  const expect = (ok: boolean) => {
    if (!ok) throw i;
    i++;
  };
  const string = () => {
    expect(text.charAt(i) === '"');
    while (i < text.length && text.charAt(i) !== '"') i += text.charAt(i) === '\\' ? 2 : 1;
    expect(i < text.length);
  };
  const key = () => {
    skip();
    string();
    skip();
    expect(text.charAt(i) === ':');
  };
  // The closers of the open containers: a stack of our own, so that nesting cannot exhaust the call stack.
  const open: string[] = [];
  try {
    for (;;) {
      skip();
      const ch = text.charAt(i);
      if (ch === '{' || ch === '[') {
        const close = ch === '{' ? '}' : ']';
        i++;
        skip();
        if (text.charAt(i) !== close) {
          open.push(close);
          if (close === '}') key();
          continue;
        }
        i++;
      } else if (ch === '"') {
        string();
      } else {
        const token = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
        expect(token !== null);
        i += (token?.[0].length ?? 1) - 1;
      }
      // A value ended: close what it ends, up to the next value or the end of the document.
      for (;;) {
        skip();
        const close = open.at(-1);
        if (close === undefined) return i;
        const next = text.charAt(i);
        expect(next === ',' || next === close);
        if (next === ',') {
          if (close === '}') key();
          break;
        }
        open.pop();
      }
    }
  } catch (offset) {
    if (typeof offset !== 'number') throw offset;
    return Math.min(offset, text.length);
  }
}
