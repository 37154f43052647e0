// Cold start of each built bundle under Node 24: wall time from spawn to exit for a run that fails fast
// on a missing required input (what every misconfigured workflow pays), plus the bundle's size. Its
// reference is bare Node (`node -e 0`), timed in the same loop: every round runs the reference and then
// each action once, so both see the same load on the machine.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { node24 } from '@digestline/local';
import { fixtureActions, publishedActions } from '../../scripts/lib/actions.mjs';
import { type BenchTable, percentile, round } from './lib.js';

const RUNS = 21;
/** The goal of issue 16: every action within this many times bare Node's start. */
const GOAL = 2.5;

function sizeOf(dir: string): number {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
}

interface Subject {
  name: string;
  args: string[];
  times: number[];
  exitCode: number | null;
  bundle?: string;
  dist?: string;
}

function timeOnce(subject: Subject): void {
  const started = process.hrtime.bigint();
  const result = spawnSync(node24, subject.args, { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  subject.times.push(Number(process.hrtime.bigint() - started) / 1e6);
  if (result.error) throw result.error;
  subject.exitCode = result.status;
}

export default async function coldStart(): Promise<BenchTable> {
  const bare: Subject = { name: 'bare node -e 0 (reference)', args: ['-e', '0'], times: [], exitCode: null };
  const actions: Subject[] = [...publishedActions(), ...fixtureActions()].map((action) => {
    const bundle = join(action.dir, 'dist', 'index.js');
    return {
      name: action.name,
      args: [bundle],
      times: [],
      exitCode: null,
      bundle,
      dist: join(action.dir, 'dist'),
    };
  });
  const loadBefore = loadavg()[0] ?? Number.NaN;
  // One untimed round first: the files are in the page cache for every timed round alike.
  for (const subject of [bare, ...actions]) timeOnce(subject);
  for (const subject of [bare, ...actions]) subject.times = [];
  for (let i = 0; i < RUNS; i++) for (const subject of [bare, ...actions]) timeOnce(subject);

  for (const subject of [bare, ...actions]) subject.times.sort((a, b) => a - b);
  const bareP50 = percentile(bare.times, 50);
  const row = (s: Subject) => {
    const p50 = percentile(s.times, 50);
    return [
      s.name,
      round(p50),
      round(percentile(s.times, 90)),
      round(s.times[0] ?? Number.NaN),
      `${round(p50 / bareP50, 2)}×`,
      String(s.exitCode),
      s.bundle === undefined ? '-' : round(statSync(s.bundle).size / 1024),
      s.dist === undefined ? '-' : round(sizeOf(s.dist) / 1024),
    ];
  };
  const slowest = Math.max(...actions.map((s) => percentile(s.times, 50)));
  return {
    name: 'cold-start',
    title: `Cold start under Node 24 (${RUNS} rounds of bare Node then every action; missing required input → exit 1)`,
    columns: ['action', 'p50 ms', 'p90 ms', 'min ms', 'p50 / bare', 'exit', 'index.js KiB', 'dist KiB'],
    rows: [row(bare), ...actions.map(row)],
    notes: [
      `slowest action p50 ${round(slowest)} ms = ${round(slowest / bareP50, 2)}× bare Node (goal ≤ ${GOAL}×).`,
      `load average (1 min) ${round(loadBefore, 2)} before, ${round(loadavg()[0] ?? Number.NaN, 2)} after, on ${cpus().length} CPUs: other work on the machine slows both columns alike.`,
      'index.js is the entry chunk a run parses first; the rest of dist/ are chunks loaded only once the inputs are read (and, within them, only what the run needs).',
    ],
  };
}
