import { promisify } from 'node:util';
import { MigrationInputError } from './errors.js';

// Loaded when asked for: most runs never diff, and the module costs a few milliseconds to load.
const run = (file: string, args: string[], options: { cwd: string; maxBuffer: number }) =>
  promisify(process.getBuiltinModule('node:child_process').execFile)(file, args, options);

/**
 * Files changed on this branch since it left `base` (`git diff --name-only <base>...HEAD`), relative to
 * `workspace` (`--relative`), which is how discovery names files.
 */
export async function changedFiles(workspace: string, base: string): Promise<Set<string>> {
  try {
    const { stdout } = await run(
      'git',
      ['diff', '--name-only', '--relative', '--no-renames', '-z', `${base}...HEAD`],
      {
        cwd: workspace,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return new Set(stdout.split('\0').filter((line) => line !== ''));
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim();
    throw new MigrationInputError(
      `changed-only needs the pull request's base commit, but git diff against ${base} failed (${stderr.split('\n')[0]}); check out with "fetch-depth: 0" in actions/checkout, or set "changed-only: false".`,
    );
  }
}
