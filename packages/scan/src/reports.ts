import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { glob } from 'tinyglobby';
import { ScanInputError } from './errors.js';
import { parseReportJson } from './json.js';
import { type Report, readParsedReport } from './readers/index.js';

/** Expands `reports` (paths and globs); a pattern that matches nothing is a mistake, not an empty scan. */
export async function findReports(patterns: string[], cwd: string): Promise<string[]> {
  if (patterns.length === 0) {
    throw new ScanInputError(
      'No report paths were given: set `reports` to the scanner output files, e.g. `trivy.json`.',
    );
  }
  const files = new Set<string>();
  for (const pattern of patterns) {
    const matched = await glob(pattern, {
      cwd,
      onlyFiles: true,
      dot: true,
      expandDirectories: false,
      absolute: false,
    });
    if (matched.length === 0) {
      throw new ScanInputError(
        `No file matches the report pattern "${pattern}" in ${cwd}: check that the scan step ran and wrote its report there, and that the path is relative to the workspace.`,
      );
    }
    for (const file of matched.sort()) files.add(isAbsolute(file) ? relative(cwd, file) : file);
  }
  return [...files];
}

/**
 * The bytes and the text are temporaries of the parse call, so a 200 MB report's text is garbage before
 * its findings are built: peak memory is the text and the parsed tree, not the bytes, text, tree and
 * findings all at once.
 */
export async function readReportFile(path: string, name: string = path): Promise<Report> {
  // In one read: the promise API reads a large file 512 KiB at a time through the thread pool, which
  // took a fifth as long again as the parse; nothing else runs meanwhile.
  return readParsedReport(parseReportJson(decodeAndRelease(readFileSync(path)), name), name);
}

// Below this a file may share its ArrayBuffer with Node's buffer pool, which must never be detached.
const OWN_BUFFER_BYTES = 1024 * 1024;

/**
 * Node keeps a large file's bytes outside the JavaScript heap, and the collector frees them late: a
 * 200 MB report's bytes stayed resident through the whole parse. Detaching the ArrayBuffer (transfer to
 * length 0) frees them at once.
 */
function decodeAndRelease(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  const buffer = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  const ownsBuffer = bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength;
  if (ownsBuffer && bytes.byteLength >= OWN_BUFFER_BYTES && typeof buffer.transfer === 'function')
    buffer.transfer(0);
  return text;
}
