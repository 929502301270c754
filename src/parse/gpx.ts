/**
 * GPX 1.0 / 1.1 state machine.
 *
 * Rules (test/python/fidelity_reference.py applies the same):
 * - Each `trk` is an activity (`activity_index`); each `trkseg` within it a segment
 *   (`segment_index`): a segment break is a pause. GPX has no laps (`lap_index` null).
 * - Routes (`rte`/`rtept`) are plans, not recorded samples: each rtept with a position is a
 *   route row (`route_index` counts rte, `name` is the rte name; `ele`, `time`, `sat`, `fix`
 *   read; fix none/2d/3d/dgps/pps → 0/2/3/4/5). Waypoints (`wpt`) are marks: skipped and
 *   counted in `ignored_point_count`.
 * - A `trkpt` without `time` has no natural key: dropped and counted (`dropped_point_count`);
 *   one whose time does not parse likewise (`time_unparseable_count`).
 * - Salvage, not rejection: a number (coordinates included) that is not one is null, a
 *   decimal comma is a decimal point (values.ts toNumber); the sample is flagged.
 * - Values by local name, under any namespace prefix or none, anywhere inside the trkpt
 *   (GPX 1.0 puts `speed` in the trkpt, 1.1 puts everything in `extensions`); the first
 *   non-null value in document order wins:
 *   `hr`, `heartrate` → heart_rate_bpm; `cad`, `cadence` → cadence_rpm;
 *   `atemp`, `temp`, `Temperature` → temperature_c; `power`, `PowerInWatts` → power_w;
 *   `speed` → speed_mps; `distance` → distance_m. Others (course, hAcc, verticalSpeed,
 *   gpxdata:altitude, seaLevelPressure, acceleration) are ignored.
 * - Within one track an instant earlier than the previous point's is kept in file order and
 *   flagged time_backwards (PL_PARSE_TIME_ORDER only with timeOrder 'reject').
 */
import type { RouteRow, SampleRow } from '../records/rows.ts';
import { ParseFault } from './errors.ts';
import { type FormatMachine, type MachineOptions, tooDeep, wrongRoot } from './machine.ts';
import { DEFAULT_LIMITS } from './xml/limits.ts';
import { type ParsedInstant, parseInstantBytes, readInstantInto } from './time.ts';
import { type FileInfo, Flaws, type ParseContext, PRESENT as P, SampleStats, decimalBytes, emptyFileInfo, toNumber } from './values.ts';

/** Order matters: Ele to Dist are the trkpt's numbers (textBytes tests `field <= F.Dist`). */
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
  /** rtept only: satellites (a number through the string path) and fix (a word). */
  Sat,
  Fix,
  TrkType,
  MetaAuthorName,
  RteName,
}

/** GPX fixType → the routes table's `fix` code. */
const FIX_CODES: Readonly<Record<string, number>> = Object.freeze({ none: 0, '2d': 2, '3d': 3, dgps: 4, pps: 5 });

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});
const ROOT = 'gpx';

export /** The attributes object open() takes, from openBytes' spans (the uncommon cases only). */
function attributesOf(b: Buffer, spans: Int32Array, count: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let a = 0; a < 4 * count; a += 4) attributes[b.toString('utf8', spans[a], spans[a + 1])] = b.toString('utf8', spans[a + 2], spans[a + 3]);
  return attributes;
}

