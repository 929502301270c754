/**
 * Hostile and broken inputs: each gets a ParseError with a stable code, the file and a
 * position, memory stays flat, and the next file still parses; on every tokenizer.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ParseError, type ParseOptions, type TokenizerName } from '../../src/parse/index.ts';
import { QUALITY } from '../../src/parse/values.ts';
import { REPO_ROOT, bytes, collect, collectFile } from '../helpers/parse-corpus.ts';

const FIX = resolve(REPO_ROOT, 'test/fixtures');
const GOOD_TCX = readFileSync(resolve(FIX, 'tcx/two-laps.tcx'));


/** Streams `count` chunks of `chunk` after `head`, never holding more than one chunk. */
async function* repeated(head: string, chunk: string, count: number): AsyncGenerator<Buffer> {
  yield Buffer.from(head);
  const buf = Buffer.from(chunk);
  for (let i = 0; i < count; i++) yield buf;
}

const FILE_CASES: { name: string; code: string; line: number | null }[] = [
  { name: 'hostile/billion-laughs.tcx', code: 'PL_PARSE_DOCTYPE_REFUSED', line: 2 },
  { name: 'hostile/xxe.gpx', code: 'PL_PARSE_DOCTYPE_REFUSED', line: 2 },
  { name: 'hostile/undefined-entity.gpx', code: 'PL_PARSE_ENTITY_REFUSED', line: 2 },
  { name: 'hostile/html-error-page.tcx', code: 'PL_PARSE_UNKNOWN_FORMAT', line: null },
  { name: 'hostile/not-gzip.tcx.gz', code: 'PL_PARSE_BAD_GZIP', line: null },
];

/** Every case runs on each tokenizer: they must stay equivalent (codes, rows, positions). */
const TOKENIZER_NAMES: TokenizerName[] = ['fast', 'saxes', 'sax'];

