import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function actionDirsUnder(parent) {
  const dir = join(root, parent);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'action.yml')))
    .map((entry) => ({ name: entry.name, dir: join(dir, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The published actions. */
export const publishedActions = () => actionDirsUnder('actions');

/** Small actions that exist only to test the harness; built like the real ones but never released. */
export const fixtureActions = () => actionDirsUnder('test/fixtures/actions');
