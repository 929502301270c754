/**
 * The raw zone: every payload fetched from AccessLink, kept forever as gzip, the source of
 * truth that `replay` rebuilds the tables from.
 *
 * `put` streams the body through gzip into `<key>.tmp-<random>`, fsyncs it, renames it into
 * place and fsyncs the directory: after `put` resolves the object survives a crash, and a
 * crash before that leaves at most a temp file, never a half object under the real key.
 * Writing the same key again replaces the object (same content → same object: idempotent).
 * A body that already starts with the gzip magic (a TCX may come gzipped) is stored as is,
 * not gzipped twice; its sha256 is still taken over the decompressed payload.
 *
 * Key layout: `raw/exercises/user_id=<uid>/exercise_id=<id>/<payload>.<ext>.gz`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { PolarLakeError } from '../errors.ts';
import type { DailyKind, PayloadKind } from '../records/envelope.ts';
import { fsyncDir } from '../state/atomic-file.ts';

export interface StoredObject {
  readonly key: string;
  /** Bytes of the uncompressed payload. */
  readonly bytes: number;
  /** Bytes of the gzip object on disk. */
  readonly storedBytes: number;
  /** sha256 (hex) of the uncompressed payload. */
  readonly sha256: string;
}

export interface RawZone {
  readonly rootDir: string;
  put(key: string, body: Readable | Buffer): Promise<StoredObject>;
  /** The decompressed payload. */
  open(key: string): Readable;
  /** The stored gzip bytes as they are: for readers that gunzip themselves and want gzip errors with byte offsets. */
  openStored(key: string): Readable;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix (`raw/exercises/user_id=1/`), in no particular order. Temp files are skipped. */
  list(prefix?: string): AsyncIterable<string>;
}

export class InvalidRawIdError extends PolarLakeError {
  readonly code = 'PL_RAW_INVALID_ID';
  readonly kind = 'terminal';
  constructor(readonly field: string, readonly value: string) {
    super(`invalid ${field} ${JSON.stringify(value.slice(0, 80))}: ids must match ^[A-Za-z0-9_-]{1,64}$ (they become path segments)`);
  }
}

export class InvalidRawKeyError extends PolarLakeError {
  readonly code = 'PL_RAW_INVALID_KEY';
  readonly kind = 'terminal';
  constructor(readonly key: string) {
    super(`invalid raw zone key ${JSON.stringify(key.slice(0, 200))}`);
  }
}

export class RawZoneWriteError extends PolarLakeError {
  readonly code = 'PL_RAW_WRITE_FAILED';
  readonly kind = 'transient';
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`could not store raw object ${key}`, options);
  }
}

export class RawZoneCorruptGzipError extends PolarLakeError {
  readonly code = 'PL_RAW_CORRUPT_GZIP';
  readonly kind = 'terminal';
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`body of ${key} starts with the gzip magic but does not decompress`, options);
  }
}

export const PAYLOAD_EXTENSIONS: Readonly<Record<PayloadKind, string>> = { summary: 'json', tcx: 'tcx', gpx: 'gpx', fit: 'fit', activity: 'json', sleep: 'json', hrm: 'hrm', ppt: 'xml', flow: 'json' };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Safe path segments: no `..`, no empty segment, no backslash, nothing hidden. */
const KEY = /^(?:[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,127}\/)*[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,127}$/;
const TMP_MARK = '.tmp-';

export function validateRawId(field: string, value: string): string {
  if (!ID.test(value)) throw new InvalidRawIdError(field, value);
  return value;
}

