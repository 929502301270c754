/**
 * The simulated exercises: which workouts a user uploads, and the JSON AccessLink serves for
 * them (transactional summary with hyphenated keys, heart-rate zones, samples). Exercise k of
 * user u depends only on (seed, u, k), whatever order uploads happen in.
 */
import { between, deriveSeed, intBetween, mulberry32 } from './random.ts';
import { TotalsAccumulator } from './tcx.ts';
import { PLACES, isCycling, isIndoor, workoutPoints, type WorkoutSport, type WorkoutSpec } from './workout.ts';

export interface SimulatedExercise {
  userId: string;
  exerciseId: string;
  sport: string;
  startUtcMs: number;
  utcOffsetMin: number;
  durationS: number;
  indoor: boolean;
  trackpoints: number;
  hasTcx: boolean;
  hasGpx: boolean;
  /** A FIT file is served (only when the simulator runs with `fitFiles: true`). */
  hasFit: boolean;
  /** The TCX body is gzip bytes (magic 0x1f 0x8b) rather than plain XML; the real API is unclear which it sends. */
  tcxGzipped: boolean;
  /** Worn with a chest strap (H10): the API has RR intervals (sample type 11). */
  hasStrap: boolean;
  /** Polar has zone info: `/heart-rate-zones` answers 204 and `heart_rate_zones` is null otherwise. */
  hasZones: boolean;
}

export interface ExerciseModel extends SimulatedExercise {
  readonly spec: WorkoutSpec;
  readonly device: string;
  readonly deviceId: string;
  /** When the watch synced; the simulator sets it to the moment of upload. */
  readonly uploadUtcMs: number;
  /** Which optional summary fields this exercise carries (Polar omits inapplicable ones). */
  readonly optional: { bodyComposition: boolean; trainingLoadPro: boolean };
  /** How the API marks seconds the HR sensor was off: `null` entries, or the 0 sentinel some devices write. */
  readonly hrGapMarker: 'null' | '0';
}

/** Order chosen so every user meets outdoor and indoor sports within a few exercises. */
const SPORTS: readonly WorkoutSport[] = ['RUNNING', 'CYCLING', 'TREADMILL_RUNNING', 'WALKING', 'INDOOR_CYCLING'];
const DEVICES = ['Polar Vantage V3', 'Polar Grit X2 Pro', 'Polar Pacer Pro', 'Polar Ignite 3'] as const;
/** Workouts start on days counted from here, so the same seed gives the same dates on any day. */
const FIRST_DAY_UTC_MS = Date.UTC(2025, 5, 2);
const DAY_MS = 86_400_000;

export function polarUserIdFor(seed: number, userIndex: number): string {
  return String(40_000_000 + ((seed >>> 0) % 1000) * 1000 + userIndex + 1);
}

export function exerciseIdFor(userIndex: number, k: number): string {
  // Above 2^32 on purpose: ids are int64 at Polar, and consumers must keep them as strings.
  return String(7_000_000_000 + userIndex * 1_000_000 + k + 1);
}

export function makeExercise(options: {
  seed: number;
  userIndex: number;
  polarUserId: string;
  k: number;
  durationRangeS: readonly [number, number];
  /** @default false */
  fitFiles?: boolean;
}): ExerciseModel {
  const { seed, userIndex, k } = options;
  const rng = mulberry32(deriveSeed(seed, userIndex, k, 0xe7e));
  const sport = SPORTS[(userIndex * 2 + k) % SPORTS.length]!;
  // Athletes who travel: the place (and so the offset) rotates over east and west of UTC.
  const place = PLACES[(userIndex + k) % PLACES.length]!;
  const [minS, maxS] = options.durationRangeS;
  const durationS = intBetween(rng, Math.min(minS, maxS), Math.max(minS, maxS));
  // Every fourth workout ends after local midnight; others start in the morning or evening.
  const localStartS =
    k % 4 === 3 ? 86_400 - Math.ceil(durationS / 2) : rng() < 0.5 ? intBetween(rng, 6 * 3600, 9 * 3600) : intBetween(rng, 17 * 3600, 20 * 3600);
  const localMidnightMs = FIRST_DAY_UTC_MS + (userIndex * 3 + k) * DAY_MS;
  const startUtcMs = localMidnightMs + localStartS * 1000 - place.utcOffsetMin * 60_000;
  const indoor = isIndoor(sport);
  const spec: WorkoutSpec = {
    seed: deriveSeed(seed, userIndex, k),
    sport,
    startUtcMs,
    durationS,
    utcOffsetMin: place.utcOffsetMin,
    lapEveryS: sport === 'CYCLING' ? 900 : 600,
    withPower: isCycling(sport) || rng() < 0.3,
  };
  const device = DEVICES[(userIndex + k) % DEVICES.length]!;
  return {
    userId: options.polarUserId,
    exerciseId: exerciseIdFor(userIndex, k),
    sport,
    startUtcMs,
    utcOffsetMin: place.utcOffsetMin,
    durationS,
    indoor,
    trackpoints: durationS,
    // One in seven has no TCX (Polar answers 204 "not available for this exercise").
    hasTcx: k % 7 !== 5,
    hasGpx: !indoor,
    hasFit: options.fitFiles ?? false,
    tcxGzipped: k % 2 === 0,
    spec,
    device,
    deviceId: (0x1f0000 + userIndex * 16 + (k % 4)).toString(16).toUpperCase().padStart(8, '0'),
    uploadUtcMs: startUtcMs + durationS * 1000 + Math.round(between(rng, 60, 900)) * 1000,
    optional: { bodyComposition: k % 2 === 0, trainingLoadPro: k % 3 !== 2 },
    hasStrap: k % 3 === 1,
    hasZones: (k + userIndex) % 5 !== 3,
    hrGapMarker: k % 2 === 1 ? '0' : 'null',
  };
}

