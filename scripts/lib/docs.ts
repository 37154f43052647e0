// README input/output tables are generated from action.yml so they cannot drift from it.
import { parse as parseYaml } from 'yaml';

export interface ActionManifest {
  name?: string;
  description?: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string | number | boolean }>;
  outputs?: Record<string, { description?: string }>;
  runs?: { using?: string; main?: string; post?: string };
}

export const parseManifest = (text: string) => parseYaml(text) as ActionManifest;

const cell = (text: string) =>
  text
    .trim()
    .replace(/\r?\n+/g, ' ')
    .replace(/\|/g, '\\|');

export function renderInputs(manifest: ActionManifest): string {
  const rows = Object.entries(manifest.inputs ?? {}).map(([name, spec]) => {
    const fallback =
      spec.default === undefined || spec.default === '' ? '' : `\`${cell(String(spec.default))}\``;
    return `| \`${name}\` | ${spec.required ? 'yes' : 'no'} | ${fallback} | ${cell(spec.description ?? '')} |`;
  });
  if (rows.length === 0) return '_This action has no inputs._';
  return ['| input | required | default | description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function renderOutputs(manifest: ActionManifest): string {
  const rows = Object.entries(manifest.outputs ?? {}).map(
    ([name, spec]) => `| \`${name}\` | ${cell(spec.description ?? '')} |`,
  );
  if (rows.length === 0) return '_This action has no outputs._';
  return ['| output | description |', '| --- | --- |', ...rows].join('\n');
}

const marker = (section: string, edge: 'start' | 'end') => `<!-- digestline:${section}:${edge} -->`;

/** Replaces the text between the inputs/outputs markers; throws when a README lacks them. */
export function updateReadme(readme: string, manifest: ActionManifest, readmePath = 'README.md'): string {
  let text = readme;
  for (const [section, body] of [
    ['inputs', renderInputs(manifest)],
    ['outputs', renderOutputs(manifest)],
  ] as const) {
    const start = text.indexOf(marker(section, 'start'));
    const end = text.indexOf(marker(section, 'end'));
    if (start === -1 || end === -1 || end < start) {
      throw new Error(
        `${readmePath} needs the markers ${marker(section, 'start')} and ${marker(section, 'end')} where the ${section} table goes`,
      );
    }
    text = `${text.slice(0, start + marker(section, 'start').length)}\n${body}\n${text.slice(end)}`;
  }
  return text;
}
