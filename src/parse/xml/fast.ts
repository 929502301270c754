/**
 * `fast`: a byte-level streaming XML tokenizer written for the TCX / GPX state machines.
 *
 * It reads the UTF-8 bytes of each chunk (drive.ts validates the encoding and hands UTF-16
 * input over transcoded), and decodes only what a machine uses:
 * - element names are hashed while scanned and looked up in a per-document table, so each
 *   distinct name is one interned string (the machines' `name === 'Trackpoint'` compares
 *   two pointers); a close tag is compared byte for byte with its open tag's bytes;
 * - character data is decoded (latin1 for all-ASCII chunks, UTF-8 otherwise) only when the
 *   handler's `wantsText` says the current element is a field; other text is only scanned
 *   (line count, entities, characters refused by XML);
 * - a token cut by the chunk boundary is carried whole into the next chunk (tokens are
 *   short; a token longer than maxTextChars is refused before it grows further).
 *
 * Well-formedness it checks, with the error codes the saxes path gives (the equivalence
 * test runs the fixtures and hostile set over every tokenizer): tag names, attributes
 * (either quote, duplicates, whitespace between them, `<` refused), mismatched and unclosed
 * tags, text or a second element outside the root, the five predefined entities and
 * numeric character references (any other entity is PL_PARSE_ENTITY_REFUSED), CDATA,
 * comments (no `--` inside), processing instructions, the XML declaration only at the start
 * (with a version 1.x), a DOCTYPE only before the root (one with an internal subset or an
 * external id is refused through `onDoctype`), `]]>` and control characters in text.
 * Line ends `\r\n` and `\r` become `\n` in text, and tab / line ends become spaces in
 * attribute values, as XML says. Not checked (saxes checks them; no workout file needs
 * them): the Unicode classes of non-ASCII name characters, and characters XML refuses
 * inside comments, PIs and attribute values. Lines are counted on `\n` only.
 *
 * Positions: line, column (characters) and byte offset of the tokenizer's input, at the
 * end of the tag being reported (an event) or at the start of the bad token (an error).
 */
import { isAscii } from 'node:buffer';
import type { ParseErrorCode } from '../errors.ts';
import { DEFAULT_LIMITS } from './limits.ts';
import { type XmlHandler, type XmlTokenizer, type XmlBytePosition, type TokenizerOptions, TokenizerError } from './tokenizer.ts';

/** Buffer's own decoders without the encoding lookup of toString (present in every Node). */
interface SlicingBuffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const AMP = 0x26;
const NL = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const DASH = 0x2d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;

/** 1: may start a name; 2: may continue one. Non-ASCII bytes are accepted as name characters. */
const NAME = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === COLON || c >= 0x80;
  const more = (c >= 0x30 && c <= 0x39) || c === DASH || c === 0x2e;
  NAME[c] = start ? 1 : more ? 2 : 0;
}

/**
 * 1: a byte a leaf's text may hold (fast path): not whitespace or a control character, not
 * `&` (a reference), `<` or `>` (markup, `]]>`). Others send the text the general way.
 */
const PLAIN = new Uint8Array(256);
for (let c = 0x21; c < 256; c++) PLAIN[c] = c === AMP || c === LT || c === GT ? 0 : 1;

const DASH_DASH = Buffer.from('--');
const CDATA_END = Buffer.from(']]>');
const PI_END = Buffer.from('?>');
const CDATA_OPEN = Buffer.from('<![CDATA[');
const DOCTYPE_OPEN = Buffer.from('<!DOCTYPE');
/** The pseudo-attributes of an XML declaration, in their only allowed order. */
const XML_DECLARATION = /^\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*$/;
const EMPTY_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY = Buffer.alloc(0);

/** Room for a carried token plus one 64 KiB input chunk; longer ones fall back to a concat. */
const SCRATCH_BYTES = 4 * 65536;
const TABLE_BITS = 10;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
/** Distinct names interned per document; past it names are decoded each time (hostile input). */
const MAX_INTERNED = 4096;
/** Attributes the byte path (XmlHandler.openBytes) takes; a tag with more goes to open(). */
const MAX_SPAN_ATTRIBUTES = 16;
/** parseAttributes in span mode: a value is not plain, parse the tag again into an object. */
const NOT_PLAIN = -2;

interface NameEntry {
  readonly bytes: Uint8Array;
  readonly hash: number;
  /** Local name (prefix stripped), interned. */
  readonly local: string;
  readonly qname: string;
  next: NameEntry | null;
}

