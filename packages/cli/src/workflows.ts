import * as parser from '@actions/workflow-parser';
import { parse } from 'yaml';

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};

/** Problems GitHub's parser reports, plus the two hardening rules that need no catalog of actions. */
export async function validateWorkflow(name: string, content: string): Promise<string[]> {
  const result = parser.parseWorkflow({ name, content }, new parser.NoOperationTraceWriter());
  if (result.value !== undefined) await parser.convertWorkflowTemplate(result.context, result.value);
  const problems = result.context.errors.getErrors().map((error) => error.message);
  if (problems.length > 0) return problems;
  for (const [id, job] of Object.entries(asObject(asObject(parse(content)).jobs))) {
    const steps = asObject(job).steps;
    for (const [index, step] of (Array.isArray(steps) ? steps : []).map(asObject).entries()) {
      const where = `jobs.${id}.steps[${index}]`;
      if (typeof step.run === 'string' && step.run.includes('${{')) {
        problems.push(
          `${where}: an expression inside run: is script injection waiting to happen; pass it through env:`,
        );
      }
      const uses = typeof step.uses === 'string' ? step.uses : '';
      const persist = asObject(step.with)['persist-credentials'];
      if (uses.startsWith('actions/checkout@') && persist !== false && persist !== 'false') {
        problems.push(
          `${where}: actions/checkout keeps the token in .git/config; set persist-credentials: false`,
        );
      }
    }
  }
  return problems;
}
