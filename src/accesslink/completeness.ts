/**
 * Is a downloaded file whole? A body can end cleanly but early (a chunked response whose
 * terminator comes too soon carries no length to compare), so each kind is checked by what
 * it is, as the bytes stream past on their way to the raw zone:
 *
 * - TCX / GPX: the fast tokenizer (src/parse/xml/fast.ts) with a handler that extracts
 *   nothing, over the body gunzipped when it starts with the gzip magic: the document must end
 *   on its root's closing tag. A document that is malformed in the middle is not incomplete:
 *   it is what the API has, stored as is for the parser to dead-letter with its position.
 * - FIT: every (chained) file's header size, declared data size and trailing CRC-16.
 *
 * A checker never throws while bytes flow; `end()` says why the body is incomplete, or null.
 */
import { createGunzip, type Gunzip } from 'node:zlib';
import { createFastTokenizer } from '../parse/xml/fast.ts';
import type { XmlHandler } from '../parse/xml/tokenizer.ts';

export interface CompletenessCheck {
  /** Sees the next chunk of the body as received. */
  write(chunk: Buffer): Promise<void>;
  /** The reason the body is incomplete, or null when it is whole (or not the checker's call). */
  end(): Promise<string | null>;
}

export type CheckedFileKind = 'tcx' | 'gpx' | 'fit';

export function createCompletenessCheck(kind: CheckedFileKind): CompletenessCheck {
  return kind === 'fit' ? createFitCheck() : createXmlCheck();
}

/**
 * Extracts nothing: wantsText false skips decoding text, and leaf() takes a whole
 * `<X>text</X>` in one call (the bulk of a workout file), and GPX trkpt attributes stay bytes,
 * so the tokenizer only scans.
 */
const IGNORE: XmlHandler = { open() {}, text() {}, close() {}, textBytes() {}, leaf: () => true, wantsText: false, attributeBytesElement: 'trkpt', openBytes() {} };
/** Well past any real text node: the parser applies the real limit, this only checks the end. */
const CHECK_MAX_TEXT_CHARS = 1 << 30;

/** The fast tokenizer's end() messages that mean the input stopped early. */
const TRUNCATED_AT_END = /unclosed tag|unexpected end|must contain a root/i;

function createXmlCheck(): CompletenessCheck {
  const tokenizer = createFastTokenizer(IGNORE, () => {}, { maxTextChars: CHECK_MAX_TEXT_CHARS });
  let head = Buffer.alloc(0);
  let decided = false; // gzip or not is known
  let gunzip: Gunzip | null = null;
  let gunzipError: Error | null = null;
  let gunzipEnded: Promise<void> | null = null;
  let started = false; // BOM and leading whitespace skipped
  let malformed = false; // a fault mid-document: not the checker's call
  let fed = 0;

  const feed = (bytes: Buffer) => {
    if (malformed || bytes.length === 0) return;
    let chunk = bytes;
    if (!started) {
      let from = 0;
      if (fed === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) from = 3;
      while (from < chunk.length && chunk[from]! <= 32) from++;
      fed += chunk.length;
      if (from === chunk.length) return;
      started = true;
      chunk = chunk.subarray(from);
    }
    try {
      tokenizer.writeBytes(chunk);
    } catch {
      malformed = true;
    }
  };

  const route = async (chunk: Buffer) => {
    if (gunzip) {
      if (gunzipError) return;
      await new Promise<void>((resolve) => gunzip!.write(chunk, () => resolve()));
    } else {
      feed(chunk);
    }
  };

  return {
    async write(chunk) {
      if (!decided) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 2) return;
        decided = true;
        if (head[0] === 0x1f && head[1] === 0x8b) {
          gunzip = createGunzip();
          gunzip.on('data', (c: Buffer) => feed(c));
          gunzipEnded = new Promise<void>((resolve) => {
            gunzip!.on('end', resolve);
            gunzip!.on('error', (error) => {
              gunzipError = error;
              resolve();
            });
          });
        }
        const first = head;
        head = Buffer.alloc(0);
        await route(first);
        return;
      }
      await route(chunk);
    },
    async end() {
      if (!decided) {
        decided = true;
        if (head.length > 0) feed(head);
      }
      if (gunzip) {
        gunzip.end();
        await gunzipEnded;
        const error = gunzipError as (Error & { code?: string }) | null;
        // A gzip stream cut short; other gzip faults are the raw zone's (PL_RAW_CORRUPT_GZIP).
        if (error) return error.code === 'Z_BUF_ERROR' || /unexpected end/i.test(error.message) ? 'gzip stream ends early' : null;
      }
      if (malformed) return null;
      if (!started) return 'no XML content';
      try {
        tokenizer.end();
        return null;
      } catch (error) {
        const message = (error as Error).message;
        // Only an end that comes too soon is a truncation; text outside the root is not XML.
        return TRUNCATED_AT_END.test(message) ? `XML ends before the root's closing tag (${message})` : null;
      }
    },
  };
}