/** Heart-rate zone limits in bpm for a maximum of 190 (50-60-70-80-90-100 %). */
export const HR_ZONE_LIMITS_BPM: readonly (readonly [number, number])[] = [
  [95, 114],
  [114, 133],
  [133, 152],
  [152, 171],
  [171, 190],
];

export interface ExerciseStats {
  distanceM: number;
  calories: number;
  heartRateAverageBpm: number | null;
  heartRateMaximumBpm: number | null;
  secondsInZone: number[];
}

const statsCache = new Map<string, ExerciseStats>();

/** One pass over the workout; cached, since the summary and the zones both need it. */
export function exerciseStats(ex: ExerciseModel): ExerciseStats {
  const key = JSON.stringify(ex.spec);
  const cached = statsCache.get(key);
  if (cached) return cached;
  const acc = new TotalsAccumulator();
  const secondsInZone = [0, 0, 0, 0, 0];
  for (const p of workoutPoints(ex.spec)) {
    acc.add(p);
    if (p.heartRateBpm === null) continue;
    const zone = HR_ZONE_LIMITS_BPM.findIndex(([low, high]) => p.heartRateBpm! >= low && p.heartRateBpm! < high);
    if (zone >= 0) secondsInZone[zone]!++;
  }
  const t = acc.totals();
  const stats: ExerciseStats = {
    distanceM: t.distanceM,
    calories: t.calories,
    heartRateAverageBpm: t.averageHeartRateBpm,
    heartRateMaximumBpm: t.maximumHeartRateBpm,
    secondsInZone,
  };
  if (statsCache.size > 1000) statsCache.clear();
  statsCache.set(key, stats);
  return stats;
}

/** `PT1H2M3S`; fractional seconds kept (`PT6.705S`). */
export function isoDuration(totalSeconds: number): string {
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = Math.round((totalSeconds - h * 3600 - m * 60) * 1000) / 1000;
  let out = 'PT';
  if (h) out += `${h}H`;
  if (m) out += `${m}M`;
  if (s || out === 'PT') out += `${s}S`;
  return out;
}

/** Local wall time without offset, as Polar's `start-time`: `2025-06-02T07:00:00`. */
export function localDateTime(utcMs: number, offsetMin: number): string {
  return new Date(utcMs + offsetMin * 60_000).toISOString().slice(0, 19);
}

const DETAILED_SPORT: Record<WorkoutSport, string> = {
  RUNNING: 'RUNNING',
  CYCLING: 'ROAD_BIKING',
  INDOOR_CYCLING: 'INDOOR_CYCLING',
  TREADMILL_RUNNING: 'TREADMILL_RUNNING',
  WALKING: 'WALKING',
};

