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
    out: { type: 'string' },
    repo: { type: 'string', default: 'digestline/actions' },
    include: { type: 'string', multiple: true, default: [] },
  },
});
if (positionals.length !== 1) {
  console.error(
    'usage: scripts/release <version> [--out dir] [--repo owner/name] [--include path/to/action ...]\n' +
      '  <version> is the release ref every internal `uses:` is stamped to, e.g. v1.2.3; the tree goes to release/<version> unless --out is given',
  );
  process.exit(2);
}
const ref = positionals[0];
if (!/^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(ref)) {
  console.log(`::error::version "${ref}" is not a release version such as v1.2.3 (or v1.2.3-rc.1)`);
  process.exit(2);
}
const out = resolve(values.out ?? join(root, 'release', ref));
const stamp = (text) => stampUses(text, values.repo, ref);

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
console.log(`release tree for ${values.repo}@${ref} written to ${out}`);
