/**
 * The argument a second parser thread is started with (see ParallelParser): a script that is also the
 * action's entry tells by it, without loading anything, that it runs to serve the parser.
 */
export const PARSER_THREAD_ARG = '--digestline-parser-thread';

/** Whether this thread was started to parse for another (then call `serveParser()` from parallel.ts). */
export function isParserThread(): boolean {
  return process.argv.includes(PARSER_THREAD_ARG);
}