/** The transactional exercise summary (hyphenated keys; inapplicable fields omitted, never null). */
export function exerciseSummaryJson(ex: ExerciseModel, ctx: { apiBaseUrl: string; transactionId: string }): Record<string, unknown> {
  const stats = exerciseStats(ex);
  const rng = mulberry32(deriveSeed(ex.spec.seed, 0x5a));
  const out: Record<string, unknown> = {
    id: Number(ex.exerciseId),
    'upload-time': new Date(ex.uploadUtcMs).toISOString(),
    'polar-user': `${ctx.apiBaseUrl}/v3/users/${ex.userId}`,
    'transaction-id': Number(ctx.transactionId),
    device: ex.device,
    'device-id': ex.deviceId,
    'start-time': localDateTime(ex.startUtcMs, ex.utcOffsetMin),
    'start-time-utc-offset': ex.utcOffsetMin,
    duration: isoDuration(ex.durationS),
    calories: stats.calories,
  };
  if (ex.spec.sport !== 'INDOOR_CYCLING') out['distance'] = stats.distanceM;
  out['heart-rate'] =
    stats.heartRateAverageBpm === null ? {} : { average: stats.heartRateAverageBpm, maximum: stats.heartRateMaximumBpm };
  out['training-load'] = Math.round(stats.calories * 0.18 * 10) / 10;
  out['sport'] = ex.sport;
  out['has-route'] = !ex.indoor;
  out['detailed-sport-info'] = DETAILED_SPORT[ex.spec.sport];
  if (ex.optional.bodyComposition) {
    const fat = intBetween(rng, 20, 60);
    const carbs = intBetween(rng, 30, 100 - fat - 5);
    out['fat-percentage'] = fat;
    out['carbohydrate-percentage'] = carbs;
    out['protein-percentage'] = 100 - fat - carbs;
  }
  if (ex.spec.sport === 'RUNNING') out['running-index'] = intBetween(rng, 42, 62);
  if (ex.optional.trainingLoadPro) {
    const cardio = Math.round(stats.calories * 0.16 * 10) / 10;
    out['training-load-pro'] = {
      date: localDateTime(ex.startUtcMs, ex.utcOffsetMin).slice(0, 10),
      'cardio-load': cardio,
      'muscle-load': isCycling(ex.spec.sport) || ex.spec.withPower ? Math.round(cardio * 0.4 * 10) / 10 : -1.0,
      'perceived-load': -1.0,
      'cardio-load-interpretation': cardio < 40 ? 'LOW' : cardio < 90 ? 'MEDIUM' : 'HIGH',
      'muscle-load-interpretation': isCycling(ex.spec.sport) || ex.spec.withPower ? 'MEDIUM' : 'NOT_AVAILABLE',
      'perceived-load-interpretation': 'NOT_AVAILABLE',
      'user-rpe': 'UNKNOWN',
    };
  }
  return out;
}

export function heartRateZonesJson(ex: ExerciseModel): Record<string, unknown> {
  const stats = exerciseStats(ex);
  return {
    zone: HR_ZONE_LIMITS_BPM.map(([low, high], i) => ({
      index: i + 1,
      'lower-limit': low,
      'upper-limit': high,
      'in-zone': isoDuration(stats.secondsInZone[i] ?? 0),
    })),
  };
}

/** Sample type ids from the AccessLink appendix that this exercise has. */
export function sampleTypes(ex: ExerciseModel): number[] {
  const types = [0];
  if (ex.spec.sport !== 'INDOOR_CYCLING') types.push(1, 10);
  types.push(isCycling(ex.spec.sport) ? 2 : 8);
  if (!ex.indoor) types.push(3, 7, 9);
  if (ex.spec.withPower) types.push(4);
  // Pedalling index and L/R balance need a dual-sided power meter: cyclists with power.
  if (ex.spec.withPower && isCycling(ex.spec.sport)) types.push(5, 6);
  if (ex.hasStrap) types.push(11);
  return types.sort((a, b) => a - b);
}

/** Barometric pressure (hPa, 0.1) at an altitude: the standard atmosphere, as a watch's barometer would read it. */
function airPressureHpa(altitudeM: number): number {
  return Math.round(1013.25 * Math.pow(1 - 2.25577e-5 * altitudeM, 5.25588) * 10) / 10;
}

/**
 * RR intervals (ms) a strap records for this workout, beat by beat, from the same heart rate
 * the other payloads carry: each interval is 60000 / bpm at the second the beat falls in,
 * with a little beat-to-beat variability. While the sensor is off (HR missing) no beat is
 * recorded and a single `null` marks the gap, as the API does; the beats resume after it.
 */
