/**
 * TCX (Garmin TrainingCenterDatabase v2) state machine.
 *
 * Rules (test/python/fidelity_reference.py applies the same):
 * - Every `Activity` anywhere under `Activities` is an activity, in document order
 *   (`MultiSportSession` / `FirstSport` / `NextSport` included); `activity_index` counts them.
 *   A multi-sport `Transition` is not a lap and its points are not samples.
 * - Every `Lap` of an activity is a lap row; `lap_index` counts laps within the activity and
 *   is set on each sample of the lap. `Track` breaks inside a lap are not recorded.
 * - A `Trackpoint` without `Time` has no natural key: it is dropped and counted
 *   (`dropped_point_count`). A Trackpoint with a time and nothing else is kept.
 * - `cadence_rpm` is `Cadence`, else the TPX `RunCadence`; `speed_mps` / `power_w` are TPX
 *   `Speed` / `Watts`, under any namespace prefix or none.
 * - `Courses` (a planned route) and `Workouts` (a plan) are not recorded workouts: no sample
 *   rows, `content` says 'course' / 'workouts'. Each Course's Trackpoints are route rows
 *   (`route_index` counts Courses, `name` is the Course Name); one without a position is
 *   dropped and counted, one without a time keeps a null time. CoursePoints and Workouts
 *   points count as ignored.
 * - Salvage, not rejection: a numeric text that is not a number is null, a decimal comma is
 *   a decimal point (values.ts toNumber); a Trackpoint whose Time does not parse is dropped
 *   and counted (time_unparseable); a Lap without a readable StartTime takes its first
 *   point's instant (dropped and counted when it has none).
 * - Within one activity an instant earlier than the previous point's is kept in file order
 *   and flagged time_backwards (PL_PARSE_TIME_ORDER only with timeOrder 'reject');
 *   a repeated instant is kept (the lake's dedup key decides).
 */
import type { LapRow, RouteRow, SampleRow } from '../records/rows.ts';
import { ParseFault } from './errors.ts';
import { type FormatMachine, type MachineOptions, tooDeep, wrongRoot } from './machine.ts';
import { DEFAULT_LIMITS } from './xml/limits.ts';
import { type ParsedInstant, parseInstantBytes, readInstantInto } from './time.ts';
import { type FileInfo, Flaws, type ParseContext, PRESENT as P, SampleStats, decimalBytes, emptyFileInfo, emptyLap, toNumber } from './values.ts';

const enum F {
  None,
  Time,
  Lat,
  Lon,
  Alt,
  Dist,
  Hr,
  Cad,
  Sensor,
  Speed,
  Watts,
  RunCad,
  LapTotalTime,
  LapDist,
  LapMaxSpeed,
  LapCalories,
  LapAvgHr,
  LapMaxHr,
  LapIntensity,
  LapCadence,
  LapTrigger,
  LapAvgWatts,
  LapAvgRunCad,
  CreatorName,
  VerMajor,
  VerMinor,
  BuildMajor,
  BuildMinor,
  AuthorName,
  CourseName,
  /** Not a field: the HeartRateBpm element whose Value child is one. */
  HrParent,
  /**
   * A Trackpoint field textBytes has already stored: close() then does what it does after
   * any field (and, like it, does not take the element for a HeartRateBpm ending).
   */
  Done,
}

const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});
const ROOT = 'TrainingCenterDatabase';

/**
 * Trackpoint child → field, by first character then one compare (a 12-way string switch
 * compares up to 12 times, and this runs for every element of every point).
 */
function trackpointField(name: string): F {
  switch (name.charCodeAt(0)) {
    case 84: return name === 'Time' ? F.Time : F.None; // T
    case 76: return name === 'LatitudeDegrees' ? F.Lat : name === 'LongitudeDegrees' ? F.Lon : F.None; // L
    case 65: return name === 'AltitudeMeters' ? F.Alt : F.None; // A
    case 68: return name === 'DistanceMeters' ? F.Dist : F.None; // D
    case 72: return name === 'HeartRateBpm' ? F.HrParent : F.None; // H
    case 86: return name === 'Value' ? F.Hr : F.None; // V
    case 67: return name === 'Cadence' ? F.Cad : F.None; // C
    case 83: return name === 'SensorState' ? F.Sensor : name === 'Speed' ? F.Speed : F.None; // S
    case 87: return name === 'Watts' ? F.Watts : F.None; // W
    case 82: return name === 'RunCadence' ? F.RunCad : F.None; // R
    default: return F.None;
  }
}

