export interface ReportContext {
  /** The report's path as the user wrote it, for messages. */
  file: string;
}

/** Scanners print `./a`, `/a` (relative to the scanned directory) or `a`; GitHub wants `a`. */
export function repoPath(path: string): string {
  const first = path.charAt(0);
  return first === '.' || first === '/' ? path.replace(/^(?:\.\/|\/)+/, '') : path;
}
