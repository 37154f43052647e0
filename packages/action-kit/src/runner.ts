import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

/*
 * The runner's protocol, written out here rather than taken from @actions/core: that package imports its
 * HTTP client (with undici) and @actions/exec at load time, about 1 MB of code that every action would
 * parse before it could even report a missing input. The protocol itself is small: inputs and saved
 * state arrive as environment variables, outputs and state go to the files the runner names, and
 * everything else is a workflow command (`::name key=value,…::message`) on stdout.
 */

/** Properties of an annotation, as the runner's `error`, `warning` and `notice` commands take them. */
export interface AnnotationProperties {
  title?: string;
  file?: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
}

/** `%`, CR and LF would end or corrupt a command; the runner decodes these escapes. */
function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Property values also escape the separators of the property list. */
function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function issueCommand(
  name: string,
  properties: Record<string, string | number | undefined>,
  message: string,
): void {
  const list = Object.entries(properties)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`)
    .join(',');
  process.stdout.write(`::${name}${list === '' ? '' : ` ${list}`}::${escapeData(message)}${EOL}`);
}

/** `INPUT_<NAME>`: upper case, spaces as underscores, dashes kept; surrounding whitespace is not part of it. */
export function getInput(name: string): string {
  return (process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

export function getState(name: string): string {
  return process.env[`STATE_${name}`] ?? '';
}

/**
 * A `name<<delimiter` block in the file the runner named in `variable`; the delimiter is random, so no
 * value can end the block early, and is checked anyway.
 */
function appendKeyValue(variable: string, legacyCommand: string, name: string, value: string): void {
  const file = process.env[variable];
  if (!file) {
    // An old runner without command files: the command it understood instead.
    process.stdout.write(EOL);
    issueCommand(legacyCommand, { name }, value);
    return;
  }
  // Unguessable enough, and checked below: a value that holds its delimiter is refused, never written.
  // (Not crypto's randomUUID, which would load node:crypto into every action for this one line.)
  const delimiter = `ghadelimiter_${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  if (name.includes(delimiter) || value.includes(delimiter)) {
    throw new Error(`the ${variable} entry ${name} contains its own delimiter ${delimiter}`);
  }
  appendFileSync(file, `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, 'utf8');
}

export function setOutput(name: string, value: string): void {
  appendKeyValue('GITHUB_OUTPUT', 'set-output', name, value);
}

export function saveState(name: string, value: string): void {
  appendKeyValue('GITHUB_STATE', 'save-state', name, value);
}

export function setSecret(value: string): void {
  issueCommand('add-mask', {}, value);
}

export function info(message: string): void {
  process.stdout.write(`${message}${EOL}`);
}

export function debug(message: string): void {
  issueCommand('debug', {}, message);
}

export function annotation(
  level: 'error' | 'warning' | 'notice',
  message: string,
  properties: AnnotationProperties = {},
): void {
  issueCommand(
    level,
    {
      title: properties.title,
      file: properties.file,
      line: properties.startLine,
      endLine: properties.endLine,
      col: properties.startColumn,
      endColumn: properties.endColumn,
    },
    message,
  );
}

export async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  issueCommand('group', {}, name);
  try {
    return await fn();
  } finally {
    issueCommand('endgroup', {}, '');
  }
}

/** The step fails with this message: an error annotation, and exit code 1 once the process ends. */
export function setFailed(message: string): void {
  process.exitCode = 1;
  annotation('error', message);
}