export function rawKeyFor(userId: string, exerciseId: string, payload: PayloadKind): string {
  validateRawId('user id', userId);
  validateRawId('exercise id', exerciseId);
  const ext = PAYLOAD_EXTENSIONS[payload];
  if (!ext) throw new InvalidRawIdError('payload', String(payload));
  return `raw/exercises/user_id=${userId}/exercise_id=${exerciseId}/${payload}.${ext}.gz`;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Key of one user's daily payload for one local date. A re-sync of the same day is stored
 * under the same key: the raw zone keeps the latest version of a day (the API itself only
 * ever shows the latest), and the same key gives the same source_id, so the sink replaces
 * the day's row instead of adding one.
 */
export function rawDailyKeyFor(userId: string, kind: DailyKind, date: string): string {
  validateRawId('user id', userId);
  if (kind !== 'activity' && kind !== 'sleep') throw new InvalidRawIdError('daily kind', String(kind));
  if (!DATE.test(date)) throw new InvalidRawIdError('date', date);
  return `raw/daily/${kind}/user_id=${userId}/date=${date}/${kind}.json.gz`;
}

export type ParsedRawKey =
  | { readonly area: 'exercises'; readonly userId: string; readonly exerciseId: string; readonly payload: PayloadKind }
  | { readonly area: 'daily'; readonly userId: string; readonly date: string; readonly payload: DailyKind };

const EXERCISE_KEY = /^raw\/exercises\/user_id=([A-Za-z0-9_-]{1,64})\/exercise_id=([A-Za-z0-9_-]{1,64})\/(summary|tcx|gpx|fit|hrm|ppt|flow)\.[a-z]+\.gz$/;
const DAILY_KEY = /^raw\/daily\/(activity|sleep)\/user_id=([A-Za-z0-9_-]{1,64})\/date=(\d{4}-\d{2}-\d{2})\/[a-z]+\.json\.gz$/;

/** The inverse of rawKeyFor / rawDailyKeyFor; null for a key of neither shape. */
export function parseRawKey(key: string): ParsedRawKey | null {
  const e = EXERCISE_KEY.exec(key);
  if (e) return { area: 'exercises', userId: e[1] as string, exerciseId: e[2] as string, payload: e[3] as PayloadKind };
  const d = DAILY_KEY.exec(key);
  if (d) return { area: 'daily', userId: d[2] as string, date: d[3] as string, payload: d[1] as DailyKind };
  return null;
}

function checkKey(key: string): string {
  if (!KEY.test(key) || key.includes('..') || key.includes(TMP_MARK)) throw new InvalidRawKeyError(key);
  return key;
}

/** Hashes and counts what flows through, untouched. */
class Measure extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/**
 * Passes the stored (already gzip) bytes through untouched while a side gunzip hashes the
 * payload. The side stream is awaited on flush, so a body that is not valid gzip fails
 * the put instead of landing in the zone.
 */
class GzipPassThroughMeasure extends Transform {
  private readonly gunzip = createGunzip();
  private readonly measure = new Measure();
  private readonly done: Promise<void>;
  constructor() {
    super();
    this.done = new Promise((resolve, reject) => {
      this.gunzip.on('error', reject);
      this.measure.on('error', reject);
      this.measure.on('end', () => resolve());
      this.gunzip.pipe(this.measure);
      this.measure.resume();
    });
    // Awaited in _flush; this keeps an early rejection from being reported as unhandled.
    this.done.catch(() => undefined);
  }
  get sha256(): string {
    return this.measure.hash.digest('hex');
  }
  get bytes(): number {
    return this.measure.bytes;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.gunzip.write(chunk)) {
      callback(null, chunk);
      return;
    }
    // Racing `done` keeps a corrupt body from waiting forever for a drain that never comes.
    Promise.race([once(this.gunzip, 'drain'), this.done]).then(() => callback(null, chunk), (error: unknown) => callback(error as Error));
  }
  override _flush(callback: TransformCallback): void {
    this.gunzip.end();
    this.done.then(() => callback(), (error: unknown) => callback(error as Error));
  }
}

/** Reads the first bytes of a stream to decide, then hands back a stream of everything. */
async function peek(body: Readable, count: number): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < count) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    chunks.push(chunk);
    length += chunk.length;
  }
  const head = Buffer.concat(chunks);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    }
  }
  return { head, stream: Readable.from(rest(), { objectMode: false }) };
}

export function createRawZone(rootDir: string): RawZone {
  const pathOf = (key: string) => join(rootDir, ...checkKey(key).split('/'));

  return {
    rootDir,

    async put(key, body) {
      const finalPath = pathOf(key);
      const dir = dirname(finalPath);
      const tmpPath = `${finalPath}${TMP_MARK}${randomBytes(6).toString('hex')}`;
      const { head, stream } = Buffer.isBuffer(body) ? { head: body.subarray(0, 2), stream: Readable.from([body]) } : await peek(body, 2);
      const alreadyGzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
      const written = new Measure();
      try {
        await mkdir(dir, { recursive: true });
        let sha256: string;
        let bytes: number;
        if (alreadyGzip) {
          const side = new GzipPassThroughMeasure();
          await pipeline(stream, side, written, createWriteStream(tmpPath, { flags: 'wx' }));
          sha256 = side.sha256;
          bytes = side.bytes;
        } else {
          const payload = new Measure();
          await pipeline(stream, payload, createGzip(), written, createWriteStream(tmpPath, { flags: 'wx' }));
          sha256 = payload.hash.digest('hex');
          bytes = payload.bytes;
        }
        const handle = await open(tmpPath, 'r+');
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(tmpPath, finalPath);
        await fsyncDir(dir);
        return { key, bytes, storedBytes: written.bytes, sha256 };
      } catch (error) {
        await unlink(tmpPath).catch(() => undefined);
        if (error instanceof PolarLakeError) throw error;
        const code = (error as { code?: unknown }).code;
        if (alreadyGzip && typeof code === 'string' && code.startsWith('Z_')) throw new RawZoneCorruptGzipError(key, { cause: error });
        throw new RawZoneWriteError(key, { cause: error });
      }
    },

    open(key) {
      const source = createReadStream(pathOf(key));
      const gunzip = createGunzip();
      source.on('error', (error) => gunzip.destroy(error));
      return source.pipe(gunzip);
    },

    openStored(key) {
      return createReadStream(pathOf(key));
    },

    async exists(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },

    list(prefix = '') {
      // The walk starts at the deepest whole directory of the prefix and filters the rest.
      const cut = prefix.lastIndexOf('/');
      const dirPart = cut < 0 ? '' : prefix.slice(0, cut);
      if (dirPart !== '') checkKey(dirPart);
      async function* walk(relDir: string): AsyncGenerator<string> {
        let entries;
        try {
          entries = await readdir(relDir === '' ? rootDir : join(rootDir, ...relDir.split('/')), { withFileTypes: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw error;
        }
        for (const entry of entries) {
          const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
          if (entry.isDirectory()) {
            if (rel.startsWith(prefix) || prefix.startsWith(rel + '/')) yield* walk(rel);
          } else if (entry.isFile() && !entry.name.includes(TMP_MARK) && rel.startsWith(prefix)) {
            yield rel;
          }
        }
      }
      return walk(dirPart);
    },
  };
}
