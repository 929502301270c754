/**
 * The tiny event interface between an XML tokenizer and the format state machines
 * (tcx.ts, gpx.ts). The state machines never see the tokenizer, so `fast` (fast.ts), `saxes`
 * or `sax` can drive them (bench/parse.ts measures each; index.ts picks the default).
 *
 * Names are local names: the namespace prefix is stripped (`ns3:TPX` → `TPX`), because real
 * files use any prefix, or none, for the same Garmin extensions.
 *
 * The handler is set once when the tokenizer is made, and the tokenizer calls the state
 * machine's methods straight from its own callbacks: no event objects, no wrapper in
 * between (the hot path runs a million times per 24-hour file). A close carries no name: the
 * tokenizer has already matched it to its open tag, and the machines track depth.
 */
import type { ParseErrorCode } from '../errors.ts';

export interface XmlHandler {
  open(localName: string, attributes: Readonly<Record<string, string>>): void;
  /** Character data of the current element; may arrive in several pieces. */
  text(text: string): void;
  /** The innermost open element ends. */
  close(): void;
  /**
   * False while text() would ignore what it gets (the open element is not a field): a
   * tokenizer may then skip decoding the text. Absent means always wanted.
   */
  readonly wantsText?: boolean;
  /**
   * Byte-level tokenizers (fast.ts) call this instead of text() when the handler has it and
   * the character data is the whole content of the open element (right after its open tag,
   * right before its close tag, with no reference and no CR): b[start, end) is valid UTF-8,
   * readable only during the call. The machines parse numbers and instants from it without
   * making a string. Other text, and every text from saxes and sax, comes through text().
   */
  textBytes?(b: Buffer, start: number, end: number): void;
  /**
   * Byte-level tokenizers (fast.ts) call this, when the handler has it, for an element
   * inside the root with no attributes whose whole content is plain text (no markup,
   * reference, whitespace or control character) followed by its own close tag: the same as
   * open(localName, {}), textBytes(b, start, end), close(), in one call, positioned at the
   * end of the close tag. The handler returns false, having done nothing, to get the three
   * events instead (for an open that can throw, so its error keeps the open tag's position).
   */
  leaf?(localName: string, b: Buffer, start: number, end: number): boolean;
  /**
   * The local name of the one element (GPX's `trkpt`) whose attributes the handler takes as
   * bytes through openBytes. Absent, or without openBytes, means every open goes to open().
   */
  readonly attributeBytesElement?: string;
  /**
   * Byte-level tokenizers (fast.ts) call this instead of open() for an element named
   * attributeBytesElement whose attribute values are all plain (no reference, tab or line
   * end, so each value is its bytes verbatim), after the same well-formedness checks:
   * attribute i has its name in b[spans[4i], spans[4i+1]) and its value in
   * b[spans[4i+2], spans[4i+3]), i < count; readable only during the call. Other attributes,
   * and every open from saxes and sax, come through open(). Saves a string per name and
   * value and an object per point.
   */
  openBytes?(localName: string, b: Buffer, spans: Int32Array, count: number): void;
}

export interface XmlPosition {
  line: number;
  column: number;
  /** Offset in decoded characters from the start of the text fed. */
  charOffset: number;
}

export interface XmlTokenizer {
  /** Feeds text; handler callbacks run synchronously inside. Throws on malformed input. */
  write(text: string): void;
  /** Ends the document; throws if elements are still open. */
  end(): void;
  position(): XmlPosition;
  /**
   * Byte-level tokenizers (fast.ts) take the UTF-8 bytes themselves: the driver then
   * validates the encoding, skips the BOM and leading whitespace, and leaves the limits and
   * the DOCTYPE check to the tokenizer.
   */
  writeBytes?(chunk: Buffer): void;
  /** Where the last event or error is, in the bytes given to writeBytes. */
  bytePosition?(): XmlBytePosition;
}

export interface XmlBytePosition {
  line: number;
  column: number;
  byteOffset: number;
}

/** What a tokenizer may need to know of the limits (the others ignore it). */
export interface TokenizerOptions {
  /** XmlLimits.maxTextChars, resolved. */
  maxTextChars: number;
}

/** A tokenizer's own error, classified for ParseError. */
export class TokenizerError extends Error {
  constructor(
    readonly code: ParseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const TOKENIZER_NAMES = ['fast', 'saxes', 'sax'] as const;
export type TokenizerName = (typeof TOKENIZER_NAMES)[number];

export type TokenizerFactory = (handler: XmlHandler, onDoctype: (body: string) => void, options?: TokenizerOptions) => XmlTokenizer;

export function localName(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

/** Maps a tokenizer's message to a code: the tokenizers say "unclosed" / "undefined entity". */
export function classifyTokenizerMessage(message: string, atEnd: boolean): ParseErrorCode {
  const m = message.toLowerCase();
  if (m.includes('entity')) return 'PL_PARSE_ENTITY_REFUSED';
  if (atEnd || m.includes('unclosed') || m.includes('unexpected end')) return 'PL_PARSE_TRUNCATED';
  return 'PL_PARSE_XML_MALFORMED';
}