const FIT_CRC_TABLE = [0x0000, 0xcc01, 0xd801, 0x1400, 0xf001, 0x3c00, 0x2800, 0xe401, 0xa001, 0x6c00, 0x7800, 0xb401, 0x5000, 0x9c01, 0x8801, 0x4400];

/** FIT's CRC-16 over `bytes`, continuing from `crc`. Over a whole file with its CRC it is 0. */
export function fitCrc(crc: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = crc;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    let t = FIT_CRC_TABLE[c & 0xf]!;
    c = ((c >> 4) & 0x0fff) ^ t ^ FIT_CRC_TABLE[b & 0xf]!;
    t = FIT_CRC_TABLE[c & 0xf]!;
    c = ((c >> 4) & 0x0fff) ^ t ^ FIT_CRC_TABLE[(b >> 4) & 0xf]!;
  }
  return c;
}

function createFitCheck(): CompletenessCheck {
  let header: number[] = []; // bytes of the header being read
  let headerSize = 0;
  let remaining = 0; // data + CRC bytes left of the current file
  let crc = 0;
  let files = 0;
  let notFit = false; // a header that is not FIT: the parser's call, not a truncation
  let problem: string | null = null;

  const take = (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !notFit && problem === null) {
      if (remaining === 0) {
        // Reading a header.
        if (header.length === 0) {
          headerSize = chunk[i]!;
          if (headerSize !== 12 && headerSize !== 14) {
            // Not a FIT header: bytes that are not FIT, the parser's call rather than a cut.
            notFit = true;
            return;
          }
        }
        const need = headerSize - header.length;
        const n = Math.min(need, chunk.length - i);
        for (let k = 0; k < n; k++) header.push(chunk[i + k]!);
        i += n;
        if (header.length === headerSize) {
          const h = Buffer.from(header);
          if (h.toString('latin1', 8, 12) !== '.FIT') {
            notFit = true;
            return;
          }
          crc = fitCrc(0, h);
          remaining = h.readUInt32LE(4) + 2;
        }
        continue;
      }
      const n = Math.min(remaining, chunk.length - i);
      crc = fitCrc(crc, chunk, i, i + n);
      i += n;
      remaining -= n;
      if (remaining === 0) {
        if (crc !== 0) problem = `FIT file ${files + 1} fails its CRC`;
        files++;
        header = [];
      }
    }
  };

  return {
    async write(chunk) {
      take(chunk);
    },
    async end() {
      if (notFit) return null;
      if (problem) return problem;
      if (remaining > 0) return `FIT file ${files + 1} ends ${remaining} bytes short of its declared size and CRC`;
      if (header.length > 0) return `FIT file ${files + 1} ends inside its header`;
      if (files === 0) return 'empty FIT body';
      return null;
    },
  };
}
