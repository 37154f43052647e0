// Bundles every action (and the test fixture actions) with ncc into <action>/dist/.
// Usage: node scripts/build.mjs [name ...]   (no names: all)
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import ncc from '@vercel/ncc';
import { fixtureActions, publishedActions } from './lib/actions.mjs';

export async function bundle(action, outDir = join(action.dir, 'dist')) {
  const { code, assets } = await ncc(join(action.dir, 'src', 'index.ts'), {
    minify: false,
    sourceMap: false,
    quiet: true,
    target: 'es2022',
    // The typecheck step covers types for the whole workspace; checking again per bundle only costs time.
    transpileOnly: true,
  });
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'index.js'), code);
  for (const [name, asset] of Object.entries(assets)) {
    const target = join(outDir, name);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, asset.source, { mode: asset.permissions });
  }
  return outDir;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const wanted = new Set(process.argv.slice(2));
  const all = [...publishedActions(), ...fixtureActions()];
  const selected = wanted.size === 0 ? all : all.filter((a) => wanted.has(a.name));
  if (wanted.size > 0 && selected.length !== wanted.size) {
    const known = all.map((a) => a.name).join(', ');
    console.log(`::error::unknown action in ${[...wanted].join(', ')}; known actions: ${known}`);
    process.exit(1);
  }
  for (const action of selected) {
    const started = Date.now();
    await bundle(action);
    console.log(`built ${action.name} in ${Date.now() - started} ms`);
  }
}
