/**
 * Streaming TCX v2 writer in the shape Polar Flow exports: one line, Activity/Id, Laps with
 * their totals ahead of the Track, Trackpoints with Time, Position (outdoor only),
 * AltitudeMeters, DistanceMeters, HeartRateBpm, Cadence, SensorState and ns3:TPX
 * Speed/Watts, then Creator and Author.
 *
 * A lap's totals come before its points, so a second generator over the same deterministic
 * workout runs one lap ahead to compute them: memory stays flat however long the workout.
 */
import { decimal, escapeXml, float32Decimal, isoUtc } from './xml-format.ts';
import { isCycling, workoutPoints, type WorkoutPoint, type WorkoutSpec } from './workout.ts';

const TCX_NS = 'http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2';
const ACTIVITY_EXT_NS = 'http://www.garmin.com/xmlschemas/ActivityExtension/v2';
/** Trackpoints per yielded chunk: big enough to keep per-chunk overhead low, small enough to stream. */
const POINTS_PER_CHUNK = 64;

export interface LapTotals {
  startUtcMs: number;
  points: number;
  distanceM: number;
  maximumSpeedMps: number | null;
  calories: number;
  averageHeartRateBpm: number | null;
  maximumHeartRateBpm: number | null;
  averageCadence: number | null;
  averagePowerW: number | null;
  averageSpeedMps: number | null;
}

/** Energy from heart rate (Keytel et al. 2005, 75 kg, 35 years), per second. */
export function kcalPerSecond(heartRateBpm: number): number {
  return Math.max(0, (0.6309 * heartRateBpm - 33.13) / 4.184 / 60);
}

/** Accumulates lap (or whole-workout) totals point by point. */
export class TotalsAccumulator {
  private first: WorkoutPoint | null = null;
  private last: WorkoutPoint | null = null;
  private n = 0;
  private hrSum = 0;
  private hrN = 0;
  private hrMax: number | null = null;
  private cadSum = 0;
  private cadN = 0;
  private powSum = 0;
  private powN = 0;
  private speedMax: number | null = null;
  private kcal = 0;
  private lastHr: number | null = null;

  add(p: WorkoutPoint): void {
    this.first ??= p;
    this.last = p;
    this.n++;
    if (p.heartRateBpm !== null) {
      this.hrSum += p.heartRateBpm;
      this.hrN++;
      this.hrMax = Math.max(this.hrMax ?? 0, p.heartRateBpm);
      this.lastHr = p.heartRateBpm;
    }
    if (this.lastHr !== null) this.kcal += kcalPerSecond(this.lastHr);
    if (p.cadenceRpm !== null) {
      this.cadSum += p.cadenceRpm;
      this.cadN++;
    }
    if (p.powerW !== null) {
      this.powSum += p.powerW;
      this.powN++;
    }
    if (p.speedMps !== null) this.speedMax = Math.max(this.speedMax ?? 0, p.speedMps);
  }

  get count(): number {
    return this.n;
  }

  totals(): LapTotals {
    const first = this.first;
    const last = this.last;
    // The last point's distance plus its own second of travel is what the lap covered.
    const distanceM = first && last ? Math.round((last.distanceM - first.distanceM + (last.speedMps ?? 0)) * 10) / 10 : 0;
    return {
      startUtcMs: first?.timeUtcMs ?? 0,
      points: this.n,
      distanceM,
      maximumSpeedMps: this.speedMax,
      calories: Math.round(this.kcal),
      averageHeartRateBpm: this.hrN ? Math.round(this.hrSum / this.hrN) : null,
      maximumHeartRateBpm: this.hrMax,
      averageCadence: this.cadN ? Math.round(this.cadSum / this.cadN) : null,
      averagePowerW: this.powN ? Math.round(this.powSum / this.powN) : null,
      averageSpeedMps: this.speedMax === null || this.n === 0 ? null : Math.round((distanceM / this.n) * 1000) / 1000,
    };
  }
}

export function tcxSportName(spec: WorkoutSpec): 'Running' | 'Biking' | 'Other' {
  if (isCycling(spec.sport)) return 'Biking';
  if (spec.sport === 'RUNNING' || spec.sport === 'TREADMILL_RUNNING') return 'Running';
  return 'Other';
}

function lapXml(t: LapTotals, lapEveryS: number): string {
  let s = `<Lap StartTime="${isoUtc(t.startUtcMs)}"><TotalTimeSeconds>${decimal(t.points)}</TotalTimeSeconds>`;
  s += `<DistanceMeters>${decimal(t.distanceM)}</DistanceMeters>`;
  if (t.maximumSpeedMps !== null) s += `<MaximumSpeed>${decimal(t.maximumSpeedMps)}</MaximumSpeed>`;
  s += `<Calories>${t.calories}</Calories>`;
  if (t.averageHeartRateBpm !== null) s += `<AverageHeartRateBpm><Value>${t.averageHeartRateBpm}</Value></AverageHeartRateBpm>`;
  if (t.maximumHeartRateBpm !== null) s += `<MaximumHeartRateBpm><Value>${t.maximumHeartRateBpm}</Value></MaximumHeartRateBpm>`;
  s += '<Intensity>Active</Intensity>';
  if (t.averageCadence !== null) s += `<Cadence>${t.averageCadence}</Cadence>`;
  // Full laps were split by the device's time-based autolap; the last, short one by the stop button.
  s += `<TriggerMethod>${t.points < lapEveryS ? 'Manual' : 'Time'}</TriggerMethod>`;
  return s;
}

