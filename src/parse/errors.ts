/**
 * Parse errors: one class, one stable code per way a file can be bad. Every code is
 * documented in docs/errors-parse.md (test/unit/parse-errors-doc.test.ts keeps the two in
 * step). All are `terminal`: the same bytes will never parse, so the stage dead-letters the
 * file and moves on; the raw object stays for a replay after a parser fix.
 */
import { PolarLakeError } from '../errors.ts';

/** code → one-line meaning; the doc table is checked against this list. */
export const PARSE_ERROR_CODES = {
  PL_PARSE_EMPTY: 'The input holds no bytes (or only a BOM / whitespace).',
  PL_PARSE_UNKNOWN_FORMAT: 'The bytes are not TCX, GPX or FIT (for example an HTML error page or JSON).',
  PL_PARSE_BAD_GZIP: 'The input claims to be gzip (magic bytes or a .gz name) but does not inflate.',
  PL_PARSE_ENCODING: 'The text is not valid in its encoding (invalid UTF-8 / UTF-16 sequence).',
  PL_PARSE_XML_MALFORMED: 'The XML is not well formed (bad token, mismatched tag, text after the root).',
  PL_PARSE_TRUNCATED: 'The input ends before the document does (open elements, cut multi-byte character).',
  PL_PARSE_DOCTYPE_REFUSED: 'A DOCTYPE with an internal subset or an external id: entity declarations are refused (billion laughs, XXE).',
  PL_PARSE_ENTITY_REFUSED: 'A reference to an entity that is not one of the five predefined XML entities.',
  PL_PARSE_TEXT_TOO_LARGE: 'A text node, attribute or comment is longer than limits.maxTextChars.',
  PL_PARSE_TOO_DEEP: 'Elements nest deeper than limits.maxDepth.',
  PL_PARSE_WRONG_ROOT: 'The root element is not the one of the declared format (TrainingCenterDatabase, gpx).',
  PL_PARSE_NOT_A_NUMBER: 'A numeric field holds text that is not a finite decimal number.',
  PL_PARSE_BAD_TIME: 'A timestamp is not an ISO 8601 date-time this parser accepts.',
  PL_PARSE_TIME_ORDER: 'A sample instant goes backwards within an activity (out of order).',
  PL_PARSE_FIT_INVALID: 'The FIT decoder reports an error (bad header, CRC, truncated or unknown local message).',
  PL_PARSE_FIT_TOO_LARGE: 'A FIT payload is bigger than limits.maxFitBytes (FIT is decoded from one buffer).',
  PL_PARSE_HRM_INVALID: 'A Polar HRM file lacks a section or [Params] value it needs (Version, SMode, Date, StartTime, Interval) or a lap time is not H:MM:SS.t.',
  PL_PARSE_PPT_INVALID: 'A Polar ProTrainer XML file is not polar-exercise-data, or an exercise lacks its time or holds a sample list that is not numbers.',
  PL_PARSE_FLOW_INVALID: 'A Polar Flow export training-session JSON is not JSON, is too large, or lacks its start time or exercises.',
} as const;

export type ParseErrorCode = keyof typeof PARSE_ERROR_CODES;

export interface ParsePosition {
  /** 1-based line, null where the format has no lines (FIT, gzip). */
  line: number | null;
  /** 1-based column, null where the format has no lines. */
  column: number | null;
  /** Offset in the decoded (gunzipped) bytes of the file, where known. */
  byteOffset: number | null;
}

export class ParseError extends PolarLakeError {
  readonly kind = 'terminal';
  readonly code: ParseErrorCode;
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly byteOffset: number | null;

  constructor(code: ParseErrorCode, detail: string, file: string, position: Partial<ParsePosition> = {}, options?: { cause?: unknown }) {
    const line = position.line ?? null;
    const column = position.column ?? null;
    const byteOffset = position.byteOffset ?? null;
    const where = line !== null ? `:${line}:${column ?? 0}` : byteOffset !== null ? `@${byteOffset}` : '';
    super(`${file}${where}: ${detail}`, options);
    this.code = code;
    this.file = file;
    this.line = line;
    this.column = column;
    this.byteOffset = byteOffset;
  }
}

/** Thrown by state machines that do not know the position; the driver re-throws it with one. */
export class ParseFault extends Error {
  constructor(
    readonly code: ParseErrorCode,
    readonly detail: string,
  ) {
    super(detail);
  }
}
