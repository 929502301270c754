/**
 * The parsers' public API: one raw payload (gzip or not) in, batches of sample, lap and
 * route rows out, then one `file` record that says what the file held and every flaw met.
 *
 * ```ts
 * for await (const out of parseFile(createReadStream(path), 'auto', ctx)) {
 *   if (out.table === 'samples') publish(out.rows);
 * }
 * ```
 *
 * Only a structural failure (not XML, truncated, hostile, unknown format, FIT that does not
 * decode) throws a ParseError (kind 'terminal', code PL_PARSE_*, with file, line, column,
 * byteOffset): the stage dead-letters it. A flawed value keeps its row (null for a number
 * that is not one, a decimal comma read as a point, a backwards instant kept): the row's
 * `quality_flags` and the file record's counts say what was salvaged. Batches yielded before the error come from the
 * valid prefix of the file; a stage that must not publish part of a bad file holds them
 * until the `file` record arrives (it is always the last output).
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { LapRow, RouteRow, SampleRow } from '../records/rows.ts';
import { detectFormat, formatFromName, isGzip, sniffEncoding } from './detect.ts';
import { ParseError } from './errors.ts';
import { decodeFit } from './fit.ts';
import { createGpxMachine } from './gpx.ts';
import { createTcxMachine } from './tcx.ts';
import type { FileInfo, ParseContext } from './values.ts';
import type { TimeOrderPolicy } from './machine.ts';
import { driveXml } from './xml/drive.ts';
import { type XmlLimits, resolveLimits } from './xml/limits.ts';
import { createFastTokenizer } from './xml/fast.ts';
import { createSaxTokenizer } from './xml/sax.ts';
import { createSaxesTokenizer } from './xml/saxes.ts';
import type { TokenizerFactory, TokenizerName } from './xml/tokenizer.ts';

export { detectFormat } from './detect.ts';
export { ParseError, PARSE_ERROR_CODES, type ParseErrorCode } from './errors.ts';
export type { FileInfo, ParseContext } from './values.ts';
export type { XmlLimits } from './xml/limits.ts';
export type { TimeOrderPolicy } from './machine.ts';
export { TOKENIZER_NAMES, type TokenizerName } from './xml/tokenizer.ts';

/**
 * The default tokenizer: fast (xml/fast.ts), which bench/parse.ts measures at about twice
 * saxes' speed under the parser, and which gives the same rows and error codes as saxes on
 * the whole corpus, the fixtures and the hostile set (parse-tokenizers, parse-hostile).
 */
export const DEFAULT_TOKENIZER: TokenizerName = 'fast';

export interface ParseOptions {
  /**
   * XML tokenizer under the TCX / GPX state machines.
   * @default 'fast'
   */
  tokenizer?: TokenizerName;
  /**
   * Rows per `samples` / `laps` batch.
   * @default 512 (a batch that lives long enough to be promoted to the old generation
   *   costs RSS: with 2048, peak RSS on a 277 MB TCX was 161 MB; with 512, 112 MB; docs/parse-bench.md)
   */
  batchRows?: number;
  /**
   * Sample instants going backwards within an activity (TCX, GPX, FIT): 'keep' keeps file
   * order and flags the point time_backwards; 'reject' throws PL_PARSE_TIME_ORDER (strict
   * files only). Four well-formed corpus files go backwards once (OWswim.tcx,
   * negative-pause.tcx, runkeeper-negative-time-step-at-start.gpx, sports-tracker.gpx):
   * reference readers read them through, and so does 'keep'.
   * @default 'keep'
   */
  timeOrder?: TimeOrderPolicy;
  /** Hostile-input limits; see XmlLimits for each default. */
  limits?: XmlLimits;
}

export type ParseOutput =
  | { table: 'samples'; rows: SampleRow[] }
  | { table: 'laps'; rows: LapRow[] }
  | { table: 'routes'; rows: RouteRow[] }
  | { table: 'file'; info: FileInfo };

const TOKENIZERS: Record<TokenizerName, TokenizerFactory> = { fast: createFastTokenizer, saxes: createSaxesTokenizer, sax: createSaxTokenizer };
const SNIFF_BYTES = 4096;
const CHUNK_BYTES = 65536;

