// Regenerates the inputs/outputs tables of every action README from its action.yml (`pnpm docs`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureActions, publishedActions } from './lib/actions.mjs';
import { parseManifest, updateReadme } from './lib/docs.js';

let changed = 0;
for (const action of [...publishedActions(), ...fixtureActions()]) {
  const readmePath = join(action.dir, 'README.md');
  const manifest = parseManifest(readFileSync(join(action.dir, 'action.yml'), 'utf8'));
  const before = readFileSync(readmePath, 'utf8');
  const after = updateReadme(before, manifest, readmePath);
  if (after !== before) {
    writeFileSync(readmePath, after);
    changed++;
    console.log(`updated ${readmePath}`);
  }
}
console.log(changed === 0 ? 'every README is up to date' : `${changed} README(s) regenerated`);
