/**
 * FIT payloads through the official Garmin SDK (@garmin/fitsdk). The SDK decodes from one
 * buffer (it has no streaming decoder), so the payload is buffered up to
 * `limits.maxFitBytes` (default 128 MiB; a 24-hour 1 Hz FIT is about 10 MB) and refused
 * beyond with PL_PARSE_FIT_TOO_LARGE.
 *
 * Rules (test/python/fidelity_reference.py applies the same, with Garmin's Python SDK):
 * - Chained FIT files are read as one (the SDK walks them all).
 * - `hr` messages (HRM-Swim / HRM-Tri) are merged into records, as the SDK does by default.
 * - `activity_index` = the session whose start_time is the latest at or before the record;
 *   `lap_index` = the lap (within that session) likewise; records before any session /
 *   lap get 0 / null. `segment_index` = number of timer stop events strictly before the record.
 * - Records without a timestamp are dropped and counted; records are kept in file order, and
 *   one whose timestamp is earlier than the previous record's is flagged time_backwards
 *   (PL_PARSE_TIME_ORDER only with timeOrder 'reject'), as TCX and GPX points are.
 * - Positions: semicircles × 180 / 2^31 → degrees. `altitude_m` / `speed_mps` prefer the
 *   enhanced fields. `left_right_balance_pct` is the 7-bit percent of the balance byte.
 * - `utc_offset_min` from the activity message (local_timestamp − timestamp), else the
 *   context's offset.
 * - Any decoder error (bad header, CRC, truncation) is PL_PARSE_FIT_INVALID: the file is
 *   dead-lettered whole, never half-loaded.
 */
import { Decoder, Stream } from '@garmin/fitsdk';
import type { LapRow, SampleRow } from '../records/rows.ts';
import { ParseError } from './errors.ts';
import type { TimeOrderPolicy } from './machine.ts';
import { type FileInfo, Flaws, type ParseContext, SampleStats, emptyFileInfo, emptyLap, emptySample } from './values.ts';

const FIT_EPOCH_S = 631065600;
const SEMICIRCLE_TO_DEG = 180 / 2147483648;

