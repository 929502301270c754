import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRawZone, type RawZone } from '../../src/lake/raw-zone.ts';
import { CORPUS_DIR, HAVE_CORPUS, corpusPath } from '../helpers/corpus.ts';

// Generated fixtures for the same behaviours run in test/unit/raw-zone.test.ts whatever the corpus.
describe.skipIf(!HAVE_CORPUS)(`raw zone > corpus (${CORPUS_DIR}; skipped when absent)`, () => {
  let root: string;
  let zone: RawZone;
  let files: string[] = [];
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'polar-lake-raw-corpus-'));
    zone = createRawZone(root);
    const manifest = await readFile(corpusPath('MANIFEST.tsv'), 'utf8');
    files = manifest.trim().split('\n').slice(1).map((line) => line.split('\t')[0]!);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('every corpus file round-trips byte for byte, hashed over the payload', async () => {
    expect(files.length).toBeGreaterThan(100);
    for (const [i, file] of files.entries()) {
      const original = await readFile(corpusPath(file));
      const key = `raw/corpus/file_${i}/payload.bin.gz`;
      const stored = await zone.put(key, createReadStream(corpusPath(file), { highWaterMark: 64 * 1024 }));
      expect(stored.sha256, file).toBe(createHash('sha256').update(original).digest('hex'));
      expect(stored.bytes, file).toBe(original.length);
      expect((await buffer(zone.open(key))).equals(original), file).toBe(true);
    }
  });

  it('a gzipped corpus TCX is stored once-compressed and hashes like the plain file', async () => {
    const tcx = files.find((f) => f.toLowerCase().endsWith('.tcx'))!;
    const original = await readFile(corpusPath(tcx));
    const plain = await zone.put('raw/corpus/plain/tcx.tcx.gz', original);
    const gzipped = await zone.put('raw/corpus/gzipped/tcx.tcx.gz', Readable.from([gzipSync(original)]));
    expect(gzipped.sha256).toBe(plain.sha256);
    expect((await buffer(zone.open('raw/corpus/gzipped/tcx.tcx.gz'))).equals(original)).toBe(true);
  });
});
