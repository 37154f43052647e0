import { ConfigurationError } from '@digestline/base';
import { getInput } from './runner.js';

/*
 * Every helper reads one input and either returns a typed value or throws a ConfigurationError that
 * names the input, quotes what it received and says what it expected. The parsers are exported
 * separately so domain code and tests can use the same rules without a runner.
 */

function read(name: string): string {
  return getInput(name);
}

function quote(value: string): string {
  return JSON.stringify(value);
}

export function requiredString(name: string): string {
  const value = read(name);
  if (value === '') throw missing(name);
  return value;
}

export function optionalString(name: string): string | undefined {
  const value = read(name);
  return value === '' ? undefined : value;
}

function missing(name: string): ConfigurationError {
  return new ConfigurationError(
    `Input "${name}" is required: got an empty value; set "${name}" under "with:" in the workflow step.`,
  );
}

/**
 * A default is the action author's choice, not the user's: if it does not parse, that is a bug in the
 * action and must not be reported to the user as a mistake in their workflow.
 */
function withDefault<T>(name: string, defaultValue: string, parse: (value: string, name: string) => T): T {
  try {
    return parse(defaultValue, name);
  } catch (error) {
    throw new Error(`the default ${quote(defaultValue)} of input "${name}" is invalid`, { cause: error });
  }
}

// YAML 1.2 core schema: `yes`, `on`, `y` are strings there, and treating them as booleans is a classic trap.
const TRUE_VALUES = ['true', 'True', 'TRUE'];
const FALSE_VALUES = ['false', 'False', 'FALSE'];

export function parseBoolean(value: string, name: string): boolean {
  const trimmed = value.trim();
  if (TRUE_VALUES.includes(trimmed)) return true;
  if (FALSE_VALUES.includes(trimmed)) return false;
  throw new ConfigurationError(
    `Input "${name}" must be a boolean (true or false, as YAML 1.2 spells them); got ${quote(trimmed)}.`,
  );
}

export function booleanInput(name: string, defaultValue: boolean): boolean {
  const value = read(name);
  return value === '' ? defaultValue : parseBoolean(value, name);
}

export function parseList(value: string): string[] {
  return value
    .split(/[\r\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function listInput(name: string): string[] {
  return parseList(read(name));
}

export function enumInput<T extends string>(name: string, allowed: readonly T[], defaultValue?: T): T {
  const value = read(name);
  if (value === '') {
    if (defaultValue === undefined) throw missing(name);
    return defaultValue;
  }
  const match = allowed.find((candidate) => candidate === value);
  if (match === undefined) {
    throw new ConfigurationError(
      `Input "${name}" must be one of ${allowed.map(quote).join(', ')}; got ${quote(value)}.`,
    );
  }
  return match;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
// setTimeout fires immediately for longer delays, which would turn a long timeout into no timeout.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function parseDuration(value: string, name: string): number {
  const trimmed = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    throw new ConfigurationError(
      `Input "${name}" must be a duration with a unit; got the bare number ${quote(trimmed)}, which is ambiguous: write ${quote(`${trimmed}s`)} for seconds or ${quote(`${trimmed}ms`)} for milliseconds.`,
    );
  }
  if (!DURATION.test(trimmed)) {
    throw new ConfigurationError(
      `Input "${name}" must be a duration such as 500ms, 10s, 5m, 1h or 1m30s; got ${quote(trimmed)}.`,
    );
  }
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(DURATION_PART)) {
    total += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  const ms = Math.round(total);
  if (ms > MAX_TIMER_MS) {
    throw new ConfigurationError(
      `Input "${name}" must be a duration of at most 596h (the longest timer Node.js supports); got ${quote(trimmed)}.`,
    );
  }
  return ms;
}

export function durationInput(name: string, defaultValue?: string): number {
  const value = read(name);
  if (value !== '') return parseDuration(value, name);
  if (defaultValue === undefined) throw missing(name);
  return withDefault(name, defaultValue, parseDuration);
}

export function parsePercentage(value: string, name: string): number {
  const trimmed = value.trim();
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(trimmed);
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!(percent >= 0 && percent <= 100)) {
    throw new ConfigurationError(
      `Input "${name}" must be a percentage between 0 and 100 such as 5, 5% or 0.5%; got ${quote(trimmed)}.`,
    );
  }
  return percent;
}

export function percentageInput(name: string, defaultValue?: string): number {
  const value = read(name);
  if (value !== '') return parsePercentage(value, name);
  if (defaultValue === undefined) throw missing(name);
  return withDefault(name, defaultValue, parsePercentage);
}

export function parsePositiveInteger(value: string, name: string): number {
  const trimmed = value.trim();
  const number = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!(Number.isSafeInteger(number) && number >= 1)) {
    throw new ConfigurationError(
      `Input "${name}" must be a whole number of at least 1 such as 3; got ${quote(trimmed)}.`,
    );
  }
  return number;
}

export function positiveIntegerInput(name: string, defaultValue?: number): number {
  const value = read(name);
  if (value !== '') return parsePositiveInteger(value, name);
  if (defaultValue === undefined) throw missing(name);
  return defaultValue;
}
