import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as parser from '@actions/workflow-parser';
import { parse } from 'yaml';
import { WorkflowError } from './errors.js';

export type Json = Record<string, unknown>;

export interface LoadedWorkflow {
  /** The path it was read from. */
  file: string;
  name: string;
  on: Json;
  raw: Json;
  jobs: [string, Json][];
}

export const asObject = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};

export const asList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];

/** The event names a workflow runs on (`on: push`, `on: [push, pull_request]` or a mapping). */
export function eventsOf(on: unknown): Json {
  if (typeof on === 'string') return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((name) => [String(name), {}]));
  return Object.fromEntries(Object.entries(asObject(on)).map(([name, value]) => [name, value ?? {}]));
}

/** GitHub's parser reads the file first: what it refuses, GitHub would refuse to start. */
export async function validate(name: string, content: string): Promise<string[]> {
  const result = parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter());
  if (result.value !== undefined) await parser.convertWorkflowTemplate(result.context, result.value);
  return result.context.errors.getErrors().map((error) => error.message);
}

export async function loadWorkflow(file: string): Promise<LoadedWorkflow> {
  const content = await readFile(file, 'utf8');
  const problems = await validate(basename(file), content);
  if (problems.length > 0)
    throw new WorkflowError(`${file} is not a valid workflow:\n- ${problems.join('\n- ')}`);
  const raw = asObject(parse(content));
  return {
    file,
    name: typeof raw.name === 'string' ? raw.name : basename(file),
    on: eventsOf(raw.on),
    raw,
    jobs: Object.entries(asObject(raw.jobs)).map(([id, job]) => [id, asObject(job)]),
  };
}
