import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { MigrationInputError } from './errors.js';
import { isRuleId, RULE_IDS, type RuleId, type Severity } from './rules.js';

/** A severity, or `off` to ignore the rule. */
export type RuleSetting = Severity | 'off';

export interface LintConfig {
  rules: Partial<Record<RuleId, RuleSetting>>;
  /** Later entries win; `files` are globs relative to the workspace. */
  overrides: { files: string[]; rules: Partial<Record<RuleId, RuleSetting>> }[];
}

const SETTINGS: readonly RuleSetting[] = ['error', 'warning', 'info', 'off'];

/**
 * Reads the YAML config:
 * ```yaml
 * rules:
 *   missing-lock-timeout: warning
 * overrides:
 *   - files: ["db/legacy/**"]
 *     rules: { drop-table: off }
 * ```
 */
export async function loadConfig(file: string, shownAs = file): Promise<LintConfig> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new MigrationInputError(
      `The config file ${shownAs} cannot be read (${error.code ?? error.message}); check the "config" path, relative to the workspace.`,
    );
  });
  // Loaded only for a config file: most runs have none, and the YAML parser is a large module.
  const { parse: parseYaml } = await import('yaml');
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new MigrationInputError(
      `The config file ${shownAs} is not valid YAML: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return parseConfig(data ?? {}, shownAs);
}

export function parseConfig(data: unknown, shownAs: string): LintConfig {
  const fail = (what: string) => new MigrationInputError(`The config file ${shownAs} is invalid: ${what}.`);
  if (!isObject(data)) throw fail('expected a mapping with "rules" and/or "overrides"');
  for (const key of Object.keys(data)) {
    if (key !== 'rules' && key !== 'overrides')
      throw fail(`unknown key "${key}" (expected "rules" or "overrides")`);
  }
  const rules = parseRules(data.rules ?? {}, 'rules', fail);
  const overrides = data.overrides ?? [];
  if (!Array.isArray(overrides)) throw fail('"overrides" must be a list of { files, rules }');
  return {
    rules,
    overrides: overrides.map((entry, i) => {
      const where = `overrides[${i}]`;
      if (!isObject(entry)) throw fail(`${where} must be a mapping with "files" and "rules"`);
      const files = typeof entry.files === 'string' ? [entry.files] : entry.files;
      if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === 'string')) {
        throw fail(`${where}.files must be a glob or a list of globs`);
      }
      return { files, rules: parseRules(entry.rules ?? {}, `${where}.rules`, fail) };
    }),
  };
}

function parseRules(
  value: unknown,
  where: string,
  fail: (what: string) => Error,
): Partial<Record<RuleId, RuleSetting>> {
  if (!isObject(value)) throw fail(`${where} must map rule ids to error, warning, info or off`);
  const rules: Partial<Record<RuleId, RuleSetting>> = {};
  for (const [id, setting] of Object.entries(value)) {
    if (!isRuleId(id)) throw fail(`${where} names unknown rule "${id}" (known: ${RULE_IDS.join(', ')})`);
    // YAML 1.1 habits: `off` may arrive as the boolean false.
    const normalized = setting === false ? 'off' : setting;
    if (!SETTINGS.includes(normalized as RuleSetting)) {
      throw fail(`${where}.${id} is ${JSON.stringify(setting)}; expected error, warning, info or off`);
    }
    rules[id] = normalized as RuleSetting;
  }
  return rules;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The configured setting of a rule for one file, if the config says anything about it. */
export function configuredSetting(config: LintConfig, rule: RuleId, path: string): RuleSetting | undefined {
  let setting = config.rules[rule];
  for (const override of config.overrides) {
    const value = override.rules[rule];
    if (value !== undefined && override.files.some((glob) => posix.matchesGlob(path, glob))) setting = value;
  }
  return setting;
}
