/**
 * What the JSON normalisers (exercise-summary.ts, daily-activity.ts, sleep.ts) share: a typed
 * error naming file and field, key normalisation (hyphenated and snake_case spellings give the
 * same row) and the date and value readers. Every reader returns null for a missing or
 * mistyped value: AccessLink's payloads are sparse and device-dependent, so every measured
 * column is nullable.
 */
import { PolarLakeError } from '../errors.ts';

/** A JSON payload that cannot become a row, naming the file and the field; dead-lettered by the parse stage. */
export abstract class PayloadFieldError extends PolarLakeError {
  readonly kind = 'terminal';
  constructor(
    message: string,
    readonly file: string,
    readonly field: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${field}: ${message}`, options);
  }
}

/** A daily payload (activity day, sleep night) that cannot become a row. */
export class DailyPayloadError extends PayloadFieldError {
  readonly code = 'PL_DAILY_INVALID';
}

export interface DailyContext {
  readonly userId: string;
  /** Raw zone key, named in errors. */
  readonly file: string;
  /** The date the payload was fetched for (FetchedEvent.date): used when the payload names none. */
  readonly date?: string | null;
}

const snake = (key: string) => key.replace(/-/g, '_');

/** Top-level keys to snake_case (nested maps such as the hypnogram keep their keys). */
export function snakeKeys(json: unknown, file: string): Record<string, unknown> {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new DailyPayloadError('expected a JSON object', file, '$');
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [snake(k), v]));
}

export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);
/** Integer columns: the API sends whole numbers; a fractional one is rounded rather than dropped. */
export const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : null);
export const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : null);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` (a real calendar date) → epoch milliseconds of its midnight UTC; null otherwise. */
export function dateMidnightUtcMs(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = DATE.exec(text);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().startsWith(text) ? ms : null;
}

/** The date part of `YYYY-MM-DDT...`, when it is a real date. */
export function datePart(text: unknown): string | null {
  if (typeof text !== 'string') return null;
  const d = text.slice(0, 10);
  return text.length === 10 || text[10] === 'T' ? (dateMidnightUtcMs(d) === null ? null : d) : null;
}

/**
 * A date-time with or without seconds, fraction and zone → UTC epoch µs and the offset it
 * carried (minutes east of UTC; null when it has no zone, and then the wall time is read as
 * UTC). AccessLink's daily payloads use all of: `2025-08-14T00:02`, `2025-08-13T08:15:30`,
 * `2020-01-01T00:39:07+03:00`, `2025-09-30T23:33:22.675+01:00`.
 */
export function readDateTime(text: unknown): { utcUs: number; offsetMin: number | null } | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const wallMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  if (!Number.isFinite(wallMs) || Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return null;
  let offsetMin: number | null = null;
  if (zone === 'Z') offsetMin = 0;
  else if (zone) {
    const digits = zone.replace(':', '');
    offsetMin = (zone[0] === '-' ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  const fracUs = frac ? Number(frac.padEnd(6, '0')) : 0;
  return { utcUs: (wallMs - (offsetMin ?? 0) * 60_000) * 1000 + fracUs, offsetMin };
}

/**
 * A payload field read as a date-time (readDateTime): null when absent or null, a typed error
 * naming the file and field when it is there but not a date-time.
 */
export function dateTimeAt(value: unknown, file: string, field: string): { utcUs: number; offsetMin: number | null } | null {
  if (value === undefined || value === null) return null;
  const t = readDateTime(value);
  if (!t) throw new DailyPayloadError(`not a date-time: ${JSON.stringify(value).slice(0, 40)}`, file, field);
  return t;
}