export function rrIntervalsMs(ex: ExerciseModel): (number | null)[] {
  const hr: (number | null)[] = [];
  for (const p of workoutPoints(ex.spec)) hr.push(p.heartRateBpm);
  const rng = mulberry32(deriveSeed(ex.spec.seed, 0x4242));
  const out: (number | null)[] = [];
  let tMs = 0;
  let inGap = false;
  while (tMs < hr.length * 1000) {
    const bpm = hr[Math.floor(tMs / 1000)] ?? null;
    if (bpm === null) {
      if (!inGap) out.push(null);
      inGap = true;
      tMs += 1000 - (tMs % 1000); // skip to the next second: the beats in between are lost
      continue;
    }
    inGap = false;
    const interval = Math.round(60_000 / bpm + (rng() - 0.5) * 24);
    tMs += interval;
    if (tMs > hr.length * 1000) break;
    out.push(interval);
  }
  return out;
}

/**
 * `{recording-rate, sample-type, data}` with data as one comma-separated string; `null` where
 * the sensor was off (or `0` for heart rate on devices that write the sentinel). RR intervals
 * have no recording rate (`null`), as the API documents.
 */
export function samplesJson(ex: ExerciseModel, type: number): Record<string, unknown> | null {
  if (!sampleTypes(ex).includes(type)) return null;
  if (type === 11) return { 'recording-rate': null, 'sample-type': '11', data: rrIntervalsMs(ex).map((v) => (v === null ? 'null' : String(v))).join(',') };
  const rng = mulberry32(deriveSeed(ex.spec.seed, 0x5a3, type));
  const values: string[] = [];
  let i = 0;
  for (const p of workoutPoints(ex.spec)) {
    let v: number | null;
    switch (type) {
      case 0: v = p.heartRateBpm; break;
      case 1: v = p.speedMps === null ? null : Math.round(p.speedMps * 3.6 * 10) / 10; break;
      case 2:
      case 8: v = p.cadenceRpm; break;
      case 3: v = p.altitudeM; break;
      case 4: v = p.powerW; break;
      case 5: v = p.powerW === null ? null : Math.round(22 + 6 * rng()); break;
      case 6: v = p.powerW === null ? null : Math.round((49 + 2 * rng()) * 10) / 10; break;
      case 7: v = p.altitudeM === null ? null : airPressureHpa(p.altitudeM); break;
      case 9: v = Math.round((14 + 4 * Math.sin(i / 1800) + rng() * 0.4) * 10) / 10; break;
      case 10: v = Math.round(p.distanceM * 10) / 10; break;
      default: v = null;
    }
    values.push(v === null ? (type === 0 ? ex.hrGapMarker : 'null') : String(v));
    i++;
  }
  return { 'recording-rate': 1, 'sample-type': String(type), data: values.join(',') };
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The opaque id `/v3/exercises` uses (e.g. `ymeoBNZw`); Polar documents no mapping, so neither do we. */
export function hashedExerciseId(exerciseId: string): string {
  const rng = mulberry32(deriveSeed(...exerciseId.split('').map((c) => c.charCodeAt(0)), 0x4a54));
  let out = '';
  for (let i = 0; i < 8; i++) out += BASE62[Math.floor(rng() * 62)];
  return out;
}

/** Route points as `?route=true` gives them: time is an ISO duration offset from the start. */
export function routeJson(ex: ExerciseModel): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let i = 0;
  for (const p of workoutPoints(ex.spec)) {
    if (p.latDeg !== null && p.lonDeg !== null) {
      out.push({ latitude: p.latDeg, longitude: p.lonDeg, time: isoDuration((p.timeUtcMs - ex.spec.startUtcMs) / 1000), satellites: 9 + (i % 3), fix: 3 });
    }
    i++;
  }
  return out;
}

const snakeKey = (key: string) => key.replace(/-/g, '_');

/**
 * The `/v3/exercises` spelling: snake_case keys and a hashed string id, but (per the spec)
 * `running-index` and the keys inside `training_load_pro`, zones and samples stay hyphenated.
 */
export function nonTransactionalSummaryJson(
  ex: ExerciseModel,
  ctx: { apiBaseUrl: string; samples?: boolean; zones?: boolean; route?: boolean },
): Record<string, unknown> {
  const hyphenated = exerciseSummaryJson(ex, { apiBaseUrl: ctx.apiBaseUrl, transactionId: '0' });
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hyphenated)) {
    if (key === 'transaction-id') continue;
    out[key === 'running-index' ? key : snakeKey(key)] = value;
  }
  out['id'] = hashedExerciseId(ex.exerciseId);
  if (ctx.zones) out['heart_rate_zones'] = ex.hasZones ? heartRateZonesJson(ex)['zone'] : null;
  if (ctx.samples) out['samples'] = sampleTypes(ex).map((t) => samplesJson(ex, t));
  if (ctx.route && !ex.indoor) out['route'] = routeJson(ex);
  return out;
}
