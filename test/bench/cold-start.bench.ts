// Cold start of each built bundle under Node 24: wall time from spawn to exit for a run that fails fast
// on a missing required input (what every misconfigured workflow pays), plus the bundle's size.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { node24 } from '@digestline/local';
import { fixtureActions, publishedActions } from '../../scripts/lib/actions.mjs';
import { type BenchTable, percentile, round } from './lib.js';

const RUNS = 15;

function sizeOf(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
}

export default async function coldStart(): Promise<BenchTable> {
  const rows: (string | number)[][] = [];
  for (const action of [...publishedActions(), ...fixtureActions()]) {
    const bundle = join(action.dir, 'dist', 'index.js');
    const times: number[] = [];
    let exitCode: number | null = null;
    for (let i = 0; i < RUNS; i++) {
      const started = process.hrtime.bigint();
      const result = spawnSync(node24, [bundle], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      exitCode = result.status;
      if (result.error) throw result.error;
    }
    times.sort((a, b) => a - b);
    rows.push([
      action.name,
      round(percentile(times, 50)),
      round(percentile(times, 90)),
      round(times[0] ?? Number.NaN),
      String(exitCode),
      round(statSync(bundle).size / 1024),
      round(sizeOf(join(action.dir, 'dist')) / 1024),
    ]);
  }
  return {
    name: 'cold-start',
    title: `Cold start under Node 24 (${RUNS} runs each, missing required input → exit 1)`,
    columns: ['action', 'p50 ms', 'p90 ms', 'min ms', 'exit', 'index.js KiB', 'dist KiB'],
    rows,
  };
}