describe.each(TOKENIZER_NAMES)('parse > hostile and tolerated (%s)', (tokenizer) => {
  const run = (input: Parameters<typeof collect>[0], format: Parameters<typeof collect>[1], file: string, options?: ParseOptions) =>
    collect(input, format, file, { tokenizer, ...options });
  const runFile = (path: string, format: Parameters<typeof collect>[1] = 'auto', options?: ParseOptions) => collectFile(path, format, { tokenizer, ...options });

  async function expectNextFileParses(): Promise<void> {
    const r = await run(bytes(GOOD_TCX), 'auto', 'next.tcx');
    expect(r.error).toBeNull();
    expect(r.samples).toHaveLength(4);
  }

  for (const c of FILE_CASES) {
    it(`parse > hostile > ${c.name} → ${c.code}`, async () => {
      const path = resolve(FIX, c.name);
      const r = await runFile(path);
      expect(r.error).toBeInstanceOf(ParseError);
      expect(r.error!.code).toBe(c.code);
      expect((r.error as ParseError).kind).toBe('terminal');
      expect((r.error as ParseError).file).toBe(path);
      expect(r.error!.line).toBe(c.line);
      expect(r.error!.byteOffset).not.toBeNull();
      await expectNextFileParses();
    });
  }

  it('parse > hostile > html page declared as tcx → wrong root', async () => {
    const r = await run(bytes(readFileSync(resolve(FIX, 'hostile/html-error-page.tcx'))), 'tcx', 'page.tcx');
    expect(r.error!.code).toBe('PL_PARSE_WRONG_ROOT');
    expect(r.error!.line).toBe(2);
  });

  it('parse > hostile > 100 MB text node stops early with flat memory', async () => {
    const before = process.memoryUsage().heapUsed;
    const r = await run(repeated('<?xml version="1.0"?><TrainingCenterDatabase><Author><Name>', 'a'.repeat(1 << 20), 100), 'tcx', 'big-text.tcx');
    expect(r.error!.code).toBe('PL_PARSE_TEXT_TOO_LARGE');
    expect(r.error!.line).toBe(1);
    expect(r.error!.byteOffset).toBeGreaterThan(4 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
    await expectNextFileParses();
  });

  it('parse > hostile > 100,000-deep nesting → too deep', async () => {
    const r = await run(repeated('<TrainingCenterDatabase>', '<a>'.repeat(1000), 100), 'tcx', 'deep.tcx');
    expect(r.error!.code).toBe('PL_PARSE_TOO_DEEP');
    expect(r.error!.column).toBeGreaterThan(128 * 3);
    await expectNextFileParses();
  });

  it('parse > hostile > truncation at every byte is truncated (or empty), never a crash or rows of a whole file', async () => {
    const end = GOOD_TCX.lastIndexOf('</TrainingCenterDatabase>');
    const seen = new Set<string>();
    for (let cut = 0; cut < end; cut++) {
      const r = await run(bytes(GOOD_TCX.subarray(0, cut)), 'tcx', 'cut.tcx');
      expect(r.error, `cut at ${cut}`).toBeInstanceOf(ParseError);
      seen.add(r.error!.code!);
    }
    expect([...seen].sort()).toEqual(['PL_PARSE_EMPTY', 'PL_PARSE_TRUNCATED']);
    await expectNextFileParses();
  });

  it('parse > hostile > truncated and corrupt gzip', async () => {
    const gz = gzipSync(GOOD_TCX);
    const cut = await run(bytes(gz.subarray(0, gz.length - 40)), 'auto', 'raw.tcx.gz');
    expect(cut.error!.code).toBe('PL_PARSE_BAD_GZIP');
    const garbage = Buffer.concat([gz.subarray(0, 10), Buffer.alloc(200, 0xff)]);
    const bad = await run(bytes(garbage), 'auto', 'raw.tcx.gz');
    expect(bad.error!.code).toBe('PL_PARSE_BAD_GZIP');
    const ok = await run(bytes(gz), 'auto', 'raw.tcx.gz');
    expect(ok.samples).toHaveLength(4);
  });

  it('parse > hostile > cut inside a multi-byte character and invalid UTF-8', async () => {
    const text = Buffer.from('<?xml version="1.0"?><gpx><trk><name>Päijänne</name></trk></gpx>');
    const inside = text.indexOf(Buffer.from('ä')) + 1;
    const cut = await run(bytes(text.subarray(0, inside)), 'gpx', 'cut.gpx');
    expect(cut.error!.code).toBe('PL_PARSE_TRUNCATED');
    const invalid = Buffer.concat([text.subarray(0, 40), Buffer.from([0xc3, 0x28]), text.subarray(40)]);
    const r = await run(bytes(invalid), 'gpx', 'bad.gpx');
    expect(r.error!.code).toBe('PL_PARSE_ENCODING');
    expect(r.error!.byteOffset).toBe(0);
  });

  it('parse > hostile > malformed XML and empty input', async () => {
    const r = await run(bytes('<gpx><trk></gpx>'), 'gpx', 'm.gpx');
    expect(r.error!.code).toBe('PL_PARSE_XML_MALFORMED');
    expect(r.error!.line).toBe(1);
    expect((await run(bytes(''), 'auto', 'e.tcx')).error!.code).toBe('PL_PARSE_EMPTY');
    expect((await run(bytes('\n \n'), 'tcx', 'e.tcx')).error!.code).toBe('PL_PARSE_EMPTY');
    expect((await run(bytes('{"json": true}'), 'auto', 'e.tcx')).error!.code).toBe('PL_PARSE_UNKNOWN_FORMAT');
  });

  it('parse > hostile > FIT: truncated, bad header, over the size cap', async () => {
    const fit = readFileSync(resolve(FIX, 'fit/run.fit'));
    expect((await run(bytes(fit.subarray(0, fit.length - 30)), 'fit', 'a.fit')).error!.code).toBe('PL_PARSE_FIT_INVALID');
    expect((await run(bytes(Buffer.alloc(40, 7)), 'fit', 'a.fit')).error!.code).toBe('PL_PARSE_FIT_INVALID');
    const capped = await run(bytes(fit), 'fit', 'a.fit', { limits: { maxFitBytes: 100 } });
    expect(capped.error!.code).toBe('PL_PARSE_FIT_TOO_LARGE');
    expect((await run(bytes(fit), 'auto', 'a.fit')).samples).toHaveLength(6);
  });
  it('parse > tolerated > UTF-8 BOM, leading whitespace before the declaration, UTF-16 LE and BE', async () => {
    const expected = (await run(bytes(GOOD_TCX), 'auto', 'x.tcx')).samples;
    const bom = await run(bytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), GOOD_TCX])), 'auto', 'bom.tcx');
    expect(bom.samples).toEqual(expected);
    const ws = await run(bytes(Buffer.concat([Buffer.from('  \r\n\t'), GOOD_TCX])), 'auto', 'ws.tcx');
    expect(ws.samples).toEqual(expected);
    const text = GOOD_TCX.toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect((await run(bytes(le), 'auto', 'le.tcx')).samples).toEqual(expected);
    const be = Buffer.from(text, 'utf16le').swap16();
    const beWithBom = Buffer.concat([Buffer.from([0xfe, 0xff]), be]);
    expect((await run(bytes(beWithBom), 'auto', 'be.tcx')).samples).toEqual(expected);
  });

  it('parse > tolerated > non-ASCII text split across chunks at every byte, BOM and U+FEFF inside the text', async () => {
    // The driver turns all-ASCII chunks into strings without the UTF-8 decoder and hands
    // other chunks to it: a character cut between chunks, and a U+FEFF that lands at the
    // start of a chunk, must come out the same whichever path each chunk took.
    const text = GOOD_TCX.toString('utf8').replace('<Name>Polar Vantage V2</Name>', '<Name>P\uFEFFölar Vänt€ge 😀 V2</Name>');
    const whole = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    const expected = await run(bytes(whole), 'auto', 'x.tcx');
    expect(expected.error).toBeNull();
    expect(expected.info!.creator_name).toBe('P\uFEFFölar Vänt€ge 😀 V2');
    const nameAt = whole.indexOf('<Name>P\uFEFF');
    for (let cut = nameAt; cut < nameAt + 40; cut++) {
      for (const size of [1, 3, 4096]) {
        const parts: Buffer[] = [whole.subarray(0, cut)];
        for (let i = cut; i < whole.length; i += size) parts.push(whole.subarray(i, Math.min(whole.length, i + size)));
        const r = await run(bytes(...parts), 'auto', 'x.tcx');
        expect(r.error, `cut ${cut} size ${size}`).toBeNull();
        expect(r.info!.creator_name, `cut ${cut} size ${size}`).toBe(expected.info!.creator_name);
        expect(r.samples).toEqual(expected.samples);
      }
    }
    const bad = Buffer.concat([whole.subarray(0, nameAt + 6), Buffer.from([0xc3]), whole.subarray(nameAt + 6)]);
    expect((await run(bytes(bad.subarray(0, nameAt + 7), bad.subarray(nameAt + 7)), 'auto', 'bad.tcx')).error?.code).toBe('PL_PARSE_ENCODING');
  });

  it('parse > tolerated > out-of-order instants kept by default and flagged time_backwards; repeats kept unflagged', async () => {
    const r = await runFile(resolve(FIX, 'hostile/out-of-order.gpx'));
    expect(r.error).toBeNull();
    expect(r.samples.map((s) => s.quality_flags)).toEqual([0, 0, QUALITY.time_backwards]);
    expect(r.info).toMatchObject({ time_backwards_count: 1, sample_count: 3 });
    await expectNextFileParses();
  });

  it('parse > tolerated > out-of-order instants with timeOrder reject (strict) → PL_PARSE_TIME_ORDER at the point', async () => {
    const r = await runFile(resolve(FIX, 'hostile/out-of-order.gpx'), 'auto', { timeOrder: 'reject' });
    expect(r.error!.code).toBe('PL_PARSE_TIME_ORDER');
    expect(r.error!.line).toBe(6);
  });

  it('parse > tolerated > a value that is not a number keeps its row as null, flagged value_unparseable', async () => {
    const r = await runFile(resolve(FIX, 'hostile/not-a-number.tcx'));
    expect(r.error).toBeNull();
    expect(r.samples.map((s) => [s.heart_rate_bpm, s.quality_flags])).toEqual([[120, 0], [null, QUALITY.value_unparseable]]);
    expect(r.info).toMatchObject({ value_unparseable_count: 1, sample_count: 2 });
  });

  it('parse > tolerated > a Trackpoint time that is not a date-time drops that point (counted), not the file', async () => {
    const r = await runFile(resolve(FIX, 'hostile/bad-time.tcx'));
    expect(r.error).toBeNull();
    expect(r.samples).toHaveLength(0);
    expect(r.laps).toHaveLength(1);
    expect(r.info).toMatchObject({ time_unparseable_count: 1, dropped_point_count: 0, content: 'activity' });
    await expectNextFileParses();
  });

  it('parse > tolerated > one byte at a time gives the same rows', async () => {
    async function* byteByByte(): AsyncGenerator<Buffer> {
      for (let i = 0; i < GOOD_TCX.length; i++) yield GOOD_TCX.subarray(i, i + 1);
    }
    const r = await run(byteByByte(), 'auto', 'slow.tcx');
    expect(r.samples).toEqual((await run(bytes(GOOD_TCX), 'auto', 'x.tcx')).samples);
  });
});
