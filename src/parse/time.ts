/**
 * ISO 8601 date-times as TCX, GPX and Polar write them → UTC epoch microseconds plus the
 * offset the string carries.
 *
 * Shapes accepted (every one is seen in the corpus): `2019-03-03T10:00:00Z`, fractions of
 * 1 to 9 digits (`.2Z`, `.212Z`, `.123456+02:00`), offsets `+hh:mm`, `+hhmm`, `+hh`, and no
 * zone at all. Fractions beyond microseconds are truncated, never rounded, so a
 * nanosecond string never moves to the next microsecond.
 *
 * No zone: the string is local time. When the caller knows the exercise's offset (from the
 * AccessLink summary) the instant is local − offset; otherwise it is read as UTC, the XML
 * Schema convention for TCX/GPX. The reference reader applies the same rule.
 */
import { ParseFault } from './errors.ts';

export interface ParsedInstant {
  utcUs: number;
  /** Offset written in the string, minutes east of UTC; null for `Z` and for no zone. */
  offsetMin: number | null;
  /** True when the string carried `Z` or an offset. */
  zoned: boolean;
}

function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function bad(s: string): never {
  throw new ParseFault('PL_PARSE_BAD_TIME', `not an ISO 8601 date-time: ${JSON.stringify(s.slice(0, 40))}`);
}

// The last calendar day seen (yyyymmdd) and its UTC midnight: a file's trackpoints share
// a handful of days, so the date is validated and converted once per day, not per point.
let cachedDayKey = -1;
let cachedDayMs = 0;

/**
 * Parses one timestamp into `out` (no allocation: the state machines call this once per
 * point). `defaultOffsetMin` applies to zone-less strings (see above).
 * Throws ParseFault PL_PARSE_BAD_TIME on anything else.
 */
export function parseInstantInto(raw: string, defaultOffsetMin: number | null, out: ParsedInstant): void {
  const s = raw.length > 0 && (raw.charCodeAt(0) <= 32 || raw.charCodeAt(raw.length - 1) <= 32) ? raw.trim() : raw;
  // charCodeAt: 45 '-', 58 ':', 84 'T', 32 ' '
  const sep = s.charCodeAt(10);
  if (s.length < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) bad(s);
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) bad(s);
  const dayKey = year * 10000 + month * 100 + day;
  let dayMs: number;
  if (dayKey === cachedDayKey && year >= 0 && month >= 0 && day >= 0) {
    dayMs = cachedDayMs;
  } else {
    if (year < 0 || month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] ?? 0)) bad(s);
    dayMs = Date.UTC(year, month - 1, day);
    if (month === 2 && day === 29 && new Date(dayMs).getUTCDate() !== 29) bad(s);
    cachedDayKey = dayKey;
    cachedDayMs = dayMs;
  }
  let i = 19;
  let fractionUs = 0;
  let c = s.charCodeAt(i);
  if (c === 46 || c === 44) {
    // '.' or ','
    i++;
    const start = i;
    let scale = 100000;
    while (i < s.length) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      if (scale >= 1) fractionUs += d * scale;
      scale /= 10;
      i++;
    }
    if (i === start) bad(s);
    fractionUs = Math.trunc(fractionUs);
    c = s.charCodeAt(i);
  }
  let offsetMin: number | null = null;
  let zoned = false;
  if (i < s.length) {
    if (c === 90 && i === s.length - 1) {
      // 'Z'
      zoned = true;
    } else if (c === 43 || c === 45) {
      // '+' or '-'
      const rest = s.length - i - 1;
      let oh = -1;
      let om = 0;
      if (rest === 5 && s.charCodeAt(i + 3) === 58) {
        oh = digits(s, i + 1, 2);
        om = digits(s, i + 4, 2);
      } else if (rest === 4) {
        oh = digits(s, i + 1, 2);
        om = digits(s, i + 3, 2);
      } else if (rest === 2) {
        oh = digits(s, i + 1, 2);
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59) bad(s);
      offsetMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
      zoned = true;
    } else {
      bad(s);
    }
  }
  const wallMs = dayMs + ((hour * 60 + minute) * 60 + second) * 1000;
  const shiftMin = zoned ? (offsetMin ?? 0) : (defaultOffsetMin ?? 0);
  out.utcUs = (wallMs - shiftMin * 60000) * 1000 + fractionUs;
  out.offsetMin = offsetMin;
  out.zoned = zoned;
}

