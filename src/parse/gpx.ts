/**
 * GPX 1.0 / 1.1 state machine.
 *
 * Rules (test/python/fidelity_reference.py applies the same):
 * - Each `trk` is an activity (`activity_index`); each `trkseg` within it a segment
 *   (`segment_index`): a segment break is a pause. GPX has no laps (`lap_index` null).
 * - Waypoints (`wpt`) and routes (`rte`/`rtept`) are plans or marks, not recorded samples:
 *   they are skipped and counted in `ignored_point_count`.
 * - A `trkpt` without `time` has no natural key: dropped and counted (`dropped_point_count`).
 * - Values by local name, under any namespace prefix or none, anywhere inside the trkpt
 *   (GPX 1.0 puts `speed` in the trkpt, 1.1 puts everything in `extensions`); the first
 *   non-null value in document order wins:
 *   `hr`, `heartrate` → heart_rate_bpm; `cad`, `cadence` → cadence_rpm;
 *   `atemp`, `temp`, `Temperature` → temperature_c; `power`, `PowerInWatts` → power_w;
 *   `speed` → speed_mps; `distance` → distance_m. Others (course, hAcc, verticalSpeed,
 *   gpxdata:altitude, seaLevelPressure, acceleration) are ignored.
 * - Within one track an instant earlier than the previous one is PL_PARSE_TIME_ORDER.
 */
import type { SampleRow } from '../records/rows.ts';
import { ParseFault } from './errors.ts';
import type { FormatMachine, TimeOrderPolicy } from './machine.ts';
import { parseInstant } from './time.ts';
import { type FileInfo, type ParseContext, SampleStats, emptyFileInfo, emptySample, toNumber } from './values.ts';

const enum F {
  None,
  Time,
  Ele,
  Hr,
  Cad,
  Temp,
  Power,
  Speed,
  Dist,
  TrkType,
  MetaAuthorName,
}

export function createGpxMachine(ctx: ParseContext, timeOrder: TimeOrderPolicy = 'reject'): FormatMachine {
  const samples: SampleRow[] = [];
  const info = emptyFileInfo(ctx, 'gpx');
  const stats = new SampleStats();
  const sports: string[] = [];
  const defaultOffset = ctx.utcOffsetMin;

  let depth = 0;
  let trkIndex = -1;
  let trkDepth = -1;
  let segIndex = -1;
  let point: SampleRow | null = null;
  let pointDepth = -1;
  let pointHasTime = false;
  let metadataDepth = -1;
  let authorDepth = -1;
  let prevTimeUs = -Infinity;
  let field = F.None;
  let text = '';

  function coord(value: string | undefined, name: string): number | null {
    return value === undefined ? null : toNumber(value, name);
  }

  return {
    samples,
    laps: [],
    rootName: 'gpx',
    open(name, attributes) {
      depth++;
      if (point !== null) {
        switch (name) {
          case 'time': field = depth === pointDepth + 1 ? F.Time : F.None; break;
          case 'ele': field = F.Ele; break;
          case 'hr': case 'heartrate': field = F.Hr; break;
          case 'cad': case 'cadence': field = F.Cad; break;
          case 'atemp': case 'temp': case 'Temperature': field = F.Temp; break;
          case 'power': case 'PowerInWatts': field = F.Power; break;
          case 'speed': field = F.Speed; break;
          case 'distance': field = F.Dist; break;
          default: field = F.None; break;
        }
        text = '';
        return;
      }
      switch (name) {
        case 'gpx':
          if (depth === 1) info.creator_name = attributes['creator'] ?? null;
          break;
        case 'trk':
          trkIndex++;
          trkDepth = depth;
          segIndex = -1;
          prevTimeUs = -Infinity;
          sports.push('');
          break;
        case 'trkseg':
          if (trkDepth >= 0) segIndex++;
          break;
        case 'trkpt':
          if (trkDepth < 0) break;
          point = emptySample(ctx, 'gpx', trkIndex);
          point.segment_index = segIndex >= 0 ? segIndex : null;
          point.latitude_deg = coord(attributes['lat'], 'lat');
          point.longitude_deg = coord(attributes['lon'], 'lon');
          pointDepth = depth;
          pointHasTime = false;
          break;
        case 'wpt':
        case 'rtept':
          info.ignored_point_count++;
          break;
        case 'type':
          if (trkDepth === depth - 1) field = F.TrkType;
          break;
        case 'metadata':
          if (depth === 2) metadataDepth = depth;
          break;
        case 'author':
          if (metadataDepth === depth - 1) authorDepth = depth;
          break;
        case 'name':
          if (authorDepth === depth - 1) field = F.MetaAuthorName;
          break;
        default:
          break;
      }
      text = '';
    },
    text(t) {
      if (field !== F.None) text += t;
    },
    close(name) {
      const d = depth--;
      if (point !== null) {
        if (d === pointDepth) {
          if (pointHasTime) {
            if (point.time_utc_us < prevTimeUs && timeOrder === 'reject') {
              throw new ParseFault('PL_PARSE_TIME_ORDER', `trkpt time goes backwards (${point.time_utc_us} µs < ${prevTimeUs} µs)`);
            }
            prevTimeUs = point.time_utc_us;
            samples.push(point);
            stats.add(point);
          } else {
            info.dropped_point_count++;
          }
          point = null;
          pointDepth = -1;
          return;
        }
        if (field !== F.None) {
          const p = point;
          switch (field) {
            case F.Time: {
              const t = parseInstant(text, defaultOffset);
              p.time_utc_us = t.utcUs;
              p.utc_offset_min = t.offsetMin ?? defaultOffset;
              pointHasTime = true;
              break;
            }
            case F.Ele: if (p.altitude_m === null) p.altitude_m = toNumber(text, name); break;
            case F.Hr: if (p.heart_rate_bpm === null) p.heart_rate_bpm = toNumber(text, name); break;
            case F.Cad: if (p.cadence_rpm === null) p.cadence_rpm = toNumber(text, name); break;
            case F.Temp: if (p.temperature_c === null) p.temperature_c = toNumber(text, name); break;
            case F.Power: if (p.power_w === null) p.power_w = toNumber(text, name); break;
            case F.Speed: if (p.speed_mps === null) p.speed_mps = toNumber(text, name); break;
            case F.Dist: if (p.distance_m === null) p.distance_m = toNumber(text, name); break;
            default: break;
          }
          field = F.None;
        }
        return;
      }
      if (field !== F.None) {
        const t = text.trim();
        if (field === F.TrkType) sports[trkIndex] = t;
        else if (field === F.MetaAuthorName) info.author_name = t || null;
        field = F.None;
        return;
      }
      if (d === trkDepth) trkDepth = -1;
      else if (d === authorDepth) authorDepth = -1;
      else if (d === metadataDepth) metadataDepth = -1;
    },
    finish(): FileInfo {
      stats.fill(info);
      info.activity_count = trkIndex + 1;
      const named = sports.filter((s) => s !== '');
      info.sport = named.length > 0 ? sports.join(',') : null;
      info.content = info.activity_count > 0 ? 'activity' : 'empty';
      return info;
    },
  };
}