/** The string V8 keeps in its string table for `s` (property keys are internalized). */
function intern(s: string): string {
  const o: Record<string, number> = {};
  o[s] = 0;
  return Object.keys(o)[0] ?? s;
}

const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

export type ByteTokenizer = XmlTokenizer & Required<Pick<XmlTokenizer, 'writeBytes' | 'bytePosition'>>;

export function createFastTokenizer(handler: XmlHandler, onDoctype: (body: string) => void, options?: TokenizerOptions): ByteTokenizer {
  const maxChars = options?.maxTextChars ?? DEFAULT_LIMITS.maxTextChars;
  const table: (NameEntry | null)[] = new Array<NameEntry | null>(1 << TABLE_BITS).fill(null);
  let interned = 0;

  const scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  let cur: Buffer = EMPTY; // the bytes being scanned: the carried token + the new chunk
  let curAscii = true;
  let base = 0; // offset of cur[0] in the input
  let carry: Buffer | null = null;
  let line = 1;
  let lineStart = 0; // offset of the current line's first byte
  let lineCharsBefore = 0; // characters of the current line before `base` (when lineStart < base)
  let at = 0; // offset an event or an error is reported at

  const stack: NameEntry[] = [];
  let depth = 0;
  let rootSeen = false;
  let rootDone = false;
  let doctypeSeen = false;
  // Set by parseAttributes for its caller.
  let tagAttributes: Readonly<Record<string, string>> = EMPTY_ATTRIBUTES;
  let tagSelfClosing = false;
  const bytesHandler = typeof handler.textBytes === 'function';
  const leafHandler = typeof handler.leaf === 'function';
  const spanElement = typeof handler.openBytes === 'function' ? handler.attributeBytesElement : undefined;
  /** Set by parseAttributes in span mode: name and value ranges of each attribute (see openBytes). */
  const spans = new Int32Array(4 * MAX_SPAN_ATTRIBUTES);
  let spanCount = 0;
  /** Input offset just after the last open tag's `>`: text starting there is the element's first. */
  let openEnd = -1;

  function decode(b: Buffer, start: number, end: number): string {
    return curAscii ? (b as unknown as SlicingBuffer).latin1Slice(start, end) : (b as unknown as SlicingBuffer).utf8Slice(start, end);
  }

  function charCount(b: Buffer, start: number, end: number): number {
    if (end <= start) return 0;
    if (curAscii) return end - start;
    let n = 0;
    for (let k = start; k < end; k++) if ((b[k]! & 0xc0) !== 0x80) n++;
    return n;
  }

  function fail(code: ParseErrorCode, message: string, offset: number, ln: number, ls: number): never {
    at = offset;
    line = ln;
    lineStart = ls;
    throw new TokenizerError(code, message);
  }

  function tooLarge(b: Buffer, start: number, end: number): boolean {
    return end - start > maxChars && charCount(b, start, end) > maxChars;
  }

  function lookup(b: Buffer, start: number, end: number, hash: number): NameEntry {
    const length = end - start;
    const slot = hash & TABLE_MASK;
    for (let e = table[slot] ?? null; e !== null; e = e.next) {
      if (e.hash !== hash || e.bytes.length !== length) continue;
      const bytes = e.bytes;
      let k = 0;
      while (k < length && bytes[k] === b[start + k]) k++;
      if (k === length) return e;
    }
    const qname = decode(b, start, end);
    const colon = qname.indexOf(':');
    const entry: NameEntry = {
      bytes: Uint8Array.prototype.slice.call(b, start, end),
      hash,
      qname,
      local: intern(colon < 0 ? qname : qname.slice(colon + 1)),
      next: table[slot] ?? null,
    };
    if (interned < MAX_INTERNED) {
      table[slot] = entry;
      interned++;
    }
    return entry;
  }

  /** Replaces entity and character references; throws on any other `&`. */
  function expandReferences(s: string, offset: number, ln: number, ls: number): string {
    let out = '';
    let from = 0;
    for (let amp = s.indexOf('&'); amp >= 0; amp = s.indexOf('&', from)) {
      const semi = s.indexOf(';', amp + 1);
      const name = semi < 0 ? s.slice(amp + 1, amp + 33) : s.slice(amp + 1, semi);
      let value = semi < 0 ? undefined : PREDEFINED[name];
      if (value === undefined && semi >= 0 && name.charCodeAt(0) === 0x23) {
        const hex = name.charCodeAt(1) === 0x78;
        const digits = name.slice(hex ? 2 : 1);
        if (hex ? /^[0-9a-fA-F]{1,8}$/.test(digits) : /^[0-9]{1,10}$/.test(digits)) {
          const cp = parseInt(digits, hex ? 16 : 10);
          if (isXmlChar(cp)) value = String.fromCodePoint(cp);
        }
      }
      if (value === undefined) fail('PL_PARSE_ENTITY_REFUSED', `undefined or malformed entity: &${name}${semi < 0 ? '' : ';'}`, offset, ln, ls);
      out += s.slice(from, amp) + value;
      from = semi + 1;
    }
    return from === 0 ? s : out + s.slice(from);
  }

  /** Counts line ends in b[start, end) into `line` / `lineStart`. */
  function countLines(b: Buffer, start: number, end: number): void {
    for (let k = b.indexOf(NL, start); k >= 0 && k < end; k = b.indexOf(NL, k + 1)) {
      line++;
      lineStart = base + k + 1;
    }
  }

  /**
   * Attributes from `k` (a whitespace after the name) to the end of the tag. Returns the
   * index after `>` or -1 when the tag continues past the buffer; sets tagAttributes and
   * tagSelfClosing. Keeps `line` / `lineStart` current. In span mode (`asSpans`) it sets
   * spans / spanCount instead of tagAttributes, with the same checks in the same order, and
   * returns NOT_PLAIN at the first value that is not its bytes verbatim (or one attribute too
   * many): the caller then restores the line and parses the tag again into an object.
   */
  function parseAttributes(b: Buffer, k: number, asSpans: boolean): number {
    const n = b.length;
    const attributes: Record<string, string> = asSpans ? EMPTY_ATTRIBUTES : {};
    let count = 0;
    for (;;) {
      let spaced = false;
      for (; k < n; k++) {
        const c = b[k]!;
        if (c === NL) {
          line++;
          lineStart = base + k + 1;
        } else if (c !== SPACE && c !== TAB && c !== CR) break;
        spaced = true;
      }
      if (k >= n) return -1;
      let c = b[k]!;
      if (c === GT) {
        tagAttributes = attributes;
        spanCount = count;
        tagSelfClosing = false;
        return k + 1;
      }
      if (c === SLASH) {
        if (k + 1 >= n) return -1;
        if (b[k + 1] !== GT) fail('PL_PARSE_XML_MALFORMED', 'forward-slash in opening tag not followed by >', base + k, line, lineStart);
        tagAttributes = attributes;
        spanCount = count;
        tagSelfClosing = true;
        return k + 2;
      }
      if (!spaced) fail('PL_PARSE_XML_MALFORMED', 'no whitespace between attributes', base + k, line, lineStart);
      if (NAME[c] !== 1) fail('PL_PARSE_XML_MALFORMED', 'disallowed character in attribute name', base + k, line, lineStart);
      const nameStart = k;
      while (k < n && NAME[b[k]!] !== 0) k++;
      const nameEnd = k;
      for (; k < n && (b[k] === SPACE || b[k] === TAB || b[k] === CR || b[k] === NL); k++) {
        if (b[k] === NL) {
          line++;
          lineStart = base + k + 1;
        }
      }
      if (k >= n) return -1;
      if (b[k] !== EQUALS) fail('PL_PARSE_XML_MALFORMED', 'attribute without value', base + k, line, lineStart);
      for (k++; k < n && (b[k] === SPACE || b[k] === TAB || b[k] === CR || b[k] === NL); k++) {
        if (b[k] === NL) {
          line++;
          lineStart = base + k + 1;
        }
      }
      if (k >= n) return -1;
      const quote = b[k]!;
      if (quote !== DQUOTE && quote !== SQUOTE) fail('PL_PARSE_XML_MALFORMED', 'unquoted attribute value', base + k, line, lineStart);
      const valueStart = k + 1;
      const valueEnd = b.indexOf(quote, valueStart);
      if (valueEnd < 0) return -1;
      let plain = true;
      for (let m = valueStart; m < valueEnd; m++) {
        c = b[m]!;
        if (c === LT) fail('PL_PARSE_XML_MALFORMED', 'disallowed character < in attribute value', base + m, line, lineStart);
        if (c === AMP || c === NL || c === CR || c === TAB) plain = false;
      }
      if (asSpans) {
        if (!plain || count === MAX_SPAN_ATTRIBUTES) return NOT_PLAIN;
        const length = nameEnd - nameStart;
        for (let a = 0; a < count; a++) {
          const s = spans[4 * a]!;
          if (spans[4 * a + 1]! - s !== length) continue;
          let m = 0;
          while (m < length && b[s + m] === b[nameStart + m]) m++;
          if (m === length) fail('PL_PARSE_XML_MALFORMED', `duplicate attribute: ${decode(b, nameStart, nameEnd)}`, base + nameStart, line, lineStart);
        }
        spans[4 * count] = nameStart;
        spans[4 * count + 1] = nameEnd;
        spans[4 * count + 2] = valueStart;
        spans[4 * count + 3] = valueEnd;
        count++;
        k = valueEnd + 1;
        continue;
      }
      const name = decode(b, nameStart, nameEnd);
      let value = decode(b, valueStart, valueEnd);
      if (!plain) {
        const ln = line;
        const ls = lineStart;
        countLines(b, valueStart, valueEnd);
        value = expandReferences(value.replace(/\r\n|[\t\n\r]/g, ' '), base + valueStart, ln, ls);
      }
      if (Object.hasOwn(attributes, name)) fail('PL_PARSE_XML_MALFORMED', `duplicate attribute: ${name}`, base + nameStart, line, lineStart);
      attributes[name] = value;
      k = valueEnd + 1;
    }
  }

  /**
   * Scans `b` (whose first byte is at input offset `base`) and returns the index of the
   * first byte of the token that continues past it (b.length when every token ended).
   */
  function scan(b: Buffer): number {
    const n = b.length;
    const bs = base;
    let ln = line;
    let ls = lineStart;
    let i = 0;
    while (i < n) {
      const tokenLine = ln;
      const tokenLineStart = ls;
      if (b[i] !== LT) {
        // Character data up to the next '<'.
        let amp = false;
        let cr = false;
        let j = i;
        for (; j < n; j++) {
          const c = b[j]!;
          if (c === LT) break;
          if (c < 0x27) {
            if (c === NL) {
              ln++;
              ls = bs + j + 1;
            } else if (c === AMP) amp = true;
            else if (c === CR) cr = true;
            else if (c < SPACE && c !== TAB) {
              // Errors in document order: a bad reference before the character comes first.
              if (amp) expandReferences(decode(b, i, j), bs + i, tokenLine, tokenLineStart);
              fail('PL_PARSE_XML_MALFORMED', 'disallowed character in text', bs + j, ln, ls);
            }
          } else if (c === GT && j - 2 >= i && b[j - 1] === RBRACKET && b[j - 2] === RBRACKET) {
            fail('PL_PARSE_XML_MALFORMED', 'the string "]]>" is disallowed in char data', bs + j - 2, ln, ls);
          }
        }
        if (tooLarge(b, i, j)) fail('PL_PARSE_TEXT_TOO_LARGE', `text longer than ${maxChars} characters`, bs + j, ln, ls);
        // An element's text whose '<' ends the buffer waits for the next chunk, so the machine
        // sees whether a close tag follows (the byte path) rather than a lone text event.
        if (j >= n || (j + 1 === n && bytesHandler && bs + i === openEnd && depth > 0)) {
          line = tokenLine;
          lineStart = tokenLineStart;
          return i;
        }
        if (depth === 0) {
          for (let k = i; k < j; k++) {
            const c = b[k]!;
            if (c !== SPACE && c !== NL && c !== TAB && c !== CR) fail('PL_PARSE_XML_MALFORMED', 'text data outside of root node', bs + k, tokenLine, tokenLineStart);
          }
        } else if (handler.wantsText !== false) {
          if (bytesHandler && bs + i === openEnd && !amp && !cr && j + 1 < n && b[j + 1] === SLASH) {
            // The element's whole content (its close tag follows): the machine reads the bytes.
            line = ln;
            lineStart = ls;
            at = bs + j;
            handler.textBytes!(b, i, j);
            i = j;
            continue;
          }
          let s = decode(b, i, j);
          if (cr) s = s.replace(/\r\n?/g, '\n');
          if (amp) s = expandReferences(s, bs + i, tokenLine, tokenLineStart);
          line = ln;
          lineStart = ls;
          at = bs + j;
          handler.text(s);
        } else if (amp) {
          expandReferences(decode(b, i, j), bs + i, tokenLine, tokenLineStart);
        }
        i = j;
        continue;
      }
      if (i + 1 >= n) break;
      const c1 = b[i + 1]!;
      if (c1 === SLASH) {
        // Close tag: the name must be the open element's, byte for byte.
        if (depth === 0) fail('PL_PARSE_XML_MALFORMED', 'unexpected close tag', bs + i, ln, ls);
        const open = stack[depth - 1]!;
        const expect = open.bytes;
        const length = expect.length;
        let k = i + 2;
        if (k + length >= n) break;
        for (let m = 0; m < length; m++) {
          if (b[k + m] !== expect[m]) fail('PL_PARSE_XML_MALFORMED', `unexpected close tag, expected </${open.qname}>`, bs + i, ln, ls);
        }
        k += length;
        let c = b[k]!;
        if (c !== GT) {
          if (NAME[c] !== 0) fail('PL_PARSE_XML_MALFORMED', `unexpected close tag, expected </${open.qname}>`, bs + i, ln, ls);
          for (; k < n; k++) {
            c = b[k]!;
            if (c === NL) {
              ln++;
              ls = bs + k + 1;
            } else if (c !== SPACE && c !== TAB && c !== CR) break;
          }
          if (k >= n) {
            ln = tokenLine;
            ls = tokenLineStart;
            break;
          }
          if (c !== GT) fail('PL_PARSE_XML_MALFORMED', 'disallowed character in closing tag', bs + k, ln, ls);
        }
        k++;
        if (--depth === 0) rootDone = true;
        line = ln;
        lineStart = ls;
        at = bs + k;
        handler.close();
        i = k;
        continue;
      }
      if (c1 === BANG) {
        if (i + 3 >= n) break;
        const c2 = b[i + 2]!;
        if (c2 === DASH) {
          if (b[i + 3] !== DASH) fail('PL_PARSE_XML_MALFORMED', 'malformed comment', bs + i, ln, ls);
          const dd = b.indexOf(DASH_DASH, i + 4);
          if (dd < 0 || dd + 2 >= n) {
            if (tooLarge(b, i, n)) fail('PL_PARSE_TEXT_TOO_LARGE', `comment longer than ${maxChars} characters`, bs + n, ln, ls);
            break;
          }
          if (b[dd + 2] !== GT) fail('PL_PARSE_XML_MALFORMED', 'double dash in comment', bs + dd, ln, ls);
          line = ln;
          lineStart = ls;
          countLines(b, i, dd);
          ln = line;
          ls = lineStart;
          i = dd + 3;
          continue;
        }
        if (i + 9 > n) break;
        if (c2 === LBRACKET && b.compare(CDATA_OPEN, 0, 9, i, i + 9) === 0) {
          if (depth === 0) fail('PL_PARSE_XML_MALFORMED', 'CDATA outside of root node', bs + i, ln, ls);
          const end = b.indexOf(CDATA_END, i + 9);
          if (end < 0) {
            if (tooLarge(b, i, n)) fail('PL_PARSE_TEXT_TOO_LARGE', `CDATA longer than ${maxChars} characters`, bs + n, ln, ls);
            break;
          }
          line = ln;
          lineStart = ls;
          countLines(b, i, end);
          ln = line;
          ls = lineStart;
          if (end > i + 9 && handler.wantsText !== false) {
            let s = decode(b, i + 9, end);
            if (s.includes('\r')) s = s.replace(/\r\n?/g, '\n');
            at = bs + end + 3;
            handler.text(s);
          }
          i = end + 3;
          continue;
        }
        if (c2 === 0x44 && b.compare(DOCTYPE_OPEN, 0, 9, i, i + 9) === 0) {
          if (rootSeen || doctypeSeen) fail('PL_PARSE_XML_MALFORMED', 'DOCTYPE after the root element or a second DOCTYPE', bs + i, ln, ls);
          const end = b.indexOf(GT, i + 9);
          line = ln;
          lineStart = ls;
          at = bs + i;
          // A subset or external id is refused as soon as it shows, complete or not.
          onDoctype(decode(b, i + 9, end < 0 ? n : end));
          if (end < 0) {
            if (tooLarge(b, i, n)) fail('PL_PARSE_TEXT_TOO_LARGE', `DOCTYPE longer than ${maxChars} characters`, bs + n, ln, ls);
            break;
          }
          doctypeSeen = true;
          countLines(b, i, end);
          ln = line;
          ls = lineStart;
          i = end + 1;
          continue;
        }
        fail('PL_PARSE_XML_MALFORMED', 'unknown markup declaration', bs + i, ln, ls);
      }
      if (c1 === QUESTION) {
        const end = b.indexOf(PI_END, i + 2);
        if (end < 0) {
          if (tooLarge(b, i, n)) fail('PL_PARSE_TEXT_TOO_LARGE', `processing instruction longer than ${maxChars} characters`, bs + n, ln, ls);
          break;
        }
        let t = i + 2;
        if (NAME[b[t]!] !== 1) fail('PL_PARSE_XML_MALFORMED', 'processing instruction without a target', bs + i, ln, ls);
        while (t < end && NAME[b[t]!] !== 0) t++;
        const target = decode(b, i + 2, t);
        if (t < end && b[t] !== SPACE && b[t] !== TAB && b[t] !== NL && b[t] !== CR) {
          fail('PL_PARSE_XML_MALFORMED', 'disallowed character in processing instruction target', bs + t, ln, ls);
        }
        if (target.toLowerCase() === 'xml') {
          if (bs + i !== 0) fail('PL_PARSE_XML_MALFORMED', 'the XML declaration must appear at the start of the document', bs + i, ln, ls);
          if (!XML_DECLARATION.test(decode(b, t, end))) {
            fail('PL_PARSE_XML_MALFORMED', 'malformed XML declaration (version 1.x, then encoding, then standalone)', bs + i, ln, ls);
          }
        }
        line = ln;
        lineStart = ls;
        countLines(b, i, end);
        ln = line;
        ls = lineStart;
        i = end + 2;
        continue;
      }
      // Open tag: hash the name as it is scanned.
      if (NAME[c1] !== 1) fail('PL_PARSE_XML_MALFORMED', 'disallowed character in tag name', bs + i + 1, ln, ls);
      let k = i + 1;
      let hash = 0;
      for (; k < n; k++) {
        const c = b[k]!;
        if (NAME[c] === 0) break;
        hash = (Math.imul(hash, 31) + c) | 0;
      }
      if (k >= n) break;
      if (depth === 0) {
        if (rootDone) fail('PL_PARSE_XML_MALFORMED', 'text data outside of root node (a second root element)', bs + i, ln, ls);
        rootSeen = true;
      }
      const entry = lookup(b, i + 1, k, hash);
      const c = b[k]!;
      let attributes = EMPTY_ATTRIBUTES;
      let selfClosing = false;
      let asSpans = false;
      if (c === GT) {
        k++;
        if (leafHandler && depth > 0) {
          // A leaf: plain text, then this element's own close tag. One handler call for
          // the three events (the hot path: every number and time of every point).
          let j = k;
          while (j < n && PLAIN[b[j]!] === 1) j++;
          const expect = entry.bytes;
          const length = expect.length;
          const closeAt = j + 2 + length;
          if (j > k && closeAt < n && b[j] === LT && b[j + 1] === SLASH && b[closeAt] === GT && j - k <= maxChars) {
            let m = 0;
            while (m < length && b[j + 2 + m] === expect[m]) m++;
            if (m === length) {
              line = ln;
              lineStart = ls;
              at = bs + closeAt + 1;
              if (handler.leaf!(entry.local, b, k, j)) {
                i = closeAt + 1;
                continue;
              }
            }
          }
        }
      } else if (c === SLASH) {
        if (k + 1 >= n) break;
        if (b[k + 1] !== GT) fail('PL_PARSE_XML_MALFORMED', 'forward-slash in opening tag not followed by >', bs + k, ln, ls);
        selfClosing = true;
        k += 2;
      } else if (c === SPACE || c === NL || c === TAB || c === CR) {
        line = ln;
        lineStart = ls;
        const attributesAt = k;
        asSpans = entry.local === spanElement;
        k = parseAttributes(b, attributesAt, asSpans);
        if (k === NOT_PLAIN) {
          line = ln;
          lineStart = ls;
          asSpans = false;
          k = parseAttributes(b, attributesAt, false);
        }
        if (k < 0) {
          if (tooLarge(b, i, n)) fail('PL_PARSE_TEXT_TOO_LARGE', `tag longer than ${maxChars} characters`, bs + n, tokenLine, tokenLineStart);
          ln = tokenLine;
          ls = tokenLineStart;
          break;
        }
        ln = line;
        ls = lineStart;
        attributes = tagAttributes;
        selfClosing = tagSelfClosing;
      } else {
        fail('PL_PARSE_XML_MALFORMED', 'disallowed character in tag name', bs + k, ln, ls);
      }
      stack[depth++] = entry;
      line = ln;
      lineStart = ls;
      at = bs + k;
      openEnd = selfClosing ? -1 : bs + k;
      if (asSpans) handler.openBytes!(entry.local, b, spans, spanCount);
      else handler.open(entry.local, attributes);
      if (selfClosing) {
        if (--depth === 0) rootDone = true;
        handler.close();
      }
      i = k;
    }
    line = ln;
    lineStart = ls;
    return i;
  }

  /**
   * Before the root element, a hostile DOCTYPE anywhere in the bytes at hand is refused
   * first, whatever comes before it (the saxes path's driver does the same prescan).
   */
  function refuseDoctypeAhead(b: Buffer): void {
    const k = b.indexOf(DOCTYPE_OPEN);
    if (k < 0) return;
    const close = b.indexOf(GT, k);
    const body = decode(b, k + 9, close < 0 ? Math.min(b.length, k + 1033) : close);
    const ln = line;
    const ls = lineStart;
    at = base + k;
    countLines(b, 0, k);
    onDoctype(body);
    line = ln;
    lineStart = ls;
  }

  function writeBytes(chunk: Buffer): void {
    if (chunk.length === 0) return;
    let b = chunk;
    if (carry !== null) {
      // The carried token moves to the front of one reused buffer and the chunk follows it:
      // no allocation per chunk (a fresh 64 KiB Buffer each time cost 12 MB of peak RSS).
      const total = carry.length + chunk.length;
      if (total <= scratch.length) {
        if (carry.buffer === scratch.buffer) scratch.copyWithin(0, carry.byteOffset - scratch.byteOffset, carry.byteOffset - scratch.byteOffset + carry.length);
        else carry.copy(scratch, 0);
        chunk.copy(scratch, carry.length);
        b = scratch.subarray(0, total);
      } else {
        b = Buffer.concat([carry, chunk]);
      }
    }
    cur = b;
    curAscii = isAscii(b);
    if (!rootSeen) refuseDoctypeAhead(b);
    const keep = scan(b);
    const newBase = base + keep;
    if (lineStart < newBase) {
      const from = lineStart < base ? 0 : lineStart - base;
      lineCharsBefore = (lineStart < base ? lineCharsBefore : 0) + charCount(b, from, keep);
    }
    carry = keep < b.length ? b.subarray(keep) : null;
    if (carry !== null) {
      cur = carry;
      curAscii = isAscii(carry);
    } else {
      cur = EMPTY;
      curAscii = true;
    }
    base = newBase;
  }

  function bytePosition(): XmlBytePosition {
    const inCur = Math.max(0, Math.min(cur.length, at - base));
    const column = lineStart >= base ? charCount(cur, Math.min(inCur, lineStart - base), inCur) : lineCharsBefore + charCount(cur, 0, inCur);
    return { line, column: column + 1, byteOffset: at };
  }

  function endFail(message: string): never {
    at = base + cur.length;
    // The error is at the end of the input: count the carried token's lines.
    countLines(cur, 0, cur.length);
    throw new TokenizerError('PL_PARSE_TRUNCATED', message);
  }

  return {
    writeBytes,
    write(text: string): void {
      writeBytes(Buffer.from(text, 'utf8'));
    },
    end(): void {
      if (carry !== null) {
        if (carry[0] === LT) endFail('unexpected end of input inside markup');
        if (depth > 0) endFail(`unclosed tag: ${stack[depth - 1]!.qname}`);
        for (let k = 0; k < carry.length; k++) {
          const c = carry[k]!;
          if (c !== SPACE && c !== NL && c !== TAB && c !== CR) {
            at = base + k;
            countLines(cur, 0, k);
            throw new TokenizerError('PL_PARSE_XML_MALFORMED', 'text data outside of root node');
          }
        }
      }
      if (depth > 0) endFail(`unclosed tag: ${stack[depth - 1]!.qname}`);
      if (!rootSeen) endFail('document must contain a root element');
    },
    bytePosition,
    position() {
      const p = bytePosition();
      return { line: p.line, column: p.column, charOffset: p.byteOffset };
    },
  };
}