function digitsAt(b: Uint8Array, from: number): number {
  const hi = b[from]! - 48;
  const lo = b[from + 1]! - 48;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
}

/**
 * parseInstantInto over the UTF-8 bytes b[start, end) of an element's text (the fast
 * tokenizer's textBytes), with no string made. Same shapes, same result, same day cache;
 * returns false instead of throwing (and leaves `out` and the cache as they were) for
 * anything it does not take, whitespace around the instant included: the caller then
 * decodes the text and calls parseInstantInto, which parses it or says why not.
 */
export function parseInstantBytes(b: Uint8Array, start: number, end: number, defaultOffsetMin: number | null, out: ParsedInstant): boolean {
  const n = end - start;
  if (n < 19) return false;
  const s = start;
  const sep = b[s + 10];
  if (b[s + 4] !== 45 || b[s + 7] !== 45 || (sep !== 84 && sep !== 32) || b[s + 13] !== 58 || b[s + 16] !== 58) return false;
  const y1 = digitsAt(b, s);
  const y2 = digitsAt(b, s + 2);
  const month = digitsAt(b, s + 5);
  const day = digitsAt(b, s + 8);
  const hour = digitsAt(b, s + 11);
  const minute = digitsAt(b, s + 14);
  const second = digitsAt(b, s + 17);
  if (y1 < 0 || y2 < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  const year = y1 * 100 + y2;
  const dayKey = year * 10000 + month * 100 + day;
  let dayMs: number;
  if (dayKey === cachedDayKey) {
    dayMs = cachedDayMs;
  } else {
    if (month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] ?? 0)) return false;
    dayMs = Date.UTC(year, month - 1, day);
    if (month === 2 && day === 29 && new Date(dayMs).getUTCDate() !== 29) return false;
    cachedDayKey = dayKey;
    cachedDayMs = dayMs;
  }
  let i = s + 19;
  let fractionUs = 0;
  let c = i < end ? b[i]! : -1;
  if (c === 46 || c === 44) {
    // '.' or ','; digits past the sixth are read and dropped (truncation, as parseInstantInto)
    i++;
    const first = i;
    let scale = 100000;
    for (; i < end; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      fractionUs += d * scale;
      scale = (scale / 10) | 0;
    }
    if (i === first) return false;
    c = i < end ? b[i]! : -1;
  }
  let offsetMin: number | null = null;
  let zoned = false;
  if (i < end) {
    if (c === 90 && i === end - 1) {
      zoned = true;
    } else if (c === 43 || c === 45) {
      const rest = end - i - 1;
      let oh = -1;
      let om = 0;
      if (rest === 5 && b[i + 3] === 58) {
        oh = digitsAt(b, i + 1);
        om = digitsAt(b, i + 4);
      } else if (rest === 4) {
        oh = digitsAt(b, i + 1);
        om = digitsAt(b, i + 3);
      } else if (rest === 2) {
        oh = digitsAt(b, i + 1);
      }
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offsetMin = (c === 45 ? -1 : 1) * (oh * 60 + om);
      zoned = true;
    } else {
      return false;
    }
  }
  const wallMs = dayMs + ((hour * 60 + minute) * 60 + second) * 1000;
  const shiftMin = zoned ? (offsetMin ?? 0) : (defaultOffsetMin ?? 0);
  out.utcUs = (wallMs - shiftMin * 60000) * 1000 + fractionUs;
  out.offsetMin = offsetMin;
  out.zoned = zoned;
  return true;
}

/**
 * parseInstantInto that answers false instead of throwing: a state machine keeps reading the
 * file and drops (and counts) the one point whose time it cannot read.
 */
export function readInstantInto(raw: string, defaultOffsetMin: number | null, out: ParsedInstant): boolean {
  try {
    parseInstantInto(raw, defaultOffsetMin, out);
    return true;
  } catch (error) {
    if (error instanceof ParseFault) return false;
    throw error;
  }
}

/** Parses one timestamp (see parseInstantInto); allocates its result. */
export function parseInstant(raw: string, defaultOffsetMin: number | null): ParsedInstant {
  const out: ParsedInstant = { utcUs: 0, offsetMin: null, zoned: false };
  parseInstantInto(raw, defaultOffsetMin, out);
  return out;
}