async function* asBuffers(input: AsyncIterable<Buffer | string | Uint8Array> | NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  for await (const chunk of input as AsyncIterable<Buffer | string | Uint8Array>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Re-slice big chunks so a batch, an error position and the memory held stay small.
    for (let i = 0; i < buf.length; i += CHUNK_BYTES) yield buf.subarray(i, Math.min(buf.length, i + CHUNK_BYTES));
  }
}

/** Reads until `want` bytes are buffered (or the input ends); returns them and the rest. */
async function peek(source: AsyncGenerator<Buffer>, want: number): Promise<{ head: Buffer; rest: AsyncGenerator<Buffer> }> {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < want) {
    const next = await source.next();
    if (next.done) break;
    parts.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(parts);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    yield* source;
  }
  return { head, rest: rest() };
}

async function* gunzip(source: AsyncGenerator<Buffer>, file: string): AsyncGenerator<Buffer> {
  const inflater = Readable.from(source).pipe(createGunzip());
  let bytes = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      yield chunk;
    }
  } catch (error) {
    if (error instanceof ParseError) throw error;
    throw new ParseError('PL_PARSE_BAD_GZIP', `gzip: ${(error as Error).message}`, file, { byteOffset: bytes }, { cause: error });
  }
}

export async function* parseFile(
  input: AsyncIterable<Buffer> | NodeJS.ReadableStream,
  format: 'tcx' | 'gpx' | 'fit' | 'auto',
  ctx: ParseContext,
  options: ParseOptions = {},
): AsyncGenerator<ParseOutput> {
  const limits = resolveLimits(options.limits);
  const batchRows = Math.max(1, options.batchRows ?? 512);
  const createTokenizer = TOKENIZERS[options.tokenizer ?? DEFAULT_TOKENIZER];

  let { head, rest } = await peek(asBuffers(input), SNIFF_BYTES);
  if (head.length === 0) throw new ParseError('PL_PARSE_EMPTY', 'no bytes', ctx.file, { byteOffset: 0 });
  if (isGzip(head)) {
    ({ head, rest } = await peek(gunzip(rest, ctx.file), SNIFF_BYTES));
    if (head.length === 0) throw new ParseError('PL_PARSE_EMPTY', 'gzip holds no bytes', ctx.file, { byteOffset: 0 });
  } else if (/\.gz$/i.test(ctx.file)) {
    throw new ParseError('PL_PARSE_BAD_GZIP', 'named .gz but not gzip (no magic bytes)', ctx.file, { byteOffset: 0 });
  }

  let resolved: 'tcx' | 'gpx' | 'fit' | 'unknown' = format === 'auto' ? detectFormat(head, ctx.file) : format;
  if (format === 'auto' && resolved === 'unknown' && head.toString('latin1').trim() === '') resolved = formatFromName(ctx.file);
  if (resolved === 'unknown') {
    throw new ParseError('PL_PARSE_UNKNOWN_FORMAT', `not TCX, GPX or FIT (starts with ${JSON.stringify(head.toString('latin1', 0, 24))})`, ctx.file, {
      byteOffset: 0,
    });
  }

  if (resolved === 'fit') {
    const parts: Buffer[] = [];
    let size = 0;
    for await (const chunk of rest) {
      size += chunk.length;
      if (size > limits.maxFitBytes) {
        throw new ParseError('PL_PARSE_FIT_TOO_LARGE', `FIT payload over ${limits.maxFitBytes} bytes`, ctx.file, { byteOffset: limits.maxFitBytes });
      }
      parts.push(chunk);
    }
    const { samples, laps, info } = decodeFit(Buffer.concat(parts, size), ctx, options.timeOrder ?? 'keep');
    for (let i = 0; i < samples.length; i += batchRows) yield { table: 'samples', rows: samples.slice(i, i + batchRows) };
    for (let i = 0; i < laps.length; i += batchRows) yield { table: 'laps', rows: laps.slice(i, i + batchRows) };
    yield { table: 'file', info };
    return;
  }

  const { encoding, bomBytes } = sniffEncoding(head);
  const timeOrder = options.timeOrder ?? 'keep';
  const machineOptions = { timeOrder, maxDepth: limits.maxDepth };
  const machine = resolved === 'tcx' ? createTcxMachine(ctx, machineOptions) : createGpxMachine(ctx, machineOptions);
  yield* driveXml(rest, machine, { file: ctx.file, encoding, bomBytes, limits, batchRows, createTokenizer });
}
