// Bundles every action (and the test fixture actions) with ncc into <action>/dist/.
// Usage: node scripts/build.mjs [name ...]   (no names: all)
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
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
  // Written beside dist/ and swapped in by renames, so a run of the action that starts meanwhile (a test, a
  // second build) finds either the old bundle or the new one, never a half-written or missing one.
  const staging = `${outDir}.building-${process.pid}-${Date.now()}`;
  const retired = `${outDir}.old-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(join(staging, 'index.js'), code);
    for (const [name, asset] of Object.entries(assets)) {
      const target = join(staging, name);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, asset.source, { mode: asset.permissions });
    }
    await rename(outDir, retired).catch((error) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(staging, outDir);
  } finally {
    await rm(staging, { recursive: true, force: true });
    await rm(retired, { recursive: true, force: true });
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
