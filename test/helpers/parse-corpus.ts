/** Shared by the parser tests: where the corpus and the reference python are, and a collector. */
import { existsSync, readFileSync, createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { parseFile, type ParseOptions, type FileInfo } from '../../src/parse/index.ts';
import type { LapRow, RouteRow, SampleRow } from '../../src/records/rows.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const CORPUS_DIR = resolve(REPO_ROOT, process.env['POLAR_LAKE_CORPUS'] ?? '../shared/corpus');
export const HAVE_CORPUS = existsSync(resolve(CORPUS_DIR, 'MANIFEST.tsv'));

export function pythonPath(): string {
  const venv = resolve(REPO_ROOT, '.cache/venv/bin/python');
  return process.env['POLAR_LAKE_PYTHON'] ?? (existsSync(venv) ? venv : 'python3');
}

export interface CorpusEntry {
  path: string;
  format: 'tcx' | 'gpx' | 'fit';
  notes: string;
}

export function corpusEntries(): CorpusEntry[] {
  if (!HAVE_CORPUS) return [];
  const lines = readFileSync(resolve(CORPUS_DIR, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1);
  const out: CorpusEntry[] = [];
  for (const line of lines) {
    const cols = line.split('\t');
    const format = cols[1];
    if (format === 'tcx' || format === 'gpx' || format === 'fit') out.push({ path: cols[0]!, format, notes: cols[10] ?? '' });
  }
  return out;
}

export interface Collected {
  samples: SampleRow[];
  laps: LapRow[];
  routes: RouteRow[];
  info: FileInfo | null;
  error: (Error & { code?: string; line?: number | null; column?: number | null; byteOffset?: number | null }) | null;
}

export async function collect(input: AsyncIterable<Buffer> | NodeJS.ReadableStream, format: 'tcx' | 'gpx' | 'fit' | 'auto', file: string, options?: ParseOptions): Promise<Collected> {
  const out: Collected = { samples: [], laps: [], routes: [], info: null, error: null };
  try {
    for await (const o of parseFile(input, format, { userId: 'u1', exerciseId: 'e1', file, utcOffsetMin: null }, options)) {
      if (o.table === 'samples') out.samples.push(...o.rows);
      else if (o.table === 'laps') out.laps.push(...o.rows);
      else if (o.table === 'routes') out.routes.push(...o.rows);
      else out.info = o.info;
    }
  } catch (error) {
    out.error = error as Collected['error'];
  }
  return out;
}

export function collectFile(path: string, format: 'tcx' | 'gpx' | 'fit' | 'auto' = 'auto', options?: ParseOptions): Promise<Collected> {
  return collect(createReadStream(path), format, path, options);
}

/** Bytes as a one-chunk async iterable. */
export async function* bytes(...chunks: (Buffer | string)[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
}
