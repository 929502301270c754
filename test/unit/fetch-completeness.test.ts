import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createCompletenessCheck, fitCrc, type CheckedFileKind } from '../../src/accesslink/completeness.ts';
import { CORPUS_DIR, HAVE_CORPUS, corpusPath } from '../helpers/corpus.ts';

/** The checker's verdict over `body` fed in `chunk`-byte pieces. */
async function verdict(kind: CheckedFileKind, body: Buffer, chunk = 4096): Promise<string | null> {
  const check = createCompletenessCheck(kind);
  for (let i = 0; i < body.length; i += chunk) await check.write(body.subarray(i, i + chunk));
  return check.end();
}

const fixture = (p: string) => readFileSync(`test/fixtures/${p}`);

describe('fetch > completeness > tcx and gpx', () => {
  const files: [CheckedFileKind, string][] = [['tcx', 'tcx/two-laps.tcx'], ['tcx', 'tcx/multisport.tcx'], ['gpx', 'gpx/tracks-1.1.gpx'], ['gpx', 'gpx/polar-websync-1.0.gpx']];

  it.each(files)('%s %s: whole passes, plain and gzipped, in any chunking', async (kind, path) => {
    const body = fixture(path);
    for (const chunk of [1, 7, 4096, body.length]) expect(await verdict(kind, body, chunk)).toBeNull();
    expect(await verdict(kind, gzipSync(body), 13)).toBeNull();
  });

  it.each(files)('%s %s: cut anywhere before the root closes is incomplete, plain and gzipped', async (kind, path) => {
    const body = fixture(path);
    const rootClose = body.lastIndexOf('</');
    for (const at of [1, 10, Math.floor(body.length / 3), Math.floor(body.length / 2), rootClose + 2]) {
      const cut = body.subarray(0, at);
      expect(await verdict(kind, cut, 97), `cut at ${at}`).toMatch(/root's closing tag|no XML content/);
      expect(await verdict(kind, gzipSync(body).subarray(0, Math.max(2, Math.floor((gzipSync(body).length * at) / body.length))), 97), `gzip cut at ${at}`).not.toBeNull();
    }
    expect(await verdict(kind, Buffer.alloc(0))).toBe('no XML content');
  });

  it('a document malformed in the middle is not a truncation: stored for the parser to dead-letter', async () => {
    const body = Buffer.from('<?xml version="1.0"?><TrainingCenterDatabase><Activities><Lap></Activities><Trailing/></TrainingCenterDatabase>');
    expect(await verdict('tcx', body)).toBeNull();
    expect(await verdict('tcx', Buffer.from('not xml at all'))).toBeNull();
  });
});

describe('fetch > completeness > fit', () => {
  it('a whole FIT and a chained FIT pass; cut, or with a flipped byte, they do not', async () => {
    for (const path of ['fit/run.fit', 'fit/chained.fit']) {
      const body = fixture(path);
      expect(fitCrc(0, body)).toBe(0);
      expect(await verdict('fit', body, 33)).toBeNull();
      for (const at of [5, 14, Math.floor(body.length / 2) + 3, body.length - 1]) expect(await verdict('fit', body.subarray(0, at)), `${path} cut at ${at}`).not.toBeNull();
      const flipped = Buffer.from(body);
      flipped[20]! ^= 0x40; // inside the first file's data
      expect(await verdict('fit', flipped)).toMatch(/CRC/);
    }
    expect(await verdict('fit', Buffer.alloc(0))).toBe('empty FIT body');
  });
});

describe.skipIf(!HAVE_CORPUS)('fetch > completeness > the real-file corpus', () => {
  const rows = HAVE_CORPUS
    ? readFileSync(`${CORPUS_DIR}/MANIFEST.tsv`, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'))
    : [];
  const files = rows.filter((r) => ['tcx', 'gpx', 'fit'].includes(r[1]!)).map((r) => ({ path: r[0]!, kind: r[1] as CheckedFileKind, notes: r[10] ?? '' }));

  /** FITs broken at the byte level at the source (size or CRC), as the manifest's decoder notes say. */
  const BROKEN_FIT = /EOF|disagrees with file length \(-|0-byte|bad endian|not a FIT file at all|\(truncated\) recording/;

  it('every whole file passes (FITs broken at the source fail), and every file cut in half fails unless it is malformed before the cut', async () => {
    expect(files.length).toBeGreaterThan(90);
    const wrong: string[] = [];
    for (const { path, kind, notes } of files) {
      const body = readFileSync(corpusPath(path));
      const truncatedAtSource = kind === 'fit' && BROKEN_FIT.test(notes);
      const whole = await verdict(kind, body, 65536);
      if ((whole !== null) !== truncatedAtSource) wrong.push(`${path} whole: ${whole}`);
      if (!/NOT well-formed/.test(notes) && (await verdict(kind, body.subarray(0, Math.floor(body.length / 2)), 65536)) === null) wrong.push(`${path} half passed`);
    }
    expect(wrong).toEqual([]);
  });
});
