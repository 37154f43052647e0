import * as runner from './runner.js';

export type OutputValue = string | number | boolean | object;

function encode(value: OutputValue | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function setOutput(name: string, value: OutputValue): void {
  runner.setOutput(name, encode(value));
}

export function setOutputs(values: Record<string, OutputValue | undefined>): void {
  for (const [name, value] of Object.entries(values)) runner.setOutput(name, encode(value));
}

/*
 * The runner masks log output line by line, so a multi-line secret registered as one value is never
 * matched: each line is registered as well. Lines this short are structure, not secret material
 * (`}` of a JSON key file, a blank line of a PEM): masking them would blank every brace in the log.
 */
const MIN_MASKED_LINE_LENGTH = 4;

/**
 * Registers a secret with the runner before anything can print it, and returns it unchanged so it can
 * wrap the read: `const token = secret(optionalString('token'))`.
 */
export function secret(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return value;
  runner.setSecret(value);
  const lines = value.split(/\r?\n/).map((line) => line.trim());
  if (lines.length > 1) {
    for (const line of new Set(lines)) if (line.length >= MIN_MASKED_LINE_LENGTH) runner.setSecret(line);
  }
  // Registry credentials and Kubernetes secrets travel base64-encoded; a debug dump would show that form.
  runner.setSecret(Buffer.from(value, 'utf8').toString('base64'));
  return value;
}
