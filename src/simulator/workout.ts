/**
 * Plausible 1 Hz workouts, generated lazily from a seed. The same spec always yields the same
 * points, so the TCX/GPX written from them is byte-for-byte reproducible (golden files,
 * benchmarks, the parser's fidelity tests). Nothing is materialised: a three-day workout
 * costs the same memory as a ten-minute one.
 *
 * Values are rounded here, at the source, to the precision the files carry (lat/lon 1e-8°,
 * altitude 0.1 m, speed 1 mm/s, distance a float32 of 0.1 m as Polar writes it), so a parser
 * can compare what it reads with these points exactly.
 */
import { between, deriveSeed, mulberry32, type Rng } from './random.ts';

export type WorkoutSport = 'RUNNING' | 'CYCLING' | 'INDOOR_CYCLING' | 'TREADMILL_RUNNING' | 'WALKING';

export interface WorkoutSpec {
  seed: number;
  sport: WorkoutSport;
  /** First trackpoint's instant (UTC, epoch milliseconds; a millisecond part is kept). */
  startUtcMs: number;
  /** Number of 1 Hz trackpoints. */
  durationS: number;
  /** Local offset of the device clock; also picks the place the route runs near. */
  utcOffsetMin: number;
  /** Seconds per lap. @default 600 */
  lapEveryS?: number;
  /** Record power (W); cycling uses a power meter, running uses wrist power. @default false */
  withPower?: boolean;
}

export interface WorkoutPoint {
  timeUtcMs: number;
  latDeg: number | null;
  lonDeg: number | null;
  altitudeM: number | null;
  /** Cumulative distance since the start; 0 throughout when the sport has no speed source. */
  distanceM: number;
  heartRateBpm: number | null;
  /** Revolutions per minute when cycling; steps per minute when running or walking. */
  cadenceRpm: number | null;
  speedMps: number | null;
  powerW: number | null;
  lapIndex: number;
}

export interface Place {
  name: string;
  latDeg: number;
  lonDeg: number;
  altitudeM: number;
  /** Typical (summer) offset, used to match a workout's offset to a place. */
  utcOffsetMin: number;
}

/** Real places with their summer offsets, east and west of UTC. */
export const PLACES: readonly Place[] = [
  { name: 'Helsinki, Kaivopuisto', latDeg: 60.1575, lonDeg: 24.9563, altitudeM: 12.5, utcOffsetMin: 180 },
  { name: 'Boulder, Colorado', latDeg: 40.0176, lonDeg: -105.2797, altitudeM: 1655.0, utcOffsetMin: -360 },
  { name: 'Tokyo, Yoyogi Park', latDeg: 35.6717, lonDeg: 139.6949, altitudeM: 38.0, utcOffsetMin: 540 },
  { name: 'London, Hyde Park', latDeg: 51.5073, lonDeg: -0.1657, altitudeM: 24.0, utcOffsetMin: 60 },
  { name: 'Kempele, Finland', latDeg: 64.9117, lonDeg: 25.5069, altitudeM: 20.0, utcOffsetMin: 180 },
  { name: 'Rio de Janeiro, Copacabana', latDeg: -22.9711, lonDeg: -43.1822, altitudeM: 3.0, utcOffsetMin: -180 },
  { name: 'Reykjavik', latDeg: 64.1466, lonDeg: -21.9426, altitudeM: 15.0, utcOffsetMin: 0 },
  { name: 'Kathmandu', latDeg: 27.7172, lonDeg: 85.324, altitudeM: 1400.0, utcOffsetMin: 345 },
];

export function isIndoor(sport: WorkoutSport): boolean {
  return sport === 'INDOOR_CYCLING' || sport === 'TREADMILL_RUNNING';
}

export function isCycling(sport: WorkoutSport): boolean {
  return sport === 'CYCLING' || sport === 'INDOOR_CYCLING';
}

/** The place whose offset is nearest the workout's; ties broken by the seed. */
export function placeFor(spec: Pick<WorkoutSpec, 'seed' | 'utcOffsetMin'>): Place {
  let best = Infinity;
  const candidates: Place[] = [];
  for (const place of PLACES) {
    const d = Math.abs(place.utcOffsetMin - spec.utcOffsetMin);
    if (d < best) {
      best = d;
      candidates.length = 0;
    }
    if (d === best) candidates.push(place);
  }
  return candidates[(spec.seed >>> 0) % candidates.length] ?? PLACES[0]!;
}

const METRES_PER_DEGREE = 111_320;
const round = (value: number, decimals: number) => {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
};

/** Smooth noise: a sum of a few slow sines with random phases, amplitude about ±1. */
function smoothNoise(rng: Rng, periodsS: readonly number[]): (t: number) => number {
  const phases = periodsS.map(() => between(rng, 0, 2 * Math.PI));
  const n = periodsS.length;
  return (t) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.sin((2 * Math.PI * t) / periodsS[i]! + phases[i]!);
    return sum / n;
  };
}

/** Effort in [0.2, 1]: warm-up, a main part with optional intervals, cool-down. */
function effortProfile(rng: Rng, durationS: number): (t: number) => number {
  const warmS = Math.min(600, durationS * 0.12);
  const coolS = Math.min(300, durationS * 0.08);
  const base = between(rng, 0.6, 0.78);
  const intervals = rng() < 0.5;
  const intervalPeriodS = Math.round(between(rng, 300, 480));
  const intervalOnS = Math.round(intervalPeriodS * between(rng, 0.3, 0.45));
  const drift = smoothNoise(rng, [900, 370, 133]);
  return (t) => {
    let e = base + 0.06 * drift(t);
    if (intervals && t > warmS && t < durationS - coolS && (t - warmS) % intervalPeriodS < intervalOnS) e += 0.2;
    if (t < warmS) e = 0.35 + (e - 0.35) * (t / warmS);
    const toEnd = durationS - t;
    if (toEnd < coolS) e = 0.35 + (e - 0.35) * (toEnd / coolS);
    return Math.min(1, Math.max(0.2, e));
  };
}

