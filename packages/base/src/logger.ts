/**
 * The one shape every domain package logs through. The action layer passes the runner's adapter
 * (`::warning::` annotations, `core.debug`), the CLI a terminal adapter; tests pass `silentLogger` or an
 * array-backed one. Domain code never writes to stdout itself.
 */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
}

/** Drops everything: the default where a caller gives no logger. */
export const silentLogger: Logger = { info() {}, warning() {}, debug() {} };

/** Lines to a terminal: info to `out`, warnings and debug (when asked for) to `err`. */
export function terminalLogger(
  io: { out(line: string): void; err(line: string): void },
  verbose = false,
): Logger {
  return {
    info: (message) => io.out(message),
    warning: (message) => io.err(`warning: ${message}`),
    debug: (message) => {
      if (verbose) io.err(`debug: ${message}`);
    },
  };
}
