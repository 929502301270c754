import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The shared corpus of real workout files, read in place (never copied into the repo). */
export const CORPUS_DIR = resolve(process.cwd(), process.env['POLAR_LAKE_CORPUS'] ?? '../shared/corpus');
export const HAVE_CORPUS = existsSync(resolve(CORPUS_DIR, 'MANIFEST.tsv'));
export const corpusPath = (relative: string) => resolve(CORPUS_DIR, relative);
if (!HAVE_CORPUS) {
  console.warn(`corpus not found at ${CORPUS_DIR} (set POLAR_LAKE_CORPUS): corpus tests are skipped; generated fixtures still run`);
}