/** The two SensorState values TCX defines, as constant strings; null for any other text. */
function sensorState(b: Buffer, start: number, end: number): string | null {
  // A byte compare (Buffer.compare costs more than the rest of the point's fields).
  const n = end - start;
  if (n === 7 && b[start] === 80 && b[start + 1] === 114 && b[start + 2] === 101 && b[start + 3] === 115 && b[start + 4] === 101 && b[start + 5] === 110 && b[start + 6] === 116) {
    return 'Present';
  }
  if (n === 6 && b[start] === 65 && b[start + 1] === 98 && b[start + 2] === 115 && b[start + 3] === 101 && b[start + 4] === 110 && b[start + 5] === 116) return 'Absent';
  return null;
}

export function createTcxMachine(ctx: ParseContext, options: MachineOptions = { timeOrder: 'keep', maxDepth: DEFAULT_LIMITS.maxDepth }): FormatMachine {
  const { timeOrder, maxDepth } = options;
  const samples: SampleRow[] = [];
  const laps: LapRow[] = [];
  const routes: RouteRow[] = [];
  const flaws = new Flaws();
  const info = emptyFileInfo(ctx, 'tcx');
  const stats = new SampleStats();
  const sports: string[] = [];
  const defaultOffset = ctx.utcOffsetMin;

  let depth = 0;
  let activityIndex = -1;
  let activityDepth = -1; // depth of the open Activity element, -1 when outside
  let lapIndex = -1;
  let lap: LapRow | null = null;
  let lapDepth = -1;
  let lapAvgHrDepth = -1;
  let lapMaxHrDepth = -1;
  /** The open Lap had no readable StartTime: it takes its first point's instant. */
  let lapStartMissing = false;
  // The open Trackpoint's fields live in locals until its close builds the row in one
  // object literal (one allocation, one hidden class for every row).
  let inPoint = false;
  let pointDepth = -1;
  let pointHasTime = false;
  /** The open point's Time was there but is not a date-time. */
  let pointTimeBad = false;
  /** The open point is a Course Trackpoint (a route row), not a sample. */
  let pointIsRoute = false;
  let pTime = 0;
  let pOffset: number | null = null;
  let pLap: number | null = null;
  let pLat: number | null = null;
  let pLon: number | null = null;
  let pAlt: number | null = null;
  let pDist: number | null = null;
  let pHr: number | null = null;
  let pCad: number | null = null;
  let pSpeed: number | null = null;
  let pPower: number | null = null;
  let pSensor: string | null = null;
  const userId = ctx.userId;
  const exerciseId = ctx.exerciseId;
  const parsed: ParsedInstant = { utcUs: 0, offsetMin: null, zoned: false };
  let hrDepth = -1;
  let creatorDepth = -1;
  let authorDepth = -1;
  let courseDepth = -1;
  let courseIndex = -1;
  let coursePoint = 0;
  let courseName: string | null = null;
  let transitionDepth = -1;
  let prevTimeUs = -Infinity;
  let field = F.None;
  let text = '';
  const version = [0, 0, 0, 0];
  let hasVersion = false;
  let workouts = false;
  let courses = false;

  /** The instant of a time text, or null (counted by the caller) when it is not one. */
  function instant(raw: string): ParsedInstant | null {
    return readInstantInto(raw, defaultOffset, parsed) ? parsed : null;
  }

  function open(name: string, attributes: Readonly<Record<string, string>>): void {
    if (++depth > maxDepth) tooDeep(maxDepth);
    if (depth === 1 && name !== ROOT) wrongRoot(name, ROOT);
    if (inPoint) {
      const f = trackpointField(name);
      if (f === F.HrParent) hrDepth = depth;
      else if (f === F.Hr) {
        if (hrDepth === depth - 1) field = F.Hr;
      } else if (f !== F.None) field = f;
      text = '';
      return;
    }
    if (name === 'Trackpoint') {
      if (transitionDepth >= 0 || (activityDepth < 0 && courseDepth < 0)) {
        info.ignored_point_count++;
        return;
      }
      inPoint = true;
      pointIsRoute = activityDepth < 0;
      flaws.point = 0;
      pTime = 0;
      pOffset = null;
      pLap = lapIndex >= 0 ? lapIndex : null;
      pLat = pLon = pAlt = pDist = pHr = pCad = pSpeed = pPower = null;
      pSensor = null;
      pointDepth = depth;
      pointHasTime = false;
      pointTimeBad = false;
      return;
    }
    if (lap !== null) {
      if (depth === lapDepth + 1) {
        switch (name) {
          case 'TotalTimeSeconds': field = F.LapTotalTime; break;
          case 'DistanceMeters': field = F.LapDist; break;
          case 'MaximumSpeed': field = F.LapMaxSpeed; break;
          case 'Calories': field = F.LapCalories; break;
          case 'AverageHeartRateBpm': lapAvgHrDepth = depth; break;
          case 'MaximumHeartRateBpm': lapMaxHrDepth = depth; break;
          case 'Intensity': field = F.LapIntensity; break;
          case 'Cadence': field = F.LapCadence; break;
          case 'TriggerMethod': field = F.LapTrigger; break;
          default: break;
        }
      } else if (name === 'Value') {
        if (lapAvgHrDepth === depth - 1) field = F.LapAvgHr;
        else if (lapMaxHrDepth === depth - 1) field = F.LapMaxHr;
      } else if (name === 'AvgWatts') {
        field = F.LapAvgWatts;
      } else if (name === 'AvgRunCadence') {
        field = F.LapAvgRunCad;
      }
      text = '';
      return;
    }
    switch (name) {
      case 'Activity':
        activityIndex++;
        activityDepth = depth;
        lapIndex = -1;
        prevTimeUs = -Infinity;
        sports.push(attributes['Sport'] ?? '');
        break;
      case 'Lap':
        if (activityDepth < 0) break;
        lapIndex++;
        lap = emptyLap(ctx, 'tcx', activityIndex, lapIndex);
        lapDepth = depth;
        {
          const start = attributes['StartTime'];
          const t = start === undefined ? null : instant(start);
          lapStartMissing = t === null;
          if (t !== null) {
            lap.start_time_utc_us = t.utcUs;
            lap.utc_offset_min = t.offsetMin ?? defaultOffset;
          }
        }
        break;
      case 'Transition':
        transitionDepth = depth;
        break;
      case 'Course':
        courseDepth = depth;
        courseIndex++;
        coursePoint = 0;
        courseName = null;
        courses = true;
        break;
      case 'CoursePoint':
        if (courseDepth >= 0) info.ignored_point_count++;
        break;
      case 'Workouts':
        workouts = true;
        break;
      case 'Creator':
        if (activityDepth >= 0 && info.creator_name === null) creatorDepth = depth;
        break;
      case 'Author':
        if (depth === 2) authorDepth = depth;
        break;
      case 'Name':
        if (creatorDepth === depth - 1) field = F.CreatorName;
        else if (authorDepth === depth - 1) field = F.AuthorName;
        else if (courseDepth === depth - 1) field = F.CourseName;
        break;
      case 'VersionMajor': if (creatorDepth >= 0) field = F.VerMajor; break;
      case 'VersionMinor': if (creatorDepth >= 0) field = F.VerMinor; break;
      case 'BuildMajor': if (creatorDepth >= 0) field = F.BuildMajor; break;
      case 'BuildMinor': if (creatorDepth >= 0) field = F.BuildMinor; break;
      default: break;
    }
    text = '';
  }
  function onText(t: string): void {
    if (field !== F.None) text += t;
  }
  // The fast tokenizer's path for an element's whole text: a Trackpoint's numbers, time and
  // sensor state are read from the bytes and stored at once (field set to Done, so close()
  // stores nothing more but takes the same branch as after a text). Anything the byte readers do not take (whitespace, exponents, bad
  // values) is decoded and left to close(), which applies the string rule and its errors.
  function textBytes(b: Buffer, start: number, end: number): void {
    let v: number;
    switch (field) {
      case F.None:
        return;
      case F.Time:
        if (parseInstantBytes(b, start, end, defaultOffset, parsed)) {
          pTime = parsed.utcUs;
          pOffset = parsed.offsetMin ?? defaultOffset;
          pointHasTime = true;
          field = F.Done;
          return;
        }
        break;
      case F.Lat: v = decimalBytes(b, start, end); if (v === v) { pLat = v; field = F.Done; return; } break;
      case F.Lon: v = decimalBytes(b, start, end); if (v === v) { pLon = v; field = F.Done; return; } break;
      case F.Alt: v = decimalBytes(b, start, end); if (v === v) { pAlt = v; field = F.Done; return; } break;
      case F.Dist: v = decimalBytes(b, start, end); if (v === v) { pDist = v; field = F.Done; return; } break;
      case F.Hr: v = decimalBytes(b, start, end); if (v === v) { pHr = v; field = F.Done; return; } break;
      case F.Cad: v = decimalBytes(b, start, end); if (v === v) { pCad = v; field = F.Done; return; } break;
      case F.Speed: v = decimalBytes(b, start, end); if (v === v) { pSpeed = v; field = F.Done; return; } break;
      case F.Watts: v = decimalBytes(b, start, end); if (v === v) { pPower = v; field = F.Done; return; } break;
      case F.RunCad:
        v = decimalBytes(b, start, end);
        if (v === v) {
          if (pCad === null) pCad = v;
          field = F.Done;
          return;
        }
        break;
      case F.Sensor: {
        const known = sensorState(b, start, end);
        if (known !== null) {
          pSensor = known;
          field = F.Done;
          return;
        }
        break;
      }
      default:
        break;
    }
    text += b.toString('utf8', start, end);
  }
  /**
   * open + textBytes + close in one call (see XmlHandler.leaf); declines an element that
   * would be too deep or a Lap (its open can throw: PL_PARSE_BAD_TIME at the open tag's position), so every error keeps the position the three events give it.
   */
  function leaf(name: string, b: Buffer, start: number, end: number): boolean {
    if (depth >= maxDepth || name === 'Lap') return false;
    if (inPoint) {
      // A Trackpoint field (the hot path): what open + textBytes + close would do, without
      // the depth bookkeeping; a text the byte readers decline takes close()'s string rule.
      const f = trackpointField(name);
      if (f === F.Hr ? hrDepth === depth : f !== F.None && f !== F.HrParent) {
        field = f;
        text = '';
        textBytes(b, start, end);
        if (field === F.Done) {
          field = F.None;
        } else {
          depth++;
          close();
        }
        return true;
      }
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
            if (timeOrder === 'reject') throw new ParseFault('PL_PARSE_TIME_ORDER', `Trackpoint time goes backwards (${pTime} µs < ${prevTimeUs} µs)`);
            flags |= flaws.backwards();
          }
          prevTimeUs = pTime;
          if (lapStartMissing && lap !== null) {
            lap.start_time_utc_us = pTime;
            lap.utc_offset_min = pOffset;
            lapStartMissing = false;
          }
          const row: SampleRow = {
            user_id: userId,
            exercise_id: exerciseId,
            source_format: 'tcx',
            time_utc_us: pTime,
            utc_offset_min: pOffset,
            activity_index: activityIndex,
            lap_index: pLap,
            segment_index: null,
            latitude_deg: pLat,
            longitude_deg: pLon,
            altitude_m: pAlt,
            distance_m: pDist,
            heart_rate_bpm: pHr,
            cadence_rpm: pCad,
            speed_mps: pSpeed,
            power_w: pPower,
            temperature_c: null,
            sensor_state: pSensor,
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
            (pLat === null ? 0 : P.latitude_deg) | (pLon === null ? 0 : P.longitude_deg) | (pAlt === null ? 0 : P.altitude_m) |
              (pDist === null ? 0 : P.distance_m) | (pHr === null ? 0 : P.heart_rate_bpm) | (pCad === null ? 0 : P.cadence_rpm) |
              (pSpeed === null ? 0 : P.speed_mps) | (pPower === null ? 0 : P.power_w) | (pSensor === null ? 0 : P.sensor_state),
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
            const t = instant(text);
            if (t === null) {
              pointTimeBad = true;
            } else {
              pTime = t.utcUs;
              pOffset = t.offsetMin ?? defaultOffset;
              pointHasTime = true;
            }
            break;
          }
          case F.Lat: pLat = toNumber(text, flaws); break;
          case F.Lon: pLon = toNumber(text, flaws); break;
          case F.Alt: pAlt = toNumber(text, flaws); break;
          case F.Dist: pDist = toNumber(text, flaws); break;
          case F.Hr: pHr = toNumber(text, flaws); break;
          case F.Cad: pCad = toNumber(text, flaws); break;
          case F.Sensor: pSensor = text.trim() || null; break;
          case F.Speed: pSpeed = toNumber(text, flaws); break;
          case F.Watts: pPower = toNumber(text, flaws); break;
          case F.RunCad: if (pCad === null) pCad = toNumber(text, flaws); break;
          default: break;
        }
        field = F.None;
      } else if (d === hrDepth) {
        hrDepth = -1;
      }
      return;
    }
    if (lap !== null) {
      if (d === lapDepth) {
        if (lapStartMissing) flaws.timeUnparseable++; // no instant at all: no natural key
        else laps.push(lap);
        lap = null;
        lapDepth = -1;
        return;
      }
      if (field !== F.None) {
        const l = lap;
        switch (field) {
          case F.LapTotalTime: l.total_time_s = toNumber(text, flaws); break;
          case F.LapDist: l.distance_m = toNumber(text, flaws); break;
          case F.LapMaxSpeed: l.max_speed_mps = toNumber(text, flaws); break;
          case F.LapCalories: l.calories_kcal = toNumber(text, flaws); break;
          case F.LapAvgHr: l.avg_heart_rate_bpm = toNumber(text, flaws); break;
          case F.LapMaxHr: l.max_heart_rate_bpm = toNumber(text, flaws); break;
          case F.LapIntensity: l.intensity = text.trim() || null; break;
          case F.LapCadence: l.avg_cadence_rpm = toNumber(text, flaws); break;
          case F.LapTrigger: l.trigger_method = text.trim() || null; break;
          case F.LapAvgWatts: l.avg_power_w = toNumber(text, flaws); break;
          case F.LapAvgRunCad: if (l.avg_cadence_rpm === null) l.avg_cadence_rpm = toNumber(text, flaws); break;
          default: break;
        }
        field = F.None;
      } else if (d === lapAvgHrDepth) {
        lapAvgHrDepth = -1;
      } else if (d === lapMaxHrDepth) {
        lapMaxHrDepth = -1;
      }
      return;
    }
    if (field !== F.None) {
      const t = text.trim();
      switch (field) {
        case F.CreatorName: info.creator_name = t || null; break;
        case F.AuthorName: info.author_name = t || null; break;
        case F.CourseName: courseName = t || null; break;
        case F.VerMajor: version[0] = Number(t) || 0; hasVersion = true; break;
        case F.VerMinor: version[1] = Number(t) || 0; hasVersion = true; break;
        case F.BuildMajor: version[2] = Number(t) || 0; hasVersion = true; break;
        case F.BuildMinor: version[3] = Number(t) || 0; hasVersion = true; break;
        default: break;
      }
      field = F.None;
      return;
    }
    if (d === activityDepth) activityDepth = -1;
    else if (d === creatorDepth) creatorDepth = -1;
    else if (d === authorDepth) authorDepth = -1;
    else if (d === courseDepth) courseDepth = -1;
    else if (d === transitionDepth) transitionDepth = -1;
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
      source_format: 'tcx',
      route_index: courseIndex,
      point_index: coursePoint++,
      time_utc_us: pointHasTime ? pTime : null,
      utc_offset_min: pointHasTime ? pOffset : null,
      latitude_deg: pLat,
      longitude_deg: pLon,
      altitude_m: pAlt,
      distance_m: pDist,
      satellites: null,
      fix: null,
      name: courseName,
    });
    info.route_point_count++;
  }

  function finish(): FileInfo {
    stats.fill(info);
    flaws.fill(info);
    info.activity_count = activityIndex + 1;
    info.lap_count = laps.length;
    info.sport = sports.length > 0 ? sports.join(',') : null;
    if (hasVersion) info.creator_version = version.join('.');
    info.content = info.activity_count > 0 ? 'activity' : courses ? 'course' : workouts ? 'workouts' : 'empty';
    return info;
  }

  return {
    samples,
    laps,
    routes,
    open,
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
