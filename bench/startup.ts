/**
 * Start-up cost of the shipped CLI, as a ratio against `node -e 0` measured in the same run
 * (interleaved, so machine load hits both alike): `polar-lake --help` runs dist/ (build it
 * first: `npm run build`) and loads only commander and the command index; `status --help`
 * loads one command. Goal: `--help` within 3x of `node -e 0`.
 *
 *   node bin/run-ts.mjs bench/startup.ts [runs=15]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const runs = Number(process.argv[2] ?? 15);
if (!existsSync('dist/cli/main.js')) {
  console.error('dist/ is not built: npm run build');
  process.exit(1);
}

const commands: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  'polar-lake --help': ['--max-semi-space-size=4', 'bin/polar-lake.mjs', '--help'],
  'polar-lake status --help': ['--max-semi-space-size=4', 'bin/polar-lake.mjs', 'status', '--help'],
  'polar-lake run --help': ['--max-semi-space-size=4', 'bin/polar-lake.mjs', 'run', '--help'],
};

function once(args: string[]): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const times = new Map<string, number[]>(Object.keys(commands).map((k) => [k, []]));
for (const args of Object.values(commands)) once(args); // warm the file cache
for (let i = 0; i < runs; i++) for (const [name, args] of Object.entries(commands)) times.get(name)!.push(once(args));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(times.get('node -e 0')!);
console.log(`${runs} interleaved runs, median wall time`);
for (const [name, xs] of times) console.log(`${name.padEnd(26)} ${median(xs).toFixed(0).padStart(5)} ms  ${(median(xs) / base).toFixed(2)}x node -e 0`);
const ratio = median(times.get('polar-lake --help')!) / base;
console.log(`goal: --help within 3x of node -e 0: ${ratio <= 3 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)`);