type Mesg = Record<string, unknown>;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** FIT profile names are snake_case (`session_end`); the JS SDK camel-cases them. */
function enumName(v: unknown): string | null {
  const s = str(v);
  return s === null ? null : s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function timeMs(v: unknown): number | null {
  return v instanceof Date && !Number.isNaN(v.getTime()) ? v.getTime() : null;
}

/** Index of the last start ≤ t in ascending `starts`, or -1. */
function lastAtOrBefore(starts: number[], t: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= t) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

export interface FitResult {
  samples: SampleRow[];
  laps: LapRow[];
  info: FileInfo;
}

export function decodeFit(bytes: Buffer, ctx: ParseContext, timeOrder: TimeOrderPolicy = 'keep'): FitResult {
  const stream = Stream.fromBuffer(bytes);
  const decoder = new Decoder(stream);
  if (!decoder.isFIT()) throw new ParseError('PL_PARSE_FIT_INVALID', 'not a FIT file (header)', ctx.file, { byteOffset: 0 });
  const { messages, errors } = decoder.read({ includeUnknownData: false, mergeHeartRates: true });
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new ParseError('PL_PARSE_FIT_INVALID', `FIT decoder: ${first.message}`, ctx.file, { byteOffset: stream.position }, { cause: first });
  }
  const m = messages as unknown as Record<string, Mesg[] | undefined>;
  const records = m['recordMesgs'] ?? [];
  const sessionMesgs = m['sessionMesgs'] ?? [];
  const lapMesgs = m['lapMesgs'] ?? [];
  const events = m['eventMesgs'] ?? [];
  const activity = (m['activityMesgs'] ?? [])[0];

  const info = emptyFileInfo(ctx, 'fit');
  let offsetMin = ctx.utcOffsetMin;
  if (activity !== undefined) {
    const ts = timeMs(activity['timestamp']);
    const local = num(activity['localTimestamp']);
    if (ts !== null && local !== null) offsetMin = Math.round((local + FIT_EPOCH_S - ts / 1000) / 60);
  }

  const sessions = sessionMesgs
    .map((s) => ({ start: timeMs(s['startTime']) ?? timeMs(s['timestamp']) ?? Number.NEGATIVE_INFINITY, sport: enumName(s['sport']) }))
    .sort((a, b) => a.start - b.start);
  const sessionStarts = sessions.map((s) => s.start);

  const lapsOrdered = lapMesgs
    .map((l) => ({ l, start: timeMs(l['startTime']) ?? timeMs(l['timestamp']) }))
    .filter((x): x is { l: Mesg; start: number } => x.start !== null)
    .sort((a, b) => a.start - b.start);
  const laps: LapRow[] = [];
  const lapStartsBySession = new Map<number, number[]>();
  for (const { l, start } of lapsOrdered) {
    const a = Math.max(0, lastAtOrBefore(sessionStarts, start));
    const starts = lapStartsBySession.get(a) ?? [];
    lapStartsBySession.set(a, starts);
    const row = emptyLap(ctx, 'fit', a, starts.length);
    starts.push(start);
    row.start_time_utc_us = start * 1000;
    row.utc_offset_min = offsetMin;
    row.total_time_s = num(l['totalTimerTime']);
    row.distance_m = num(l['totalDistance']);
    row.max_speed_mps = num(l['enhancedMaxSpeed']) ?? num(l['maxSpeed']);
    row.calories_kcal = num(l['totalCalories']);
    row.avg_heart_rate_bpm = num(l['avgHeartRate']);
    row.max_heart_rate_bpm = num(l['maxHeartRate']);
    row.avg_cadence_rpm = num(l['avgCadence']);
    row.avg_power_w = num(l['avgPower']);
    row.intensity = enumName(l['intensity']);
    row.trigger_method = enumName(l['lapTrigger']);
    laps.push(row);
  }

  const stops = events
    .filter((e) => e['event'] === 'timer' && (e['eventType'] === 'stop' || e['eventType'] === 'stopAll'))
    .map((e) => timeMs(e['timestamp']))
    .filter((t): t is number => t !== null)
    .sort((a, b) => a - b);

  const stats = new SampleStats();
  const flaws = new Flaws();
  const samples: SampleRow[] = [];
  let prevMs = Number.NEGATIVE_INFINITY;
  for (const r of records) {
    const t = timeMs(r['timestamp']);
    if (t === null) {
      info.dropped_point_count++;
      continue;
    }
    let flags = 0;
    if (t < prevMs) {
      if (timeOrder === 'reject') {
        throw new ParseError('PL_PARSE_TIME_ORDER', `record time goes backwards (${t * 1000} µs < ${prevMs * 1000} µs)`, ctx.file, { byteOffset: null });
      }
      flags = flaws.backwards();
    }
    prevMs = t;
    const a = Math.max(0, lastAtOrBefore(sessionStarts, t));
    const row = emptySample(ctx, 'fit', a);
    row.time_utc_us = t * 1000;
    row.utc_offset_min = offsetMin;
    const lapStarts = lapStartsBySession.get(a);
    const li = lapStarts === undefined ? -1 : lastAtOrBefore(lapStarts, t);
    row.lap_index = li >= 0 ? li : null;
    row.segment_index = lastAtOrBefore(stops, t - 1) + 1;
    const lat = num(r['positionLat']);
    const lon = num(r['positionLong']);
    row.latitude_deg = lat === null ? null : lat * SEMICIRCLE_TO_DEG;
    row.longitude_deg = lon === null ? null : lon * SEMICIRCLE_TO_DEG;
    row.altitude_m = num(r['enhancedAltitude']) ?? num(r['altitude']);
    row.distance_m = num(r['distance']);
    row.heart_rate_bpm = num(r['heartRate']);
    row.cadence_rpm = num(r['cadence']);
    row.speed_mps = num(r['enhancedSpeed']) ?? num(r['speed']);
    row.power_w = num(r['power']);
    row.temperature_c = num(r['temperature']);
    row.vertical_oscillation_mm = num(r['verticalOscillation']);
    row.stance_time_ms = num(r['stanceTime']);
    row.step_length_mm = num(r['stepLength']);
    const balance = num(r['leftRightBalance']);
    row.left_right_balance_pct = balance === null ? null : balance & 0x7f;
    row.quality_flags = flags;
    samples.push(row);
    stats.add(row);
  }

  const fileId = (m['fileIdMesgs'] ?? [])[0];
  const creator = (m['deviceInfoMesgs'] ?? []).find((d) => d['deviceIndex'] === 'creator' || d['deviceIndex'] === 0);
  info.author_name = str(fileId?.['manufacturer']);
  info.creator_name =
    str(creator?.['productName']) ?? str(creator?.['garminProduct']) ?? str(fileId?.['productName']) ?? str(fileId?.['garminProduct']) ?? str(fileId?.['product']);
  info.creator_version = str(creator?.['softwareVersion']);
  stats.fill(info);
  flaws.fill(info);
  info.activity_count = sessions.length > 0 ? sessions.length : samples.length > 0 ? 1 : 0;
  info.lap_count = laps.length;
  const sportList = sessions.map((s) => s.sport ?? '');
  info.sport = sportList.some((s) => s !== '') ? sportList.join(',') : null;
  info.content = samples.length > 0 || laps.length > 0 ? 'activity' : 'empty';
  if (info.utc_offset_min === null) info.utc_offset_min = offsetMin;
  return { samples, laps, info };
}
