// Assembles the consumer tree that a release tag points to (see ARCHITECTURE.md, "Distribution"):
//   <name>/action.yml, <name>/README.md, <name>/dist/**   for every action
//   .github/workflows/*.yml                              reusable workflows from workflows-templates/
//   workflow-templates/*                                 starter templates from workflows-templates/starter/
// Internal `uses: <repo>/<path>@<ref>` lines are stamped to the release ref.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle } from './build.mjs';
import { publishedActions, root } from './lib/actions.mjs';
import { stampUses } from './lib/stamp.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ref: { type: 'string', default: 'main' },
    repo: { type: 'string', default: 'digestline/actions' },
    include: { type: 'string', multiple: true, default: [] },
  },
});
if (positionals.length !== 1) {
  console.error(
    'usage: scripts/release <output-dir> [--ref vX.Y.Z] [--repo owner/name] [--include path/to/action ...]',
  );
  process.exit(2);
}
if (!/^[A-Za-z0-9._/-]+$/.test(values.ref)) {
  console.error(`::error::--ref "${values.ref}" is not a valid git ref name`);
  process.exit(2);
}
const out = resolve(positionals[0]);
const stamp = (text) => stampUses(text, values.repo, values.ref);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const extra = values.include.map((path) => {
  const dir = resolve(root, path);
  return { name: dir.split('/').pop(), dir };
});
for (const action of [...publishedActions(), ...extra]) {
  const target = join(out, action.name);
  await bundle(action, join(target, 'dist'));
  for (const file of ['action.yml', 'README.md']) {
    const source = join(action.dir, file);
    if (existsSync(source)) writeFileSync(join(target, file), stamp(readFileSync(source, 'utf8')));
  }
}

function copyYaml(fromDir, toDir) {
  if (!existsSync(fromDir)) return;
  const files = readdirSync(fromDir, { withFileTypes: true }).filter((e) => e.isFile());
  if (files.length === 0) return;
  mkdirSync(toDir, { recursive: true });
  for (const file of files) {
    const source = join(fromDir, file.name);
    const text = readFileSync(source, 'utf8');
    writeFileSync(join(toDir, file.name), file.name.endsWith('.yml') ? stamp(text) : text);
  }
}
copyYaml(join(root, 'workflows-templates'), join(out, '.github', 'workflows'));
copyYaml(join(root, 'workflows-templates', 'starter'), join(out, 'workflow-templates'));
if (existsSync(join(root, 'LICENSE'))) cpSync(join(root, 'LICENSE'), join(out, 'LICENSE'));
console.log(`release tree for ${values.repo}@${values.ref} written to ${out}`);
