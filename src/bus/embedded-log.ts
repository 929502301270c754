/**
 * Storage for one topic-partition of the embedded bus: an in-memory array, or an
 * append-only log on disk for the durable variant.
 *
 * The disk log is a list of segment files named by their first offset
 * (`00000000000000000000.log`), each a sequence of frames:
 *
 *   u32 body_bytes | u32 crc32(body) | body = u32 key_bytes | key | u32 headers_bytes | headers JSON | value
 *
 * Only a sparse index (one position per INDEX_EVERY records) stays in memory; payloads are
 * read back from disk, so memory does not grow with the topic. A publish is one write plus
 * one fdatasync, so a crash loses nothing that `append` resolved for. A crash in the middle
 * of a write leaves a torn frame at the end of the last segment, which `open` cuts off.
 */
import { crc32 } from 'node:zlib';
import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { syncFolder } from '../fs/durable.ts';
import { BusLogCorruptError } from './errors.ts';

export interface StoredMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PartitionLog {
  /** The first offset still stored (0 until retention deletes acknowledged segments). */
  readonly startOffset: number;
  /** The offset the next appended message gets (= number of messages ever appended). */
  readonly endOffset: number;
  /**
   * Deletes whole segments whose every message is below `offset` (acknowledged by every
   * group) and whose last append is before `appendedBeforeMs`, never the segment being
   * appended to. Resolves with the messages deleted.
   */
  trimBefore(offset: number, appendedBeforeMs: number): Promise<number>;
  append(messages: readonly StoredMessage[]): Promise<void>;
  /** Up to `maxMessages` messages from `fromOffset`, stopping past `maxBytes` (always at least one). */
  read(fromOffset: number, maxMessages: number, maxBytes: number): Promise<StoredMessage[]>;
  close(): Promise<void>;
}

export class MemoryPartitionLog implements PartitionLog {
  private readonly messages: StoredMessage[] = [];

  readonly startOffset = 0;

  get endOffset(): number {
    return this.messages.length;
  }

  /** The memory variant lives as long as the process: nothing to reclaim on disk. */
  async trimBefore(): Promise<number> {
    return 0;
  }

  async append(messages: readonly StoredMessage[]): Promise<void> {
    this.messages.push(...messages);
  }

  async read(fromOffset: number, maxMessages: number, maxBytes: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let bytes = 0;
    for (let o = fromOffset; o < this.messages.length && out.length < maxMessages; o++) {
      const m = this.messages[o]!;
      if (out.length > 0 && bytes + m.value.length > maxBytes) break;
      bytes += m.value.length;
      out.push(m);
    }
    return out;
  }

  async close(): Promise<void> {}
}

const FRAME_HEADER_BYTES = 8;
const INDEX_EVERY = 64;
const READ_CHUNK_BYTES = 256 * 1024;
/** A frame claiming more than this is garbage, not a record (the bus never writes one). */
const MAX_FRAME_BYTES = 512 * 1024 * 1024;

interface Segment {
  readonly baseOffset: number;
  readonly file: string;
  handle: FileHandle;
  /** Bytes of complete, synced frames. */
  size: number;
  /** Number of records in the segment. */
  count: number;
  /** When the segment was last appended to (file mtime after a restart), for retention. */
  lastAppendMs: number;
  /** index[i] = file position of record baseOffset + i * INDEX_EVERY. */
  readonly index: number[];
}

export interface FilePartitionLogOptions {
  /** Roll to a new segment file once the current one reaches this size. @default 64 MiB */
  readonly segmentBytes?: number;
  /** Called when `open` cuts a torn tail off the last segment (after a crash mid-write). */
  readonly onTornTail?: (file: string, keptBytes: number, droppedBytes: number) => void;
}

export function encodeFrame(message: StoredMessage): Buffer {
  const key = Buffer.from(message.key, 'utf8');
  const headers = Buffer.from(JSON.stringify(message.headers), 'utf8');
  const body = Buffer.allocUnsafe(4 + key.length + 4 + headers.length + message.value.length);
  let p = body.writeUInt32BE(key.length, 0);
  p += key.copy(body, p);
  p = body.writeUInt32BE(headers.length, p);
  p += headers.copy(body, p);
  message.value.copy(body, p);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  frame.writeUInt32BE(body.length, 0);
  frame.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([frame, body]);
}

