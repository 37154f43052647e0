import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import { truthy } from '@actions/expressions/result';
import { WorkflowError } from './errors.js';

/** A plain JSON value, as contexts, inputs and outputs are. */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** The contexts of one evaluation (`github`, `inputs`, `needs`…) and the status of the job or step. */
export interface Scope {
  contexts: Record<string, unknown>;
  status?: Status;
}

/** What the status functions answer where an expression is evaluated. */
export interface Status {
  success: boolean;
  failure: boolean;
  cancelled: boolean;
}

const STATUS_FUNCTIONS = ['success', 'failure', 'cancelled', 'always'] as const;

export function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

export function fromData(value: data.ExpressionData): Value {
  return JSON.parse(JSON.stringify(value, data.replacer)) as Value;
}

/** Evaluates one expression (the text between `${{` and `}}`) to a plain value. */
export function evaluate(expression: string, scope: Scope, where: string): Value {
  const contexts = new data.Dictionary(
    ...Object.entries(scope.contexts).map(([key, value]) => ({ key, value: toData(value) })),
  );
  const status = scope.status;
  const functions = new Map(
    STATUS_FUNCTIONS.map((name) => [
      name,
      {
        name,
        minArgs: 0,
        maxArgs: 0,
        call: () => {
          if (status === undefined)
            throw new WorkflowError(`${where}: ${name}() is only allowed in \`if:\` conditions`);
          const answer = name === 'always' ? true : status[name];
          return new data.BooleanData(answer);
        },
      },
    ]),
  );
  let parsed: ReturnType<Parser['parse']>;
  try {
    const lexed = new Lexer(expression).lex();
    parsed = new Parser(lexed.tokens, Object.keys(scope.contexts), [...functions.values()]).parse();
  } catch (error) {
    throw new WorkflowError(
      `${where}: \`${expression.trim()}\` is not a valid expression: ${message(error)}`,
    );
  }
  try {
    return fromData(new Evaluator(parsed, contexts, functions).evaluate());
  } catch (error) {
    if (error instanceof WorkflowError) throw error;
    throw new WorkflowError(`${where}: \`${expression.trim()}\` failed: ${message(error)}`);
  }
}

const WHOLE = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/;
const EMBEDDED = /\$\{\{([\s\S]*?)\}\}/g;

/**
 * A value from the workflow file with its `${{ }}` expressions evaluated: a string that is one
 * expression keeps the expression's type (a boolean input stays a boolean), text around expressions
 * makes a string; mappings and sequences are evaluated item by item.
 */
export function interpolate(value: unknown, scope: Scope, where: string): Value {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole !== null && !whole[1]?.includes('}}')) return evaluate(whole[1] ?? '', scope, where);
    return value.replace(EMBEDDED, (_, expression: string) =>
      coerceString(evaluate(expression, scope, where)),
    );
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, scope, `${where}[${i}]`));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, scope, `${where}.${key}`)]),
    );
  return (value ?? null) as Value;
}

/** The string GitHub makes of a value where a string is needed (an input, an env variable, an output). */
export function coerceString(value: Value | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return toData(value).coerceString();
  return Array.isArray(value) ? 'Array' : 'Object';
}

/** An `if:` condition (already wrapped in `success() && (…)` where it names no status function). */
export function condition(expression: string, scope: Scope, where: string): boolean {
  const text = WHOLE.exec(expression)?.[1] ?? expression;
  return truthy(toData(evaluate(text, scope, where)));
}

/** GitHub's rule for `if:`: without a status function the condition only applies after success. */
export function withStatusCheck(expression: string | undefined): string {
  if (expression === undefined || expression.trim() === '') return 'success()';
  const text = WHOLE.exec(expression)?.[1] ?? expression;
  return /\b(success|failure|cancelled|always)\s*\(/.test(text) ? text : `success() && (${text})`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
