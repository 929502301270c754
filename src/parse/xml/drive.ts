/**
 * Drives a format state machine with an XML tokenizer over a stream of (gunzipped) bytes:
 * decodes the text (UTF-8 or UTF-16, BOM stripped), applies the hostile-input limits before
 * the tokenizer buffers anything, turns every failure into a positioned ParseError, and
 * hands out rows in batches as it goes. Memory holds one input chunk and one batch.
 */
import { isAscii } from 'node:buffer';
import type { LapRow, RouteRow, SampleRow } from '../../records/rows.ts';
import { ParseError, ParseFault, type ParseErrorCode } from '../errors.ts';
import type { FormatMachine } from '../machine.ts';
import type { FileInfo } from '../values.ts';
import type { XmlEncoding } from '../detect.ts';
import { type ResolvedLimits, isRefusedDoctype } from './limits.ts';
import { type TokenizerFactory, type XmlTokenizer, TokenizerError, classifyTokenizerMessage } from './tokenizer.ts';

export type XmlOutput =
  | { table: 'samples'; rows: SampleRow[] }
  | { table: 'laps'; rows: LapRow[] }
  | { table: 'routes'; rows: RouteRow[] }
  | { table: 'file'; info: FileInfo };

export interface DriveOptions {
  file: string;
  encoding: XmlEncoding;
  bomBytes: number;
  limits: ResolvedLimits;
  batchRows: number;
  createTokenizer: TokenizerFactory;
}

const MAX_PIECE_CHARS = 65536;

function refuseDoctype(body: string): void {
  if (isRefusedDoctype(body)) throw new ParseFault('PL_PARSE_DOCTYPE_REFUSED', 'DOCTYPE with an internal subset or external id refused');
}

type ByteLevel = XmlTokenizer & Required<Pick<XmlTokenizer, 'writeBytes' | 'bytePosition'>>;

/**
 * The byte path (UTF-8 input, a tokenizer with writeBytes): the tokenizer reads the bytes
 * and applies the text limit and the DOCTYPE check itself; this validates the UTF-8 (only
 * chunks that are not all ASCII go through the decoder, whose output is dropped), skips the
 * BOM and leading whitespace, positions errors and hands out batches.
 */
async function* driveBytes(chunks: AsyncIterable<Buffer>, machine: FormatMachine, tokenizer: ByteLevel, options: DriveOptions): AsyncGenerator<XmlOutput> {
  const { batchRows, file } = options;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let bomToSkip = options.bomBytes;
  let decoderClean = true;
  let started = false;
  let skippedBytes = options.bomBytes; // bytes before the tokenizer's first byte
  let skippedLines = 0;
  let fedBytes = options.bomBytes;

  function classify(error: unknown, atEnd: boolean): ParseError {
    if (error instanceof ParseError) return error;
    const p = tokenizer.bytePosition();
    const position = { line: p.line + skippedLines, column: p.column, byteOffset: p.byteOffset + skippedBytes };
    if (error instanceof ParseFault || error instanceof TokenizerError) return new ParseError(error.code, error.message, file, position, { cause: error });
    const message = error instanceof Error ? error.message : String(error);
    return new ParseError(classifyTokenizerMessage(message, atEnd), message, file, position, { cause: error });
  }

  for await (let chunk of chunks) {
    if (bomToSkip > 0) {
      const skip = Math.min(bomToSkip, chunk.length);
      chunk = chunk.subarray(skip);
      bomToSkip -= skip;
    }
    if (!(decoderClean && isAscii(chunk))) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch (error) {
        throw new ParseError('PL_PARSE_ENCODING', 'not valid utf-8', file, { byteOffset: fedBytes }, { cause: error });
      }
      decoderClean = endsOnCharacter(chunk);
    }
    fedBytes += chunk.length;
    if (!started) {
      // Leading whitespace before the XML declaration (Polar Flow writes some) is skipped.
      let from = 0;
      while (from < chunk.length && chunk[from]! <= 32) {
        if (chunk[from] === 10) skippedLines++;
        from++;
      }
      skippedBytes += from;
      if (from === chunk.length) continue;
      started = true;
      chunk = chunk.subarray(from);
    }
    try {
      tokenizer.writeBytes(chunk);
    } catch (error) {
      throw classify(error, false);
    }
    while (machine.samples.length >= batchRows) yield { table: 'samples', rows: machine.samples.splice(0, batchRows) };
  }
  if (!decoderClean) {
    try {
      decoder.decode();
    } catch (error) {
      throw new ParseError('PL_PARSE_TRUNCATED', 'input ends inside a utf-8 character', file, { byteOffset: fedBytes }, { cause: error });
    }
  }
  if (!started) throw new ParseError('PL_PARSE_EMPTY', 'no XML content', file, { byteOffset: fedBytes });
  try {
    tokenizer.end();
  } catch (error) {
    throw classify(error, true);
  }
  yield* finish(machine, batchRows);
}