function lapExtensionsXml(t: LapTotals): string {
  if (t.averageSpeedMps === null && t.averagePowerW === null) return '';
  let s = `<Extensions><ns3:LX>`;
  if (t.averageSpeedMps !== null) s += `<ns3:AvgSpeed>${decimal(t.averageSpeedMps)}</ns3:AvgSpeed>`;
  if (t.averagePowerW !== null) s += `<ns3:AvgWatts>${t.averagePowerW}</ns3:AvgWatts>`;
  return s + `</ns3:LX></Extensions>`;
}

export function trackpointXml(p: WorkoutPoint): string {
  let s = `<Trackpoint><Time>${isoUtc(p.timeUtcMs)}</Time>`;
  if (p.latDeg !== null && p.lonDeg !== null) {
    s += `<Position><LatitudeDegrees>${p.latDeg}</LatitudeDegrees><LongitudeDegrees>${p.lonDeg}</LongitudeDegrees></Position>`;
  }
  if (p.altitudeM !== null) s += `<AltitudeMeters>${p.altitudeM.toFixed(1)}</AltitudeMeters>`;
  if (p.speedMps !== null) s += `<DistanceMeters>${float32Decimal(p.distanceM)}</DistanceMeters>`;
  if (p.heartRateBpm !== null) s += `<HeartRateBpm><Value>${p.heartRateBpm}</Value></HeartRateBpm>`;
  if (p.cadenceRpm !== null) s += `<Cadence>${p.cadenceRpm}</Cadence>`;
  s += '<SensorState>Present</SensorState>';
  if (p.speedMps !== null || p.powerW !== null) {
    s += '<Extensions><ns3:TPX>';
    if (p.speedMps !== null) s += `<ns3:Speed>${p.speedMps}</ns3:Speed>`;
    if (p.powerW !== null) s += `<ns3:Watts>${p.powerW}</ns3:Watts>`;
    s += '</ns3:TPX></Extensions>';
  }
  return s + '</Trackpoint>';
}

export interface TcxMeta {
  /** Device in Creator/Name. @default 'Polar Vantage V3' */
  deviceName?: string;
  /** Gzip is the HTTP layer's business; a TCX text generator never compresses. */
  gzip?: never;
}

/** Yields the TCX document in pieces; concatenated they form one well-formed document. */
export function* tcxChunks(spec: WorkoutSpec, meta: TcxMeta = {}): Generator<string> {
  const lapEveryS = Math.max(1, Math.floor(spec.lapEveryS ?? 600));
  const deviceName = escapeXml(meta.deviceName ?? 'Polar Vantage V3');
  const ahead = workoutPoints(spec);
  const points = workoutPoints(spec);
  let pending = ahead.next();

  yield `<?xml version="1.0" encoding="UTF-8"?><TrainingCenterDatabase xmlns="${TCX_NS}" xmlns:ns3="${ACTIVITY_EXT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
    `<Activities><Activity Sport="${tcxSportName(spec)}"><Id>${isoUtc(spec.startUtcMs)}</Id>`;

  while (!pending.done) {
    const totals = new TotalsAccumulator();
    const thisLap = pending.value.lapIndex;
    while (!pending.done && pending.value.lapIndex === thisLap) {
      totals.add(pending.value);
      pending = ahead.next();
    }
    const t = totals.totals();
    let chunk = lapXml(t, lapEveryS) + '<Track>';
    for (let i = 0; i < t.points; i++) {
      const next = points.next();
      if (next.done) break;
      chunk += trackpointXml(next.value);
      if ((i + 1) % POINTS_PER_CHUNK === 0) {
        yield chunk;
        chunk = '';
      }
    }
    yield chunk + '</Track>' + lapExtensionsXml(t) + '</Lap>';
  }

  yield `<Creator xsi:type="Device_t"><Name>${deviceName}</Name><UnitId>0</UnitId><ProductID>0</ProductID>` +
    `<Version><VersionMajor>6</VersionMajor><VersionMinor>1</VersionMinor><BuildMajor>0</BuildMajor><BuildMinor>0</BuildMinor></Version></Creator>` +
    `</Activity></Activities><Author xsi:type="Application_t"><Name>Polar Flow</Name><Build><Version><VersionMajor>0</VersionMajor><VersionMinor>0</VersionMinor></Version></Build>` +
    `<LangID>EN</LangID><PartNumber>XXX-XXXXX-XX</PartNumber></Author></TrainingCenterDatabase>`;
}
