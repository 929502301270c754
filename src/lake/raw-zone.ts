/**
 * The raw zone: every payload fetched from AccessLink, kept forever as gzip, the source of
 * truth that `replay` rebuilds the tables from.
 *
 * `put` streams the body through gzip into `<key>.tmp-<pid>-<random>`, fsyncs it, renames it into
 * place and fsyncs the directory (src/fs/durable.ts): after `put` resolves the object survives a
 * crash, and a crash before that leaves at most a temp file, never a half object under the key.
 * Writing the same key again replaces the object (same content → same object: idempotent).
 * A body that already starts with the gzip magic (a TCX may come gzipped) is stored as is,
 * not gzipped twice; its sha256 is still taken over the decompressed payload.
 *
 * Key layout: `raw/exercises/user_id=<uid>/exercise_id=<id>/<payload>.<ext>.gz`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { PolarLakeError, type ErrorKind } from '../errors.ts';
import { diskCauseOf, type DiskCauseCode } from './disk-cause.ts';
import { ACTIVITY_PART_KINDS, DAILY_KINDS, isActivityPartKind, isDailyKind, type DailyKind, type DatedKind, type PayloadKind } from '../records/envelope.ts';
import { isStaleTemporary, isTemporaryName, renameDurable, tempPathFor } from '../fs/durable.ts';

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
  /**
   * Removes the temp files (`<key>.tmp-<pid>-<random>`) that a crashed writer left: those of
   * a process that is no longer alive (and of the old `tmp-<random>` naming). A live writer's,
   * another process's included, are kept. Returns the paths removed, relative to the root.
   */
  removeStaleTemporaries(): Promise<string[]>;
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

export type RawWriteCode = 'PL_RAW_WRITE_FAILED' | 'PL_RAW_DISK_FULL' | 'PL_RAW_READ_ONLY' | 'PL_RAW_PERMISSION_DENIED';

/**
 * A raw object could not be written. `rawZoneWriteError` picks the subclass that names the
 * disk's cause (full, read-only, permission denied), and the message carries the OS's words.
 * Either way nothing half-written is left under the key.
 */
export class RawZoneWriteError extends PolarLakeError {
  readonly code: RawWriteCode = 'PL_RAW_WRITE_FAILED';
  readonly kind: ErrorKind = 'transient';
  /** ENOSPC, EROFS or EACCES when the disk said so. */
  readonly errno: DiskCauseCode | undefined;
  constructor(readonly key: string, options?: { cause?: unknown }) {
    const disk = diskCauseOf(options?.cause);
    const detail = options?.cause instanceof Error ? options.cause.message : undefined;
    super(`could not store raw object ${key}${disk ? `: ${disk.what} (${disk.errno})` : ''}${detail ? `: ${detail}` : ''}`, options);
    this.errno = disk?.errno;
  }
}

/** ENOSPC / EDQUOT: may clear when space is freed, so the transaction stays open and is retried. */
export class RawZoneDiskFullError extends RawZoneWriteError {
  override readonly code: RawWriteCode = 'PL_RAW_DISK_FULL';
  override readonly kind: ErrorKind = 'transient';
}

/** EROFS: the raw zone's file system is mounted read-only; an operator must act. */
export class RawZoneReadOnlyError extends RawZoneWriteError {
  override readonly code: RawWriteCode = 'PL_RAW_READ_ONLY';
  override readonly kind: ErrorKind = 'config';
}

/** EACCES / EPERM: the process may not write there; an operator must act. */
export class RawZonePermissionError extends RawZoneWriteError {
  override readonly code: RawWriteCode = 'PL_RAW_PERMISSION_DENIED';
  override readonly kind: ErrorKind = 'config';
}

/** The write error that names `cause`'s disk condition. */
export function rawZoneWriteError(key: string, cause: unknown): RawZoneWriteError {
  switch (diskCauseOf(cause)?.errno) {
    case 'ENOSPC': return new RawZoneDiskFullError(key, { cause });
    case 'EROFS': return new RawZoneReadOnlyError(key, { cause });
    case 'EACCES': return new RawZonePermissionError(key, { cause });
    default: return new RawZoneWriteError(key, { cause });
  }
}

export class RawZoneCorruptGzipError extends PolarLakeError {
  readonly code = 'PL_RAW_CORRUPT_GZIP';
  readonly kind = 'terminal';
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`body of ${key} starts with the gzip magic but does not decompress`, options);
  }
}

export const PAYLOAD_EXTENSIONS: Readonly<Record<PayloadKind, string>> = {
  summary: 'json', tcx: 'tcx', gpx: 'gpx', fit: 'fit', samples: 'json', zones: 'json', route: 'json', hrm: 'hrm', ppt: 'xml', flow: 'json',
  ...(Object.fromEntries(DAILY_KINDS.map((k) => [k, 'json'])) as Record<DailyKind, string>),
  activity_steps: 'json', activity_zones: 'json', physical: 'json',
};

const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Safe path segments: no `..`, no empty segment, no backslash, nothing hidden. */
const KEY = /^(?:[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,127}\/)*[A-Za-z0-9_=-][A-Za-z0-9_.=-]{0,127}$/;

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
export function rawDailyKeyFor(userId: string, kind: DatedKind, date: string): string {
  validateRawId('user id', userId);
  if (!isDailyKind(kind) && !isActivityPartKind(kind)) throw new InvalidRawIdError('daily kind', String(kind));
  if (!DATE.test(date)) throw new InvalidRawIdError('date', date);
  return `raw/daily/${kind}/user_id=${userId}/date=${date}/${kind}.json.gz`;
}