function* finish(machine: FormatMachine, batchRows: number): Generator<XmlOutput> {
  const info = machine.finish();
  while (machine.samples.length > 0) yield { table: 'samples', rows: machine.samples.splice(0, batchRows) };
  while (machine.laps.length > 0) yield { table: 'laps', rows: machine.laps.splice(0, batchRows) };
  while (machine.routes.length > 0) yield { table: 'routes', rows: machine.routes.splice(0, batchRows) };
  yield { table: 'file', info };
}
const ELEMENT_START = /<[^?!]/;

export async function* driveXml(chunks: AsyncIterable<Buffer>, machine: FormatMachine, options: DriveOptions): AsyncGenerator<XmlOutput> {
  const { limits, batchRows, file } = options;
  // The BOM is skipped by byte count (bomBytes), not by the decoder: the decoder may first
  // see the stream mid-way (after ASCII chunks took the fast path) and must not eat a U+FEFF there.
  const decoder = new TextDecoder(options.encoding, { fatal: true, ignoreBOM: true });
  const utf8 = options.encoding === 'utf-8';
  let bomToSkip = options.bomBytes;
  let decoderClean = true; // the decoder holds no partial character
  let textAscii = false; // the text being fed is ASCII: one byte per character
  const bytesPerUnit = options.encoding === 'utf-8' ? 0 : 2;
  const pieceChars = Math.max(1, Math.min(MAX_PIECE_CHARS, limits.maxTextChars));

  let rootSeen = false; // the DOCTYPE prescan runs until the first element
  let started = false; // first non-whitespace character seen
  let skippedLines = 0; // newlines dropped with leading whitespace (Polar quirk), for line numbers
  let runChars = 0; // characters since the last '<'
  // Where the piece being fed starts, in characters of the text fed and bytes of the file.
  let pieceCharStart = 0;
  let pieceByteStart = options.bomBytes;
  let piece = '';
  let fedChars = 0;
  let fedBytes = options.bomBytes;

  // The machine is the tokenizer's handler: it checks depth and the root name itself.
  const tokenizer = options.createTokenizer(machine, refuseDoctype, { maxTextChars: limits.maxTextChars });
  if (utf8 && tokenizer.writeBytes !== undefined && tokenizer.bytePosition !== undefined) {
    yield* driveBytes(chunks, machine, tokenizer as ByteLevel, options);
    return;
  }

  function position(): { line: number; column: number; byteOffset: number } {
    const p = tokenizer.position();
    const inPiece = Math.max(0, Math.min(piece.length, p.charOffset - pieceCharStart));
    const bytes = bytesPerUnit === 0 ? Buffer.byteLength(piece.slice(0, inPiece)) : inPiece * bytesPerUnit;
    return { line: p.line + skippedLines, column: p.column, byteOffset: pieceByteStart + bytes };
  }

  function fail(code: ParseErrorCode, detail: string, cause?: unknown): ParseError {
    return new ParseError(code, detail, file, position(), cause === undefined ? undefined : { cause });
  }

  /** Position of index `k` of the piece not yet fed (the prescan finds things before the tokenizer). */
  function failAhead(code: ParseErrorCode, detail: string, k: number): ParseError {
    const p = tokenizer.position();
    const before = piece.slice(0, k);
    const newlines = before.split('\n').length - 1;
    const column = newlines === 0 ? p.column + k : k - before.lastIndexOf('\n');
    const byteOffset = pieceByteStart + (bytesPerUnit === 0 ? Buffer.byteLength(before) : k * bytesPerUnit);
    return new ParseError(code, detail, file, { line: p.line + skippedLines + newlines, column, byteOffset });
  }

  function classify(error: unknown, atEnd: boolean): ParseError {
    if (error instanceof ParseError) return error;
    if (error instanceof ParseFault || error instanceof TokenizerError) return fail(error.code, error.message, error);
    const message = error instanceof Error ? error.message : String(error);
    return fail(classifyTokenizerMessage(message, atEnd), message.split('\n')[0] ?? message, error);
  }

  function feed(text: string): void {
    let from = 0;
    if (!started) {
      // Leading whitespace before the XML declaration (Polar Flow writes some) is skipped
      // rather than refused: the rest of such files is well formed.
      while (from < text.length && text.charCodeAt(from) <= 32) {
        if (text.charCodeAt(from) === 10) skippedLines++;
        from++;
      }
      const skipped = text.slice(0, from);
      fedBytes += textAscii ? skipped.length : bytesPerUnit === 0 ? Buffer.byteLength(skipped) : skipped.length * bytesPerUnit;
      if (from === text.length) return;
      started = true;
    }
    for (let i = from; i < text.length; i += pieceChars) {
      piece = text.slice(i, Math.min(text.length, i + pieceChars));
      pieceCharStart = fedChars;
      pieceByteStart = fedBytes;
      const lt = piece.indexOf('<');
      if (lt < 0 ? runChars + piece.length > limits.maxTextChars : runChars + lt > limits.maxTextChars) {
        // Reported at the character that crosses the limit (not where the tokenizer stands).
        throw failAhead('PL_PARSE_TEXT_TOO_LARGE', `text, attribute or comment longer than ${limits.maxTextChars} characters`, Math.max(0, limits.maxTextChars - runChars));
      }
      runChars = lt < 0 ? runChars + piece.length : piece.length - 1 - piece.lastIndexOf('<');
      if (!rootSeen) {
        const k = piece.indexOf('<!DOCTYPE');
        if (k >= 0) {
          const close = piece.indexOf('>', k);
          if (isRefusedDoctype(piece.slice(k + 9, close < 0 ? k + 1033 : close))) {
            throw failAhead('PL_PARSE_DOCTYPE_REFUSED', 'DOCTYPE with an internal subset or external id refused', k);
          }
        }
      }
      try {
        tokenizer.write(piece);
      } catch (error) {
        throw classify(error, false);
      }
      // An element start ends the prolog (a DOCTYPE after it is the tokenizer's error); a '<'
      // inside a prolog comment can end the prescan early, and then the tokenizer's doctype
      // callback still refuses the DOCTYPE, at its end rather than its start.
      if (!rootSeen && ELEMENT_START.test(piece)) rootSeen = true;
      fedChars += piece.length;
      fedBytes += textAscii ? piece.length : bytesPerUnit === 0 ? Buffer.byteLength(piece) : piece.length * bytesPerUnit;
    }
  }

  for await (let chunk of chunks) {
    if (bomToSkip > 0) {
      const skip = Math.min(bomToSkip, chunk.length);
      chunk = chunk.subarray(skip);
      bomToSkip -= skip;
    }
    let text: string;
    // Fast path: an all-ASCII UTF-8 chunk (nearly every chunk of a workout file) becomes a
    // one-byte string directly, with no UTF-8 validation and no byte counting.
    textAscii = utf8 && decoderClean && isAscii(chunk);
    if (textAscii) {
      text = chunk.toString('latin1');
    } else {
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch (error) {
        throw new ParseError('PL_PARSE_ENCODING', `not valid ${options.encoding}`, file, { byteOffset: fedBytes }, { cause: error });
      }
      decoderClean = utf8 && endsOnCharacter(chunk);
    }
    if (text.length > 0) feed(text);
    if (machine.samples.length >= batchRows) {
      while (machine.samples.length >= batchRows) {
        const rows = machine.samples.splice(0, batchRows);
        yield { table: 'samples', rows };
      }
    }
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch (error) {
    throw new ParseError('PL_PARSE_TRUNCATED', `input ends inside a ${options.encoding} character`, file, { byteOffset: fedBytes }, { cause: error });
  }
  textAscii = false;
  if (tail.length > 0) feed(tail);
  if (!started) throw new ParseError('PL_PARSE_EMPTY', 'no XML content', file, { byteOffset: fedBytes });
  try {
    tokenizer.end();
  } catch (error) {
    throw classify(error, true);
  }
  yield* finish(machine, batchRows);
}

/**
 * True when a UTF-8 chunk ends on a character boundary, so the streaming decoder holds no
 * partial character after decoding it (then the next chunk may take the ASCII fast path).
 * Conservative: false when unsure.
 */
function endsOnCharacter(chunk: Buffer): boolean {
  const n = chunk.length;
  for (let k = 1; k <= 4 && k <= n; k++) {
    const c = chunk[n - k]!;
    if ((c & 0xc0) !== 0x80) {
      const length = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
      return length === k;
    }
  }
  return false;
}
