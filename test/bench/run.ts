// Runs every test/bench/*.bench.ts (or the names given), prints each table and writes bench/results/<name>.json.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchTable, formatTable, machine } from './lib.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const resultsDir = join(here, '..', '..', 'bench', 'results');
const wanted = new Set(process.argv.slice(2));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.size === 0 || wanted.has(f.replace(/\.bench\.ts$/, '')))
  .sort();
if (files.length === 0) {
  console.error(`::error::no benchmark matched ${[...wanted].join(', ')}`);
  process.exit(1);
}

mkdirSync(resultsDir, { recursive: true });
for (const file of files) {
  const module = (await import(join(here, file))) as { default: () => Promise<BenchTable> };
  const table = await module.default();
  console.log(`${formatTable(table)}\n`);
  const record = { ...table, date: new Date().toISOString(), machine: machine() };
  writeFileSync(join(resultsDir, `${table.name}.json`), `${JSON.stringify(record, null, 2)}\n`);
}