/**
 * 1 Hz points from `startUtcMs`; exactly `durationS` of them. Lazy: pull as many as you need.
 */
export function* workoutPoints(spec: WorkoutSpec): Generator<WorkoutPoint> {
  const rng = mulberry32(deriveSeed(spec.seed, 0x7701));
  const indoor = isIndoor(spec.sport);
  const cycling = isCycling(spec.sport);
  const lapEveryS = Math.max(1, Math.floor(spec.lapEveryS ?? 600));
  const withPower = spec.withPower ?? false;
  const place = placeFor(spec);
  const effortAt = effortProfile(rng, spec.durationS);
  const speedNoise = smoothNoise(rng, [47, 13, 5]);
  const cadenceNoise = smoothNoise(rng, [31, 7]);
  const turnNoise = smoothNoise(rng, [240, 95, 37]);
  const hillPhaseA = between(rng, 0, 2 * Math.PI);
  const hillPhaseB = between(rng, 0, 2 * Math.PI);
  const hillHeightM = between(rng, 4, 25);

  // Roughly one big loop over the session, so the route comes back near where it started.
  const loopTurnRadPerS = (2 * Math.PI) / Math.max(600, spec.durationS * 0.95);
  let headingRad = between(rng, 0, 2 * Math.PI);
  // Start a few hundred metres from the landmark so different workouts do not overlap exactly.
  let latDeg = place.latDeg + between(rng, -0.004, 0.004);
  let lonDeg = place.lonDeg + between(rng, -0.006, 0.006);

  let hr = between(rng, 88, 96);
  const hrTauS = 25;
  // A chest strap losing contact for a few seconds, in about a third of the workouts.
  const dropoutStartS = rng() < 0.34 ? Math.floor(spec.durationS * between(rng, 0.3, 0.7)) : -1;
  const dropoutEndS = dropoutStartS + Math.floor(between(rng, 3, 9));

  let distanceM = 0;
  for (let i = 0; i < spec.durationS; i++) {
    const effort = effortAt(i);
    // HR follows effort with a lag, as a real heart does.
    const hrTarget = 92 + 90 * effort;
    hr += (hrTarget - hr) * (1 - Math.exp(-1 / hrTauS));
    const hrOut = dropoutStartS >= 0 && i >= dropoutStartS && i < dropoutEndS ? null : Math.round(Math.min(185, Math.max(90, hr + (rng() - 0.5) * 2)));

    // Speed ramps up from standstill over the first seconds.
    const startRamp = Math.min(1, i / 6);
    let speed: number | null;
    switch (spec.sport) {
      case 'RUNNING':
      case 'TREADMILL_RUNNING':
        speed = (2.3 + 1.7 * effort + 0.15 * speedNoise(i)) * startRamp;
        break;
      case 'WALKING':
        speed = (1.1 + 0.55 * effort + 0.08 * speedNoise(i)) * startRamp;
        break;
      case 'CYCLING':
        speed = (4.5 + 6.5 * effort + 0.8 * speedNoise(i)) * startRamp;
        break;
      case 'INDOOR_CYCLING':
        speed = null;
        break;
    }
    const speedOut = speed === null ? null : round(Math.max(0, speed), 3);

    let cadence: number;
    if (cycling) cadence = 79 + 15 * effort + 2 * cadenceNoise(i);
    else if (spec.sport === 'WALKING') cadence = 104 + 16 * effort + 2 * cadenceNoise(i);
    else cadence = 168 + 11 * effort + 2 * cadenceNoise(i);
    const cadenceOut = i < 2 ? 0 : Math.round(cadence);

    let power: number | null = null;
    if (withPower) {
      power = cycling ? 110 + 190 * effort + 15 * speedNoise(i + 11) : 190 + 150 * effort + 10 * speedNoise(i + 11);
      power = i < 2 ? 0 : Math.round(power);
    }

    let altitude: number | null = null;
    let lat: number | null = null;
    let lon: number | null = null;
    if (!indoor) {
      altitude = round(
        place.altitudeM + hillHeightM * Math.sin(distanceM / 900 + hillPhaseA) + 0.3 * hillHeightM * Math.sin(distanceM / 270 + hillPhaseB),
        1,
      );
      lat = round(latDeg, 8);
      lon = round(lonDeg, 8);
    }

    yield {
      timeUtcMs: spec.startUtcMs + i * 1000,
      latDeg: lat,
      lonDeg: lon,
      altitudeM: altitude,
      distanceM: Math.fround(round(distanceM, 1)),
      heartRateBpm: hrOut,
      cadenceRpm: cadenceOut,
      speedMps: speedOut,
      powerW: power,
      lapIndex: Math.floor(i / lapEveryS),
    };

    // Advance to the next second.
    const step = speedOut ?? 0;
    distanceM += step;
    if (!indoor) {
      headingRad += loopTurnRadPerS + 0.02 * turnNoise(i);
      latDeg += (step * Math.cos(headingRad)) / METRES_PER_DEGREE;
      lonDeg += (step * Math.sin(headingRad)) / (METRES_PER_DEGREE * Math.cos((latDeg * Math.PI) / 180));
    }
  }
}
