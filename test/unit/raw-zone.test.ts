import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidRawIdError, InvalidRawKeyError, RawZoneCorruptGzipError, createRawZone, rawKeyFor } from '../../src/lake/raw-zone.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'polar-lake-raw-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('raw zone > put', () => {
  it('stores a stream gzipped, round-trips it, and leaves no temp file', async () => {
    const zone = createRawZone(root);
    const payload = '<TrainingCenterDatabase>' + 'x'.repeat(200_000) + '</TrainingCenterDatabase>';
    const key = rawKeyFor('42', '9001', 'tcx');
    expect(key).toBe('raw/exercises/user_id=42/exercise_id=9001/tcx.tcx.gz');
    const chunks = [payload.slice(0, 1), payload.slice(1, 70_000), payload.slice(70_000)].map((s) => Buffer.from(s));
    const stored = await zone.put(key, Readable.from(chunks));
    expect(stored).toMatchObject({ key, bytes: payload.length, sha256: sha(payload) });
    const onDisk = await readFile(join(root, key));
    expect(onDisk[0]).toBe(0x1f);
    expect(stored.storedBytes).toBe(onDisk.length);
    expect(gunzipSync(onDisk).toString()).toBe(payload);
    expect(await text(zone.open(key))).toBe(payload);
    expect((await allFiles(root)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(await zone.exists(key)).toBe(true);
    expect(await zone.exists(rawKeyFor('42', '9002', 'tcx'))).toBe(false);
  });

  it('stores a body that is already gzip once-compressed, hashing the payload inside', async () => {
    const zone = createRawZone(root);
    const payload = Buffer.from('<TrainingCenterDatabase/>');
    const gz = gzipSync(payload);
    const key = rawKeyFor('42', '1', 'tcx');
    const stored = await zone.put(key, Readable.from([gz.subarray(0, 1), gz.subarray(1)]));
    expect(stored.sha256).toBe(sha(payload));
    expect(stored.bytes).toBe(payload.length);
    expect(await readFile(join(root, key))).toEqual(gz);
    expect(await text(zone.open(key))).toBe(payload.toString());
  });

  it('refuses a body with the gzip magic that does not decompress, leaving nothing behind', async () => {
    const zone = createRawZone(root);
    const key = rawKeyFor('42', '1', 'tcx');
    const bogus = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(4096, 7)]);
    await expect(zone.put(key, Readable.from([bogus]))).rejects.toBeInstanceOf(RawZoneCorruptGzipError);
    expect(await zone.exists(key)).toBe(false);
    expect(await allFiles(root)).toEqual([]);
  });

  it('a failing source stream leaves neither the object nor a temp file', async () => {
    const zone = createRawZone(root);
    const key = rawKeyFor('42', '1', 'fit');
    async function* broken() {
      yield Buffer.from('partial');
      throw new Error('connection reset mid-body');
    }
    await expect(zone.put(key, Readable.from(broken()))).rejects.toMatchObject({ code: 'PL_RAW_WRITE_FAILED' });
    expect(await zone.exists(key)).toBe(false);
    expect(await allFiles(root)).toEqual([]);
  });

  it('putting the same key again is idempotent and an empty body is a valid payload', async () => {
    const zone = createRawZone(root);
    const key = rawKeyFor('7', 'ab_C-1', 'summary');
    const a = await zone.put(key, Buffer.from('{"id":1}'));
    const b = await zone.put(key, Buffer.from('{"id":1}'));
    expect(b.sha256).toBe(a.sha256);
    expect(await text(zone.open(key))).toBe('{"id":1}');
    const empty = await zone.put(rawKeyFor('7', 'e', 'gpx'), Buffer.alloc(0));
    expect(empty.bytes).toBe(0);
    const listed: string[] = [];
    for await (const k of zone.list('raw/exercises/user_id=7/')) listed.push(k);
    expect(listed.sort()).toEqual([rawKeyFor('7', 'ab_C-1', 'summary'), rawKeyFor('7', 'e', 'gpx')].sort());
  });
});

describe('raw zone > ids and keys', () => {
  it.each(['../etc', 'a/b', '', 'x'.repeat(65), 'a b', 'a.b', '%2e%2e'])('refuses the id %j', (bad) => {
    expect(() => rawKeyFor(bad, '1', 'tcx')).toThrow(InvalidRawIdError);
    expect(() => rawKeyFor('1', bad, 'tcx')).toThrow(InvalidRawIdError);
  });

  it.each(['../x.gz', 'raw/../../x', '/abs/x', 'raw//x', 'raw/x.tmp-123', 'raw\\x'])('refuses the key %j', async (bad) => {
    const zone = createRawZone(root);
    await expect(zone.put(bad, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidRawKeyError);
  });
});

describe('raw zone > key layout', () => {
  it('parseRawKey inverts rawKeyFor and rawDailyKeyFor, and refuses other shapes', async () => {
    const { parseRawKey, rawKeyFor, rawDailyKeyFor } = await import('../../src/lake/raw-zone.ts');
    expect(parseRawKey(rawKeyFor('475', 'aB3xYz9Q', 'tcx'))).toEqual({ area: 'exercises', userId: '475', exerciseId: 'aB3xYz9Q', payload: 'tcx' });
    expect(parseRawKey(rawKeyFor('475', '56', 'summary'))).toMatchObject({ payload: 'summary' });
    expect(parseRawKey(rawDailyKeyFor('475', 'sleep', '2026-01-31'))).toEqual({ area: 'daily', userId: '475', date: '2026-01-31', payload: 'sleep' });
    expect(parseRawKey('raw/exercises/user_id=1/exercise_id=2/notes.txt.gz')).toBeNull();
    expect(parseRawKey('raw/exercises/user_id=1/exercise_id=../tcx.tcx.gz')).toBeNull();
  });
});