const SNAPSHOT = /^\d{8}T\d{6}(?:\d{1,6})?Z?$/;

/**
 * Key of one physical-information snapshot. AccessLink keeps no history of it: each
 * snapshot is named by its own `modified` (else `created`) instant, compacted to
 * `YYYYMMDDTHHMMSS[fff]`, so the same snapshot seen again maps to the same key and the same
 * row, and a changed one gets a new key and a new row.
 */
export function rawPhysicalKeyFor(userId: string, snapshot: string): string {
  validateRawId('user id', userId);
  if (!SNAPSHOT.test(snapshot)) throw new InvalidRawIdError('snapshot', snapshot);
  return `raw/physical/user_id=${userId}/snapshot=${snapshot}/physical.json.gz`;
}

export type ParsedRawKey =
  | { readonly area: 'exercises'; readonly userId: string; readonly exerciseId: string; readonly payload: PayloadKind }
  | { readonly area: 'daily'; readonly userId: string; readonly date: string; readonly payload: DatedKind }
  | { readonly area: 'physical'; readonly userId: string; readonly snapshot: string; readonly payload: 'physical' };

const EXERCISE_KEY = /^raw\/exercises\/user_id=([A-Za-z0-9_-]{1,64})\/exercise_id=([A-Za-z0-9_-]{1,64})\/(summary|tcx|gpx|fit|samples|zones|route|hrm|ppt|flow)\.[a-z]+\.gz$/;
const PHYSICAL_KEY = /^raw\/physical\/user_id=([A-Za-z0-9_-]{1,64})\/snapshot=([0-9TZ]{15,24})\/physical\.json\.gz$/;
const DAILY_KEY = new RegExp(`^raw/daily/(${[...DAILY_KINDS, ...ACTIVITY_PART_KINDS].join('|')})/user_id=([A-Za-z0-9_-]{1,64})/date=(\\d{4}-\\d{2}-\\d{2})/[a-z_]+\\.json\\.gz$`);

/** The inverse of rawKeyFor / rawDailyKeyFor; null for a key of neither shape. */
export function parseRawKey(key: string): ParsedRawKey | null {
  const e = EXERCISE_KEY.exec(key);
  if (e) return { area: 'exercises', userId: e[1] as string, exerciseId: e[2] as string, payload: e[3] as PayloadKind };
  const d = DAILY_KEY.exec(key);
  if (d) return { area: 'daily', userId: d[2] as string, date: d[3] as string, payload: d[1] as DatedKind };
  const p = PHYSICAL_KEY.exec(key);
  if (p) return { area: 'physical', userId: p[1] as string, snapshot: p[2] as string, payload: 'physical' };
  return null;
}

function checkKey(key: string): string {
  if (!KEY.test(key) || key.includes('..') || isTemporaryName(key)) throw new InvalidRawKeyError(key);
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

  /** The entries of a folder of the zone (`relDir` '' is the root); none when it does not exist. */
  async function entriesOf(relDir: string) {
    try {
      return await readdir(relDir === '' ? rootDir : join(rootDir, ...relDir.split('/')), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  return {
    rootDir,

    async put(key, body) {
      const finalPath = pathOf(key);
      const dir = dirname(finalPath);
      const tmpPath = tempPathFor(finalPath);
      const { head, stream } = Buffer.isBuffer(body) ? { head: body.subarray(0, 2), stream: Readable.from([body]) } : await peek(body, 2);
      const alreadyGzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
      const written = new Measure();
      try {
        await mkdirWithCause(dir);
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
        await renameDurable(tmpPath, finalPath, { crashPoint: 'raw.write', error: (cause) => rawZoneWriteError(key, cause) });
        return { key, bytes, storedBytes: written.bytes, sha256 };
      } catch (error) {
        await unlink(tmpPath).catch(() => undefined);
        if (error instanceof PolarLakeError) throw error;
        const code = (error as { code?: unknown }).code;
        if (alreadyGzip && typeof code === 'string' && code.startsWith('Z_')) throw new RawZoneCorruptGzipError(key, { cause: error });
        throw rawZoneWriteError(key, error);
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
        for (const entry of await entriesOf(relDir)) {
          const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
          if (entry.isDirectory()) {
            if (rel.startsWith(prefix) || prefix.startsWith(rel + '/')) yield* walk(rel);
          } else if (entry.isFile() && !isTemporaryName(entry.name) && rel.startsWith(prefix)) {
            yield rel;
          }
        }
      }
      return walk(dirPart);
    },

    async removeStaleTemporaries() {
      const removed: string[] = [];
      async function sweep(relDir: string): Promise<void> {
        for (const entry of await entriesOf(relDir)) {
          const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
          if (entry.isDirectory()) await sweep(rel);
          else if (entry.isFile() && isStaleTemporary(entry.name)) {
            await unlink(join(rootDir, ...rel.split('/'))).catch((error: NodeJS.ErrnoException) => {
              if (error.code !== 'ENOENT') throw error;
            });
            removed.push(rel);
          }
        }
      }
      await sweep('raw');
      return removed;
    },
  };
}

/**
 * mkdir -p that reports the real cause: Node's recursive mkdir says ENOENT when a parent
 * cannot be created on a read-only file system, so the first missing level is made again
 * alone, which fails with EROFS (or EACCES, ENOSPC) as it should.
 */
async function mkdirWithCause(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let missing = dir;
    for (let parent = dirname(missing); parent !== missing; missing = parent, parent = dirname(parent)) {
      if (await stat(parent).then(() => true, () => false)) break;
    }
    await mkdir(missing);
    throw error;
  }
}

