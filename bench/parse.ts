/**
 * Parser benchmark: node bin/run-ts.mjs bench/parse.ts [--runs N] [--skip-big]
 *
 * Generates (once) under bench/out/ a 1 h, a 24 h and a ~250 MB multi-day TCX, and a 24 h
 * GPX, with the simulator's streaming generators; then measures on the same files in the
 * same run, each in its own process: each tokenizer bare (no-op handlers; fast also with every
 * text decoded), polar-lake's parser on each tokenizer (fast is the default), Python's ElementTree and lxml iterparse (extracting trackpoints) and
 * tcxreader (TCX up to 24 h: it builds everything in memory). Prints MB/s (median of the
 * runs), points/s, peak RSS (and its growth over an empty worker's) and the ratios the
 * issue sets as goals.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { once } from 'node:events';
import { gpxChunks } from '../src/simulator/gpx.ts';
import { tcxChunks } from '../src/simulator/tcx.ts';
import type { WorkoutSpec } from '../src/simulator/workout.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'bench/out');
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] ?? 3) || 3;
const SKIP_BIG = args.includes('--skip-big');
const PYTHON = process.env['POLAR_LAKE_PYTHON'] ?? (existsSync(resolve(ROOT, '.cache/venv/bin/python')) ? resolve(ROOT, '.cache/venv/bin/python') : 'python3');

async function writeChunks(path: string, chunks: Iterable<string>): Promise<void> {
  if (existsSync(path)) return;
  const out = createWriteStream(path + '.tmp');
  let pending: string[] = [];
  let size = 0;
  for (const c of chunks) {
    pending.push(c);
    size += c.length;
    if (size > 1 << 20) {
      if (!out.write(pending.join(''))) await once(out, 'drain');
      pending = [];
      size = 0;
    }
  }
  out.end(pending.join(''));
  await once(out, 'finish');
  execFileSync('mv', [path + '.tmp', path]);
}

const spec = (durationS: number): WorkoutSpec => ({ seed: 7, sport: 'CYCLING', startUtcMs: Date.UTC(2024, 4, 1, 5), durationS, utcOffsetMin: 120, lapEveryS: 600, withPower: true });

mkdirSync(OUT, { recursive: true });
const files: { name: string; path: string; format: 'tcx' | 'gpx' }[] = [
  { name: 'TCX 1 h', path: resolve(OUT, 'tcx-1h.tcx'), format: 'tcx' },
  { name: 'TCX 24 h', path: resolve(OUT, 'tcx-24h.tcx'), format: 'tcx' },
  { name: 'GPX 24 h', path: resolve(OUT, 'gpx-24h.gpx'), format: 'gpx' },
];
await writeChunks(files[0]!.path, tcxChunks(spec(3600)));
await writeChunks(files[1]!.path, tcxChunks(spec(86400)));
await writeChunks(files[2]!.path, gpxChunks(spec(86400)));
if (!SKIP_BIG) {
  const perDay = statSync(files[1]!.path).size;
  const days = Math.max(1, Math.round((250 * 1024 * 1024) / perDay));
  const big = { name: `TCX ${days} days`, path: resolve(OUT, `tcx-${days}d.tcx`), format: 'tcx' as const };
  await writeChunks(big.path, tcxChunks(spec(86400 * days)));
  files.push(big);
}

const PY_ET = `
import sys, time, resource, xml.etree.ElementTree as ET
t=time.perf_counter(); n=0
for ev, el in ET.iterparse(sys.argv[1], events=('end',)):
    tag = el.tag.rsplit('}',1)[-1]
    if tag in ('Trackpoint','trkpt'):
        row = {c.tag.rsplit('}',1)[-1]: c.text for c in el.iter()}
        n += 1; el.clear()
print('{"seconds": %f, "points": %d, "max_rss_mb": %f}' % (time.perf_counter()-t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024))
`;
const PY_LXML = PY_ET.replace('import sys, time, resource, xml.etree.ElementTree as ET', 'import sys, time, resource\nfrom lxml import etree as ET').replace(
  'n += 1; el.clear()',
  'n += 1; el.clear()\n        while el.getprevious() is not None: del el.getparent()[0]',
);
const PY_TCXREADER = `
import sys, time, resource
from tcxreader.tcxreader import TCXReader
t=time.perf_counter(); ex = TCXReader().read(sys.argv[1])
print('{"seconds": %f, "points": %d, "max_rss_mb": %f}' % (time.perf_counter()-t, len(ex.trackpoints), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024))
`;

interface Measure { seconds: number; points: number; max_rss_mb: number }

function measure(cmd: string, cmdArgs: string[]): Measure {
  const out = execFileSync(cmd, cmdArgs, { cwd: ROOT, maxBuffer: 1 << 24, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Measure;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const node = process.execPath;
// Workers run with the same V8 flag as the polar-lake launcher (bin/polar-lake.mjs, npm scripts):
// 4 MB semi-spaces keep the streaming parse's peak RSS flat (docs/parse-bench.md).
const worker = (mode: string, file: string) => measure(node, ['--max-semi-space-size=4', 'bin/run-ts.mjs', 'bench/parse-worker.ts', mode, file]);
const py = (script: string, file: string) => measure(PYTHON, ['-c', script, file]);

const baseline = Array.from({ length: 3 }, () => worker('empty', files[0]!.path).max_rss_mb);
const baselineRss = median(baseline);
console.log(`node ${process.version}, python ${execFileSync(PYTHON, ['--version'], { encoding: 'utf8' }).trim()}, runs per cell: ${RUNS} (1 on files over 100 MB)`);
console.log(`baseline: an empty worker (node + tsx + the parser modules loaded, nothing read) peaks at ${baselineRss.toFixed(0)} MB RSS`);
const summary: string[] = [];
for (const f of files) {
  const mb = statSync(f.path).size / 1e6;
  const runs = mb > 100 ? 1 : RUNS;
  const cells: [string, () => Measure][] = [
    ['fast bare', () => worker('fast-bare', f.path)],
    ['fast bare, all text decoded', () => worker('fast-bare-text', f.path)],
    ['saxes bare', () => worker('saxes-bare', f.path)],
    ['sax bare', () => worker('sax-bare', f.path)],
    ['polar-lake (fast)', () => worker('parse-fast', f.path)],
    ['polar-lake (saxes)', () => worker('parse-saxes', f.path)],
    ['polar-lake (sax)', () => worker('parse-sax', f.path)],
    ['python ElementTree iterparse', () => py(PY_ET, f.path)],
    ['python lxml iterparse', () => py(PY_LXML, f.path)],
  ];
  if (f.format === 'tcx' && mb < 100) cells.push(['python tcxreader', () => py(PY_TCXREADER, f.path)]);
  const results = new Map<string, { mbps: number; pps: number; rss: number; points: number }>();
  // Interleaved rounds (cell A, B, C, ..., then again) so a burst of load from other work
  // on the machine does not land on one cell's runs only.
  const ms = new Map<string, Measure[]>(cells.map(([label]) => [label, []]));
  for (let r = 0; r < runs; r++) for (const [label, fn] of cells) ms.get(label)!.push(fn());
  for (const [label, m] of ms) {
    const secs = median(m.map((x) => x.seconds));
    results.set(label, { mbps: mb / secs, pps: m[0]!.points / secs, rss: Math.max(...m.map((x) => x.max_rss_mb)), points: m[0]!.points });
  }
  console.log(`\n${f.name}: ${mb.toFixed(1)} MB`);
  console.log('| reader | MB/s | points/s | points | peak RSS MB | RSS over baseline MB |\n|---|---:|---:|---:|---:|---:|');
  for (const [label, r] of results) {
    const growth = label.startsWith('python') ? '-' : (r.rss - baselineRss).toFixed(0);
    console.log(`| ${label} | ${r.mbps.toFixed(1)} | ${r.pps > 0 ? Math.round(r.pps).toLocaleString('en') : '-'} | ${r.points || '-'} | ${r.rss.toFixed(0)} | ${growth} |`);
  }
  const get = (k: string) => results.get(k)?.mbps ?? NaN;
  const ours = get('polar-lake (fast)');
  const rss = results.get('polar-lake (fast)')!.rss;
  const line =
    `${f.name}: polar-lake(fast)/fast bare ${(ours / get('fast bare')).toFixed(2)}, /fast bare all text ${(ours / get('fast bare, all text decoded')).toFixed(2)} (goal ≥ 0.8); ` +
    `polar-lake(saxes)/saxes bare ${(get('polar-lake (saxes)') / get('saxes bare')).toFixed(2)}; polar-lake(fast)/polar-lake(saxes) ${(ours / get('polar-lake (saxes)')).toFixed(2)}; ` +
    `vs ElementTree ${(ours / get('python ElementTree iterparse')).toFixed(2)}x, vs lxml ${(ours / get('python lxml iterparse')).toFixed(2)}x (goal ≥ 2)` +
    (results.has('python tcxreader') ? `, vs tcxreader ${(ours / get('python tcxreader')).toFixed(1)}x (goal ≥ 8)` : '') +
    `; peak RSS ${rss.toFixed(0)} MB, ${(rss - baselineRss).toFixed(0)} MB over the empty worker${mb > 200 ? ' (goal < 120 MB)' : ''}`;
  console.log('ratios: ' + line);
  summary.push(line);
}
console.log('\nsummary:\n' + summary.map((l) => '- ' + l).join('\n'));
