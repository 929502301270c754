/**
 * Time for the date-based payloads: clock-time map keys (`"HH:MM"` hypnogram, sleep heart
 * rate, Nightly Recharge HRV and breathing) placed on real instants, SleepWise's "UTC without
 * Z", and ECG/SpO2 epoch seconds with an offset in minutes.
 *
 * A clock key has no date and a night crosses midnight. Each key is placed on the first date
 * at or after the night's start: the start's local date when the key's wall time is not
 * earlier than the start (less a tolerance: the first hypnogram key is the start truncated to
 * the minute, and Polar may key a sample a little before it), else the next date. The rule
 * needs no key order (a JSON map may come sorted as text, "00:05" before "23:50") and a
 * night under 23 hours is never ambiguous.
 *
 * The wall time is read at the start's offset. When the night's end has another offset (a
 * DST change or a flight), keys after 02:00 local on the wake-up date are read at the end's:
 * civil DST changes happen between 01:00 and 03:00 local, and a map key cannot tell the
 * repeated hour of an autumn change apart anyway.
 */
import { dateMidnightUtcMs } from '../parse/json-payload.ts';

const MIN_MS = 60_000;
const DAY_MS = 86_400_000;
const CLOCK = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** Where a night starts and ends, as instants and the offsets they were written with. */
export interface NightAnchor {
  readonly startUtcMs: number;
  /** Offset of the start; null: wall times are read as UTC (and rows say null). */
  readonly startOffsetMin: number | null;
  readonly endUtcMs: number | null;
  readonly endOffsetMin: number | null;
  /** Keys up to this many minutes before the start still belong to the start's evening. @default 60 */
  readonly toleranceMin?: number;
}

export interface PlacedClockKey {
  readonly utcMs: number;
  readonly offsetMin: number | null;
}

/** Milliseconds since midnight of `HH:MM` or `HH:MM:SS`; null for anything else. */
export function clockKeyMs(key: string): number | null {
  const m = CLOCK.exec(key);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  const s = Number(m[3] ?? 0);
  if (h > 23 || min > 59 || s > 59) return null;
  return ((h * 60 + min) * 60 + s) * 1000;
}

/** Places one clock key of a night (see the module comment); null when the key is not a clock time. */
export function placeClockKey(key: string, anchor: NightAnchor): PlacedClockKey | null {
  const ofDay = clockKeyMs(key);
  if (ofDay === null) return null;
  const startOffset = anchor.startOffsetMin ?? 0;
  const startWallMs = anchor.startUtcMs + startOffset * MIN_MS;
  let wallMs = Math.floor(startWallMs / DAY_MS) * DAY_MS + ofDay;
  if (wallMs < startWallMs - (anchor.toleranceMin ?? 60) * MIN_MS) wallMs += DAY_MS;
  let offsetMin = anchor.startOffsetMin;
  if (anchor.endUtcMs !== null && anchor.endOffsetMin !== null && anchor.endOffsetMin !== anchor.startOffsetMin) {
    const endWallMs = anchor.endUtcMs + anchor.endOffsetMin * MIN_MS;
    const switchWallMs = Math.floor(endWallMs / DAY_MS) * DAY_MS + 2 * 60 * MIN_MS;
    if (wallMs > switchWallMs) offsetMin = anchor.endOffsetMin;
  }
  return { utcMs: wallMs - (offsetMin ?? 0) * MIN_MS, offsetMin };
}

/**
 * The anchor of a night known only by its result date (Nightly Recharge without the night's
 * sleep): keys from 12:00 on belong to the evening before `date`, earlier keys to `date`;
 * wall times are read as UTC with a null offset.
 */
export function noonAnchor(date: string): NightAnchor | null {
  const midnight = dateMidnightUtcMs(date);
  if (midnight === null) return null;
  return { startUtcMs: midnight - 12 * 60 * MIN_MS, startOffsetMin: null, endUtcMs: null, endOffsetMin: null, toleranceMin: 0 };
}

/** ECG / SpO2 `test_time` (epoch seconds) → epoch ms; null when not a finite number. */
export function epochSecondsMs(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1000) : null;
}

/** Local calendar date (`YYYY-MM-DD`) of an instant at an offset (UTC date when the offset is null). */
export function localDateAt(utcMs: number, offsetMin: number | null): string {
  return new Date(utcMs + (offsetMin ?? 0) * MIN_MS).toISOString().slice(0, 10);
}
