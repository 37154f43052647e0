import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeTempDir } from '@digestline/local';
import { discoverMigrations, type Format } from '../src/discovery.js';
import { type Finding, type LintOptions, lintMigrations } from '../src/lint.js';
import { loadParser } from '../src/parser.js';

/** Writes `files` (path → content) into a fresh directory and returns it with a cleanup. */
export async function workspace(files: Record<string, string | Buffer>) {
  const dir = await makeTempDir('migrations');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir.path, path)), { recursive: true });
    await writeFile(join(dir.path, path), content);
  }
  return dir;
}

/** Discovers and lints `files` as a repository would hold them. */
export async function lintFiles(
  files: Record<string, string>,
  options: Partial<LintOptions> & { format?: Format; paths?: string[] } = {},
): Promise<Finding[]> {
  const dir = await workspace(files);
  try {
    await loadParser();
    const migrations = await discoverMigrations({
      paths: options.paths ?? ['.'],
      root: dir.path,
      format: options.format,
    });
    return lintMigrations(migrations, { postgresVersion: 15, ...options }).findings;
  } finally {
    await dir.remove();
  }
}

/** `rule@line:column` for every finding at or above info, in report order: compact to assert on. */
export const brief = (findings: Finding[]) => findings.map((f) => `${f.rule}@${f.line}:${f.column}`);

export const rulesOf = (findings: Finding[]) => [...new Set(findings.map((f) => f.rule))].sort();