function decodeBody(body: Buffer): StoredMessage {
  const keyBytes = body.readUInt32BE(0);
  const key = body.toString('utf8', 4, 4 + keyBytes);
  const headersAt = 4 + keyBytes;
  const headersBytes = body.readUInt32BE(headersAt);
  const headers = JSON.parse(body.toString('utf8', headersAt + 4, headersAt + 4 + headersBytes)) as Record<string, string>;
  // Copy: the body may be a slice of a shared read buffer.
  const value = Buffer.from(body.subarray(headersAt + 4 + headersBytes));
  return { key, value, headers };
}

function segmentName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.log`;
}

export class FilePartitionLog implements PartitionLog {
  private readonly segments: Segment[] = [];
  private appending: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  static async open(dir: string, options: FilePartitionLogOptions = {}): Promise<FilePartitionLog> {
    await mkdir(dir, { recursive: true });
    const log = new FilePartitionLog(dir, options.segmentBytes ?? 64 * 1024 * 1024);
    const names = (await readdir(dir)).filter((n) => /^\d{20}\.log$/.test(n)).sort();
    for (const [i, name] of names.entries()) {
      const isLast = i === names.length - 1;
      const segment = await log.scanSegment(join(dir, name), Number(name.slice(0, 20)), isLast, options.onTornTail);
      // Retention may have deleted the first segments: the oldest kept one sets the start.
      const expectedBase = i === 0 ? segment.baseOffset : log.endOffset;
      if (segment.baseOffset !== expectedBase) {
        await segment.handle.close();
        throw new BusLogCorruptError(`segment starts at offset ${segment.baseOffset}, expected ${expectedBase}`, segment.file, 0);
      }
      log.segments.push(segment);
    }
    if (log.segments.length === 0) await log.createSegment(0);
    return log;
  }

  get startOffset(): number {
    return this.segments[0]?.baseOffset ?? 0;
  }

  get endOffset(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.baseOffset + last.count : 0;
  }

  trimBefore(offset: number, appendedBeforeMs: number): Promise<number> {
    // Serialised with appends, so the segment being rolled is never the one deleted.
    const next = this.appending.then(async () => {
      let deleted = 0;
      while (this.segments.length > 1) {
        const first = this.segments[0]!;
        if (first.baseOffset + first.count > offset || first.lastAppendMs >= appendedBeforeMs) break;
        this.segments.shift();
        await first.handle.close();
        await unlink(first.file);
        deleted += first.count;
      }
      if (deleted > 0) await syncFolder(this.dir);
      return deleted;
    });
    this.appending = next.then(() => undefined, () => undefined);
    return next;
  }

  append(messages: readonly StoredMessage[]): Promise<void> {
    // Appends are serialised: each one sees the previous one's end position.
    const next = this.appending.then(() => this.appendNow(messages));
    this.appending = next.catch(() => undefined);
    return next;
  }

  async read(fromOffset: number, maxMessages: number, maxBytes: number): Promise<StoredMessage[]> {
    const out: StoredMessage[] = [];
    let bytes = 0;
    let offset = fromOffset;
    while (out.length < maxMessages && offset < this.endOffset) {
      const segment = this.segmentFor(offset);
      if (!segment) break;
      const indexSlot = Math.floor((offset - segment.baseOffset) / INDEX_EVERY);
      let position = segment.index[indexSlot]!;
      let at = segment.baseOffset + indexSlot * INDEX_EVERY;
      // Snapshot: a concurrent append may grow the segment; read only what was there.
      const end = segment.size;
      const segmentEndOffset = segment.baseOffset + segment.count;
      let buffer: Buffer = Buffer.alloc(0);
      let bufferStart = position;
      while (at < segmentEndOffset && out.length < maxMessages && position < end) {
        const frame = await this.frameAt(segment, position, end, buffer, bufferStart);
        buffer = frame.buffer;
        bufferStart = frame.bufferStart;
        if (at >= offset) {
          const message = decodeBody(frame.body);
          if (out.length > 0 && bytes + message.value.length > maxBytes) return out;
          bytes += message.value.length;
          out.push(message);
        }
        position += FRAME_HEADER_BYTES + frame.body.length;
        at++;
      }
      if (at <= offset) break;
      offset = at;
      if (out.length > 0 && bytes >= maxBytes) break;
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appending;
    for (const s of this.segments) await s.handle.close();
  }

  private segmentFor(offset: number): Segment | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (s.baseOffset <= offset) return offset < s.baseOffset + s.count ? s : undefined;
    }
    return undefined;
  }

  /** The frame body at `position`, reading ahead in chunks so small frames cost one read each chunk. */
  private async frameAt(
    segment: Segment,
    position: number,
    end: number,
    buffer: Buffer,
    bufferStart: number,
  ): Promise<{ body: Buffer; buffer: Buffer; bufferStart: number }> {
    const ensure = async (from: number, length: number): Promise<void> => {
      if (from >= bufferStart && from + length <= bufferStart + buffer.length) return;
      const want = Math.min(Math.max(length, READ_CHUNK_BYTES), end - from);
      const fresh = Buffer.allocUnsafe(want);
      const { bytesRead } = await segment.handle.read(fresh, 0, want, from);
      buffer = fresh.subarray(0, bytesRead);
      bufferStart = from;
      if (bytesRead < length) throw new BusLogCorruptError('short read inside the synced part of the segment', segment.file, from);
    };
    await ensure(position, FRAME_HEADER_BYTES);
    const bodyBytes = buffer.readUInt32BE(position - bufferStart);
    await ensure(position + FRAME_HEADER_BYTES, bodyBytes);
    const from = position + FRAME_HEADER_BYTES - bufferStart;
    return { body: buffer.subarray(from, from + bodyBytes), buffer, bufferStart };
  }

  private async appendNow(messages: readonly StoredMessage[]): Promise<void> {
    if (this.closed) throw new Error('partition log closed');
    if (messages.length === 0) return;
    let segment = this.segments[this.segments.length - 1]!;
    if (segment.size >= this.segmentBytes) segment = await this.createSegment(this.endOffset);
    const frames = messages.map(encodeFrame);
    const data = Buffer.concat(frames);
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await segment.handle.write(data, written, data.length - written, segment.size + written);
      written += bytesWritten;
    }
    // fdatasync before the caller hears "published": this is the durability promise.
    await segment.handle.datasync();
    let position = segment.size;
    for (const frame of frames) {
      if (segment.count % INDEX_EVERY === 0) segment.index.push(position);
      position += frame.length;
      segment.count++;
    }
    segment.size = position;
    segment.lastAppendMs = Date.now();
  }

  private async createSegment(baseOffset: number): Promise<Segment> {
    const file = join(this.dir, segmentName(baseOffset));
    const handle = await open(file, 'wx+');
    // The new directory entry must survive a crash too, not just the bytes.
    await syncFolder(this.dir);
    const segment: Segment = { baseOffset, file, handle, size: 0, count: 0, index: [], lastAppendMs: Date.now() };
    this.segments.push(segment);
    return segment;
  }

  private async scanSegment(
    file: string,
    baseOffset: number,
    isLast: boolean,
    onTornTail: FilePartitionLogOptions['onTornTail'],
  ): Promise<Segment> {
    const handle = await open(file, 'r+');
    const { size: fileBytes, mtimeMs } = await handle.stat();
    const segment: Segment = { baseOffset, file, handle, size: 0, count: 0, index: [], lastAppendMs: mtimeMs };
    let position = 0;
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    while (position < fileBytes) {
      const torn = async (reason: string): Promise<Segment> => {
        if (!isLast) {
          await handle.close();
          throw new BusLogCorruptError(reason, file, position);
        }
        // A crash during the last write: nothing after this point was ever acknowledged.
        await handle.truncate(position);
        await handle.sync();
        onTornTail?.(file, position, fileBytes - position);
        return segment;
      };
      if (fileBytes - position < FRAME_HEADER_BYTES) return torn('partial frame header');
      await handle.read(header, 0, FRAME_HEADER_BYTES, position);
      const bodyBytes = header.readUInt32BE(0);
      if (bodyBytes > MAX_FRAME_BYTES || position + FRAME_HEADER_BYTES + bodyBytes > fileBytes) return torn('partial frame body');
      const body = Buffer.allocUnsafe(bodyBytes);
      await handle.read(body, 0, bodyBytes, position + FRAME_HEADER_BYTES);
      if (crc32(body) !== header.readUInt32BE(4)) return torn('frame checksum mismatch');
      if (segment.count % INDEX_EVERY === 0) segment.index.push(position);
      segment.count++;
      position += FRAME_HEADER_BYTES + bodyBytes;
      segment.size = position;
    }
    return segment;
  }
}