export function createGpxMachine(ctx: ParseContext, options: MachineOptions = { timeOrder: 'keep', maxDepth: DEFAULT_LIMITS.maxDepth }): FormatMachine {
  const { timeOrder, maxDepth } = options;
  const samples: SampleRow[] = [];
  const routes: RouteRow[] = [];
  const flaws = new Flaws();
  const info = emptyFileInfo(ctx, 'gpx');
  const stats = new SampleStats();
  const sports: string[] = [];
  const defaultOffset = ctx.utcOffsetMin;

  let depth = 0;
  let trkIndex = -1;
  let trkDepth = -1;
  let segIndex = -1;
  let rteIndex = -1;
  let rteDepth = -1;
  let rtePoint = 0;
  let rteName: string | null = null;
  // The open trkpt's fields live in locals until its close builds the row in one object
  // literal (one allocation, one hidden class for every row).
  let inPoint = false;
  let pointDepth = -1;
  let pointHasTime = false;
  /** The open point's time was there but is not a date-time. */
  let pointTimeBad = false;
  /** The open point is an rtept (a route row), not a sample. */
  let pointIsRoute = false;
  let pSat: number | null = null;
  let pFix: number | null = null;
  let pTime = 0;
  let pOffset: number | null = null;
  let pSeg: number | null = null;
  let pLat: number | null = null;
  let pLon: number | null = null;
  let pEle: number | null = null;
  let pDist: number | null = null;
  let pHr: number | null = null;
  let pCad: number | null = null;
  let pSpeed: number | null = null;
  let pPower: number | null = null;
  let pTemp: number | null = null;
  const userId = ctx.userId;
  const exerciseId = ctx.exerciseId;
  const parsed: ParsedInstant = { utcUs: 0, offsetMin: null, zoned: false };
  let metadataDepth = -1;
  let authorDepth = -1;
  let prevTimeUs = -Infinity;
  let field = F.None;
  let text = '';

  function coord(value: string | undefined): number | null {
    return value === undefined ? null : toNumber(value, flaws);
  }

  /** The field an element at `elementDepth` inside the open trkpt is, by its local name. */
  function pointField(name: string, elementDepth: number): F {
    switch (name) {
      case 'time': return elementDepth === pointDepth + 1 ? F.Time : F.None;
      case 'ele': return F.Ele;
      case 'hr': case 'heartrate': return F.Hr;
      case 'cad': case 'cadence': return F.Cad;
      case 'atemp': case 'temp': case 'Temperature': return F.Temp;
      case 'power': case 'PowerInWatts': return F.Power;
      case 'speed': return F.Speed;
      case 'distance': return F.Dist;
      case 'sat': return pointIsRoute && elementDepth === pointDepth + 1 ? F.Sat : F.None;
      case 'fix': return pointIsRoute && elementDepth === pointDepth + 1 ? F.Fix : F.None;
      default: return F.None;
    }
  }

  /** Opens a point whose coordinates were just read (flaws.point cleared before reading them). */
  function startPoint(lat: number | null, lon: number | null, route: boolean): void {
    inPoint = true;
    pointIsRoute = route;
    pSat = pFix = null;
    pointTimeBad = false;
    pTime = 0;
    pOffset = null;
    pSeg = segIndex >= 0 ? segIndex : null;
    pLat = lat;
    pLon = lon;
    pEle = pDist = pHr = pCad = pSpeed = pPower = pTemp = null;
    pointDepth = depth;
    pointHasTime = false;
  }

  /**
   * A coordinate from the bytes of an attribute named `lat` or `lon` (0x61 0x74 / 0x6f 0x6e
   * after the `l`), null without one; a value decimalBytes declines takes the string rule.
   */
  function coordBytes(b: Buffer, spans: Int32Array, count: number, c1: number, c2: number): number | null {
    for (let a = 0; a < 4 * count; a += 4) {
      const s = spans[a]!;
      if (spans[a + 1]! - s !== 3 || b[s] !== 0x6c || b[s + 1] !== c1 || b[s + 2] !== c2) continue;
      const start = spans[a + 2]!;
      const end = spans[a + 3]!;
      const v = decimalBytes(b, start, end);
      return v === v ? v : toNumber(b.toString('utf8', start, end), flaws);
    }
    return null;
  }

  /** The fast tokenizer's open of a `trkpt` (attributeBytesElement): what open() does, from bytes. */
  function openBytes(name: string, b: Buffer, spans: Int32Array, count: number): void {
    if (depth + 1 > maxDepth || depth === 0 || inPoint || trkDepth < 0) {
      open(name, attributesOf(b, spans, count));
      return;
    }
    depth++;
    flaws.point = 0;
    startPoint(coordBytes(b, spans, count, 0x61, 0x74), coordBytes(b, spans, count, 0x6f, 0x6e), false);
    text = '';
  }

  function open(name: string, attributes: Readonly<Record<string, string>>): void {
    if (++depth > maxDepth) tooDeep(maxDepth);
    if (depth === 1 && name !== ROOT) wrongRoot(name, ROOT);
    if (inPoint) {
      field = pointField(name, depth);
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
        flaws.point = 0;
        startPoint(coord(attributes['lat']), coord(attributes['lon']), false);
        break;
      case 'rte':
        rteIndex++;
        rteDepth = depth;
        rtePoint = 0;
        rteName = null;
        break;
      case 'rtept':
        if (rteDepth < 0) {
          info.ignored_point_count++;
          break;
        }
        flaws.point = 0;
        startPoint(coord(attributes['lat']), coord(attributes['lon']), true);
        break;
      case 'wpt':
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
        else if (rteDepth === depth - 1) field = F.RteName;
        break;
      default:
        break;
    }
    text = '';
  }
  function onText(t: string): void {
    if (field !== F.None) text += t;
  }
  // The fast tokenizer's path for an element's whole text: a trkpt's numbers and time are
  // read from the bytes and stored at once (field cleared, so close() does nothing more).
  // Anything the byte readers do not take is decoded and left to close() and its errors.
  function textBytes(b: Buffer, start: number, end: number): void {
    if (field === F.None) return;
    if (field === F.Time) {
      if (parseInstantBytes(b, start, end, defaultOffset, parsed)) {
        pTime = parsed.utcUs;
        pOffset = parsed.offsetMin ?? defaultOffset;
        pointHasTime = true;
        field = F.None;
        return;
      }
    } else if (field <= F.Dist) {
      const v = decimalBytes(b, start, end);
      if (v === v) {
        switch (field) {
          case F.Ele: if (pEle === null) pEle = v; break;
          case F.Hr: if (pHr === null) pHr = v; break;
          case F.Cad: if (pCad === null) pCad = v; break;
          case F.Temp: if (pTemp === null) pTemp = v; break;
          case F.Power: if (pPower === null) pPower = v; break;
          case F.Speed: if (pSpeed === null) pSpeed = v; break;
          case F.Dist: if (pDist === null) pDist = v; break;
          default: break;
        }
        field = F.None;
        return;
      }
    }
    text += b.toString('utf8', start, end);
  }
  /**
   * open + textBytes + close in one call (see XmlHandler.leaf); declines an element that
   * would be too deep, so every error keeps the position the three events give it.
   */
  function leaf(name: string, b: Buffer, start: number, end: number): boolean {
    if (depth >= maxDepth) return false;
    if (inPoint) {
      // A trkpt field (the hot path): what open + textBytes + close would do, without the
      // depth bookkeeping; a text the byte readers decline takes close()'s string rule.
      field = pointField(name, depth + 1);
      text = '';
      textBytes(b, start, end);
      if (field !== F.None) {
        depth++;
        close();
      }
      return true;
    }
    open(name, NO_ATTRIBUTES);
    textBytes(b, start, end);
    close();
    return true;
  }

  function close(): void {
    const d = depth--;
    if (inPoint) {
      if (d === pointDepth) {
        if (pointIsRoute) {
          closeRoutePoint();
        } else if (pointHasTime) {
          let flags = flaws.point;
          if (pTime < prevTimeUs) {
            if (timeOrder === 'reject') throw new ParseFault('PL_PARSE_TIME_ORDER', `trkpt time goes backwards (${pTime} µs < ${prevTimeUs} µs)`);
            flags |= flaws.backwards();
          }
          prevTimeUs = pTime;
          const row: SampleRow = {
            user_id: userId,
            exercise_id: exerciseId,
            source_format: 'gpx',
            time_utc_us: pTime,
            utc_offset_min: pOffset,
            activity_index: trkIndex,
            lap_index: null,
            segment_index: pSeg,
            latitude_deg: pLat,
            longitude_deg: pLon,
            altitude_m: pEle,
            distance_m: pDist,
            heart_rate_bpm: pHr,
            cadence_rpm: pCad,
            speed_mps: pSpeed,
            power_w: pPower,
            temperature_c: pTemp,
            sensor_state: null,
            vertical_oscillation_mm: null,
            stance_time_ms: null,
            step_length_mm: null,
            left_right_balance_pct: null,
            quality_flags: flags,
          };
          samples.push(row);
          stats.addPoint(
            pTime,
            pOffset,
            (pLat === null ? 0 : P.latitude_deg) | (pLon === null ? 0 : P.longitude_deg) | (pEle === null ? 0 : P.altitude_m) |
              (pDist === null ? 0 : P.distance_m) | (pHr === null ? 0 : P.heart_rate_bpm) | (pCad === null ? 0 : P.cadence_rpm) |
              (pSpeed === null ? 0 : P.speed_mps) | (pPower === null ? 0 : P.power_w) | (pTemp === null ? 0 : P.temperature_c),
          );
        } else if (pointTimeBad) {
          flaws.timeUnparseable++;
        } else {
          info.dropped_point_count++;
        }
        inPoint = false;
        pointDepth = -1;
        return;
      }
      if (field !== F.None) {
        switch (field) {
          case F.Time: {
            if (readInstantInto(text, defaultOffset, parsed)) {
              pTime = parsed.utcUs;
              pOffset = parsed.offsetMin ?? defaultOffset;
              pointHasTime = true;
            } else {
              pointTimeBad = true;
            }
            break;
          }
          case F.Ele: if (pEle === null) pEle = toNumber(text, flaws); break;
          case F.Hr: if (pHr === null) pHr = toNumber(text, flaws); break;
          case F.Cad: if (pCad === null) pCad = toNumber(text, flaws); break;
          case F.Temp: if (pTemp === null) pTemp = toNumber(text, flaws); break;
          case F.Power: if (pPower === null) pPower = toNumber(text, flaws); break;
          case F.Speed: if (pSpeed === null) pSpeed = toNumber(text, flaws); break;
          case F.Dist: if (pDist === null) pDist = toNumber(text, flaws); break;
          case F.Sat: if (pSat === null) pSat = toNumber(text, flaws); break;
          case F.Fix: if (pFix === null) pFix = FIX_CODES[text.trim()] ?? null; break;
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
      else if (field === F.RteName) rteName = t || null;
      field = F.None;
      return;
    }
    if (d === trkDepth) trkDepth = -1;
    else if (d === rteDepth) rteDepth = -1;
    else if (d === authorDepth) authorDepth = -1;
    else if (d === metadataDepth) metadataDepth = -1;
  }
  function closeRoutePoint(): void {
    if (pLat === null || pLon === null) {
      info.dropped_point_count++;
      return;
    }
    if (pointTimeBad) flaws.timeUnparseable++;
    routes.push({
      user_id: userId,
      exercise_id: exerciseId,
      source_format: 'gpx',
      route_index: rteIndex,
      point_index: rtePoint++,
      time_utc_us: pointHasTime ? pTime : null,
      utc_offset_min: pointHasTime ? pOffset : null,
      latitude_deg: pLat,
      longitude_deg: pLon,
      altitude_m: pEle,
      distance_m: pDist,
      satellites: pSat,
      fix: pFix,
      name: rteName,
    });
    info.route_point_count++;
  }

  function finish(): FileInfo {
    stats.fill(info);
    flaws.fill(info);
    info.activity_count = trkIndex + 1;
    const named = sports.filter((s) => s !== '');
    info.sport = named.length > 0 ? sports.join(',') : null;
    info.content = info.activity_count > 0 ? 'activity' : routes.length > 0 ? 'course' : 'empty';
    return info;
  }

  return {
    samples,
    laps: [],
    routes,
    open,
    openBytes,
    attributeBytesElement: 'trkpt',
    text: onText,
    textBytes,
    leaf,
    close,
    finish,
    get wantsText() {
      return field !== F.None;
    },
  };
}
