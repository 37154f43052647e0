import { configuredSetting, type LintConfig } from './config.js';
import { type Migration, missingDowns } from './discovery.js';
import type { ParallelParser } from './parallel.js';
import { LineIndex, PARSE_CHUNK_CHARS, parseSqlInChunks, type Statement } from './parser.js';
import { REGISTRY } from './rules/index.js';
import { DESTRUCTIVE_RULES, isRuleId, RULES, type RuleId, type Severity } from './rules.js';
import { Schema } from './schema.js';
import { MigrationState, TRACKERS } from './state.js';
import { type Hit, Walker } from './walker.js';

export interface Finding {
  /** Relative to the workspace, `/`-separated. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  endLine: number;
  endColumn: number;
  rule: RuleId;
  severity: Severity;
  message: string;
  /** The statement's SQL (shortened when long). */
  statement: string;
}

export interface ParsedMigration {
  migration: Migration;
  statements: Statement[];
  /** Set when the migration did not parse; `statements` is then empty. */
  syntaxError?: Finding;
}

export interface LintOptions {
  postgresVersion: number;
  requireDown?: boolean;
  config?: LintConfig;
  /**
   * Keep every statement's parse tree in `parsed` (default true): the dry-run needs them. Without, a
   * statement's tree is dropped once the rules have seen it.
   */
  keepStatements?: boolean;
  /** Parse a migration in pieces of about this many characters (see parseSqlInChunks). */
  chunkChars?: number;
  /** Parse on a second thread too (see ParallelParser): its pieces are cut as it cut them. */
  parallel?: ParallelParser;
}

export interface LintResult {
  findings: Finding[];
  parsed: ParsedMigration[];
}

const STATEMENT_LIMIT = 300;
const walker = new Walker(REGISTRY, TRACKERS);
const IGNORE = /--\s*migration-check:ignore\b[ \t]*([^\s]*)[ \t]*(.*)$/gm;

/** Parses every migration and applies every rule. `parseSql` needs `loadParser()` to have run. */
export function lintMigrations(migrations: Migration[], options: LintOptions): LintResult {
  const findings: Finding[] = [];
  const parsed: ParsedMigration[] = [];
  const schema = new Schema();
  const keep = options.keepStatements ?? true;
  const lineIndexes = new Map<string, LineIndex>();
  const config = options.config ?? { rules: {}, overrides: [] };
  const emit = (finding: Finding) => {
    const setting = configuredSetting(config, finding.rule, finding.file);
    if (setting === 'off') return;
    findings.push(setting === undefined ? finding : { ...finding, severity: setting });
  };

  for (const migration of migrations) {
    let lines = lineIndexes.get(migration.path);
    if (!lines) {
      lines = new LineIndex(migration.fileText);
      lineIndexes.set(migration.path, lines);
    }
    const locate = (
      start: number,
      end: number,
      rule: RuleId,
      message: string,
      severity: Severity,
    ): Finding => {
      const from = (lines as LineIndex).position(migration.offset + start);
      const to = (lines as LineIndex).position(migration.offset + Math.max(start, end));
      const text = migration.sql.slice(start, end);
      return {
        file: migration.path,
        line: from.line,
        column: from.column,
        endLine: to.line,
        endColumn: to.column,
        rule,
        severity,
        message,
        statement: text.length > STATEMENT_LIMIT ? `${text.slice(0, STATEMENT_LIMIT)}…` : text,
      };
    };
    const severityOf = (rule: RuleId): Severity =>
      migration.direction === 'down' && DESTRUCTIVE_RULES.has(rule) ? 'info' : RULES[rule].severity;
    const report = (statementStart: number, end: number, hit: Hit) => {
      const message = `${hit.message} ${RULES[hit.rule].fix}`;
      emit(locate(statementStart, end, hit.rule, message, severityOf(hit.rule)));
    };

    const mark = findings.length;
    const statements: Statement[] = [];
    let state: MigrationState | undefined;
    let previousEnd = 0;
    schema.begin();
    const chunks = parseSqlInChunks(
      migration.sql,
      options.chunkChars ?? PARSE_CHUNK_CHARS,
      options.parallel?.piecesOf(migration.sql),
    );
    let next = chunks.next();
    for (; !next.done; next = chunks.next()) {
      const chunk = next.value;
      state ??= new MigrationState(
        migration,
        chunk.statements.length > 1 || chunk.more,
        options.postgresVersion,
        schema,
      );
      for (const statement of chunk.statements) {
        if (keep) statements.push(statement);
        const hits = walker.check(statement, state);
        const gap = migration.sql.slice(previousEnd, statement.start);
        previousEnd = statement.end;
        const ignored = suppressions(gap, (problem) =>
          report(statement.start, statement.end, { rule: 'invalid-suppression', message: problem }),
        );
        for (const hit of hits) {
          if (!ignored.has(hit.rule)) report(statement.start, statement.end, hit);
        }
      }
    }
    const syntaxError = next.value;
    if (syntaxError) {
      // The tool would not apply a migration that does not parse: what it found before the error is void.
      findings.length = mark;
      schema.rollback();
      const { index, message } = syntaxError;
      const lineEnd = migration.sql.indexOf('\n', index);
      const finding = locate(
        index,
        lineEnd === -1 ? migration.sql.length : lineEnd,
        'syntax-error',
        `PostgreSQL's parser: ${message}. ${RULES['syntax-error'].fix}`,
        'error',
      );
      parsed.push({ migration, statements: [], syntaxError: finding });
      emit(finding);
      continue;
    }
    // The schema is what the up migrations define: a down migration's changes are linted, not kept.
    if (migration.direction === 'down') schema.rollback();
    else schema.commit();
    parsed.push({ migration, statements });
  }

  if (options.requireDown) {
    for (const migration of missingDowns(migrations)) {
      const lines = lineIndexes.get(migration.path) as LineIndex;
      const at = lines.position(migration.offset);
      emit({
        file: migration.path,
        line: at.line,
        column: at.column,
        endLine: at.line,
        endColumn: at.column,
        rule: 'missing-down',
        severity: RULES['missing-down'].severity,
        message: `${migration.format} migration ${migration.version} has no down migration. ${RULES['missing-down'].fix}`,
        statement: '',
      });
    }
  }
  return { findings, parsed };
}

/** The rule ids that `-- migration-check:ignore` comments in the text before a statement switch off. */
function suppressions(gap: string, problem: (message: string) => void): Set<string> {
  const ignored = new Set<string>();
  if (!gap.includes('migration-check:ignore')) return ignored;
  for (const match of gap.matchAll(IGNORE)) {
    const ids = (match[1] ?? '').split(',').filter((id) => id !== '');
    const reason = (match[2] ?? '').trim();
    if (ids.length === 0) {
      problem('A migration-check:ignore comment names no rule, so it ignores nothing.');
      continue;
    }
    for (const id of ids) {
      if (isRuleId(id)) ignored.add(id);
      else problem(`A migration-check:ignore comment names unknown rule "${id}".`);
    }
    if (reason === '') {
      problem(`The migration-check:ignore of ${ids.join(', ')} gives no reason; say why it is safe here.`);
    }
  }
  return ignored;
}
