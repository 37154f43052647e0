import { isParserThread } from '@digestline/migrations/parser-thread';
import { restartForLargeParse } from './restart.js';

if (!isParserThread()) {
  // Decided before the action and the parser are loaded, which a restart would only load again; a test
  // that calls main() in its own process never restarts.
  const large = restartForLargeParse(process.env.GITHUB_WORKSPACE || process.cwd(), process.env.INPUT_PATH);
  // A large migration set is parsed on a second thread too, started from this file: it boots while
  // this thread loads the action and discovers the migrations.
  const parserThread = large
    ? new (await import('@digestline/migrations/parallel')).ParserThread(new URL(import.meta.url))
    : undefined;
  // main.js alone, imported by name: a dynamic import of action-kit's whole namespace would keep every
  // export of it in the bundle, octokit included, which this action never uses.
  const { run } = await import('./main.js');
  void run({ parserThread });
} else {
  // The second thread loads only PostgreSQL's parser, not the action.
  await (await import('@digestline/migrations/parallel')).serveParser();
}
