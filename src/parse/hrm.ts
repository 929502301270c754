/**
 * Polar HRM (Polar Precision Performance / ProTrainer text format) → sample, lap and
 * exercise rows. Read line by line: the `[HRData]` section (the bulk) streams out in batches.
 *
 * What the format says and what we take (Polar's "HRM2" description, checked on the corpus):
 * - `[Params]`: `Version` (102-107), `SMode` (flags, one digit each: a speed, b cadence,
 *   c altitude, d power, e power L/R balance, f pedalling index, g HR+cycling data, h US units,
 *   i air pressure (107)), `Date` (YYYYMMDD), `StartTime` (local wall time, no zone),
 *   `Length`, `Interval` (seconds between samples; 238 = R-R intervals, one per line, in ms).
 *   Versions before 106 write an 8-digit SMode (no i), 102 a 6-digit one (a-f).
 * - `[IntTimes]`: per lap 5 lines (4 before 106); the first is `time-of-lap-end HR HRmin
 *   HRavg HRmax`: lap i starts where lap i-1 ended.
 * - `[HRData]`: one line per sample, tab or space separated: HR, then speed (0.1 km/h or
 *   0.1 mph), cadence, altitude (m or ft), power, power balance/PI, air pressure, in the
 *   order of their SMode flags.
 *
 * The file has no time zone: instants are the local wall time read as UTC and
 * `utc_offset_min` stays null, unless a paired GPX (WebSync writes one beside the HRM) gives
 * the offset: the HRM start minus the GPX's first point, rounded to a quarter hour. The
 * GPX's positions are joined to the samples by time (the latest point no more than
 * `ROUTE_MATCH_US` before the sample).
 */
import type { ExerciseRow, LapRow, SampleRow } from '../records/rows.ts';
import { ParseError } from './errors.ts';
import { emptyLap, emptySample, type ParseContext } from './values.ts';
import { importedExerciseRow, type ImportParseOutput, type RoutePoint } from './imported-row.ts';

const KMH_TO_MPS = 1 / 3.6;
const MPH_TO_MPS = 0.44704;
const FT_TO_M = 0.3048;
const RR_INTERVAL = 238;
const ROUTE_MATCH_US = 5_000_000;

interface HrmParams {
  version: number;
  speed: boolean;
  cadence: boolean;
  altitude: boolean;
  power: boolean;
  powerBalance: boolean;
  airPressure: boolean;
  us: boolean;
  startLocalUs: number;
  lengthS: number | null;
  intervalS: number;
  maxHr: number | null;
}

/** `H:MM:SS.t` → seconds; null when not a time. */
export function hrmClock(text: string): number | null {
  const m = /^(\d{1,3}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$/.exec(text.trim());
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}

function readParams(p: Map<string, string>, file: string, line: number): HrmParams {
  const fail = (detail: string): never => {
    throw new ParseError('PL_PARSE_HRM_INVALID', detail, file, { line, column: 1 });
  };
  const version = Number(p.get('Version') ?? NaN);
  if (!Number.isInteger(version) || version < 100 || version > 199) fail(`[Params] Version ${JSON.stringify(p.get('Version') ?? null)} is not an HRM version`);
  const smode = p.get('SMode') ?? '';
  if (!/^[01]{6,9}$/.test(smode)) fail(`[Params] SMode ${JSON.stringify(smode)} is not 6-9 flag digits`);
  const flag = (i: number) => smode[i] === '1';
  const date = /^(\d{4})(\d{2})(\d{2})$/.exec(p.get('Date') ?? '');
  if (!date) fail(`[Params] Date ${JSON.stringify(p.get('Date') ?? null)} is not YYYYMMDD`);
  const start = hrmClock(p.get('StartTime') ?? '');
  if (start === null) fail(`[Params] StartTime ${JSON.stringify(p.get('StartTime') ?? null)} is not H:MM:SS.t`);
  const [, y, mo, d] = date as RegExpExecArray;
  const midnight = Date.UTC(Number(y), Number(mo) - 1, Number(d));
  if (!Number.isFinite(midnight)) fail('[Params] Date is not a calendar date');
  const interval = Number(p.get('Interval') ?? NaN);
  if (!Number.isFinite(interval) || interval <= 0) fail(`[Params] Interval ${JSON.stringify(p.get('Interval') ?? null)} is not a positive number`);
  const maxHr = Number(p.get('MaxHR'));
  return {
    version, speed: flag(0), cadence: flag(1), altitude: flag(2), power: flag(3), powerBalance: flag(4) || flag(5),
    airPressure: smode.length >= 9 && flag(8), us: smode.length >= 8 && flag(7),
    startLocalUs: midnight * 1000 + Math.round((start as number) * 1e6),
    lengthS: hrmClock(p.get('Length') ?? ''), intervalS: interval, maxHr: Number.isFinite(maxHr) && maxHr > 0 ? maxHr : null,
  };
}

async function* lines(input: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let rest = '';
  const decoder = new TextDecoder('latin1');
  for await (const chunk of input) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest !== '') yield rest.replace(/\r$/, '');
}

export interface HrmOptions {
  readonly batchRows?: number;
  /** Points of the paired GPX, in time order (its instants are UTC). */
  readonly route?: readonly RoutePoint[];
}

export async function* parseHrm(input: AsyncIterable<Buffer>, ctx: ParseContext, options: HrmOptions = {}): AsyncGenerator<ImportParseOutput> {
  const batchRows = Math.max(1, options.batchRows ?? 512);
  const route = options.route ?? [];
  const params = new Map<string, string>();
  const lapEnds: { endS: number; avgHr: number | null; maxHr: number | null }[] = [];
  let section = '';
  let lineNo = 0;
  let intLine = 0;
  let p: HrmParams | null = null;
  let offsetMin: number | null = null;
  let shiftUs = 0;
  let batch: SampleRow[] = [];
  let count = 0;
  let elapsedUs = 0;
  let routeAt = 0;
  let hrSum = 0;
  let hrN = 0;
  let hrMax: number | null = null;
  let firstUs: number | null = null;
  let lastUs: number | null = null;
  let sawHeader = false;

  const begin = (): HrmParams => {
    if (p) return p;
    p = readParams(params, ctx.file, lineNo);
    const first = route[0];
    if (first) {
      const diffMin = Math.round((p.startLocalUs - first.timeUtcUs) / 60_000_000 / 15) * 15;
      if (diffMin !== 0 && Math.abs(diffMin) <= 14 * 60) offsetMin = diffMin;
    }
    shiftUs = (offsetMin ?? 0) * 60_000_000;
    return p;
  };

  for await (const raw of lines(input)) {
    lineNo++;
    const text = raw.trim();
    if (lineNo === 1 && text !== '[Params]') {
      throw new ParseError('PL_PARSE_HRM_INVALID', `an HRM file starts with [Params], not ${JSON.stringify(text.slice(0, 24))}`, ctx.file, { line: 1, column: 1 });
    }
    if (/^\[[^\]]+\]$/.test(text)) {
      section = text.slice(1, -1);
      intLine = 0;
      sawHeader = true;
      if (section === 'HRData') begin();
      continue;
    }
    if (section === 'Params') {
      const eq = text.indexOf('=');
      if (eq > 0) params.set(text.slice(0, eq).trim(), text.slice(eq + 1).trim());
    } else if (section === 'IntTimes' && text !== '') {
      const hp = begin();
      const perLap = hp.version >= 106 ? 5 : 4;
      if (intLine++ % perLap === 0) {
        const cols = text.split(/\s+/);
        const endS = hrmClock(cols[0] ?? '');
        if (endS === null) throw new ParseError('PL_PARSE_HRM_INVALID', `[IntTimes] lap time ${JSON.stringify(cols[0])} is not H:MM:SS.t`, ctx.file, { line: lineNo, column: 1 });
        const n = (i: number) => {
          const v = Number(cols[i]);
          return Number.isFinite(v) && v > 0 ? v : null;
        };
        lapEnds.push({ endS, avgHr: n(3), maxHr: n(4) });
      }
    } else if (section === 'HRData' && text !== '') {
      const hp = p as HrmParams | null ?? begin();
      const cols = text.split(/\s+/).map(Number);
      if (cols.some((v) => !Number.isFinite(v))) {
        throw new ParseError('PL_PARSE_NOT_A_NUMBER', `[HRData] ${JSON.stringify(text.slice(0, 40))} holds a value that is not a number`, ctx.file, { line: lineNo, column: 1 });
      }
      const row = emptySample(ctx, 'hrm', 0);
      let i = 0;
      const hr = cols[i++] ?? 0;
      if (hp.intervalS === RR_INTERVAL) {
        // R-R mode: each line is the interval since the previous beat, in ms.
        elapsedUs += hr * 1000;
        row.heart_rate_bpm = hr > 0 ? Math.round(60000 / hr) : null;
      } else {
        elapsedUs = count * hp.intervalS * 1e6;
        row.heart_rate_bpm = hr > 0 ? hr : null;
      }
      if (hp.speed) {
        const v = cols[i++];
        row.speed_mps = v === undefined ? null : (v / 10) * (hp.us ? MPH_TO_MPS : KMH_TO_MPS);
      }
      if (hp.cadence) row.cadence_rpm = cols[i++] ?? null;
      if (hp.altitude) {
        const v = cols[i++];
        row.altitude_m = v === undefined ? null : hp.us ? v * FT_TO_M : v;
      }
      if (hp.power) row.power_w = cols[i++] ?? null;
      if (hp.powerBalance) {
        // Low byte: left/right balance (% left); high byte: pedalling index.
        const v = cols[i++];
        row.left_right_balance_pct = v === undefined ? null : v & 0xff;
      }
      row.time_utc_us = hp.startLocalUs - shiftUs + Math.round(elapsedUs);
      row.utc_offset_min = offsetMin;
      const lap = lapEnds.findIndex((l) => elapsedUs < l.endS * 1e6);
      row.lap_index = lapEnds.length === 0 ? null : lap < 0 ? lapEnds.length - 1 : lap;
      while (routeAt + 1 < route.length && (route[routeAt + 1] as RoutePoint).timeUtcUs <= row.time_utc_us) routeAt++;
      const point = route[routeAt];
      if (point && point.timeUtcUs <= row.time_utc_us && row.time_utc_us - point.timeUtcUs <= ROUTE_MATCH_US) {
        row.latitude_deg = point.latitudeDeg;
        row.longitude_deg = point.longitudeDeg;
        if (row.altitude_m === null) row.altitude_m = point.altitudeM;
      }
      if (row.heart_rate_bpm !== null) {
        hrSum += row.heart_rate_bpm;
        hrN++;
        hrMax = Math.max(hrMax ?? 0, row.heart_rate_bpm);
      }
      firstUs ??= row.time_utc_us;
      lastUs = row.time_utc_us;
      batch.push(row);
      count++;
      if (batch.length >= batchRows) {
        yield { table: 'samples', rows: batch };
        batch = [];
      }
    }
  }
  if (!sawHeader) throw new ParseError('PL_PARSE_HRM_INVALID', 'no [Params] section', ctx.file, { line: 1, column: 1 });
  const hp = begin();
  if (batch.length > 0) yield { table: 'samples', rows: batch };

  const laps: LapRow[] = [];
  let lapStartS = 0;
  lapEnds.forEach((l, index) => {
    const lap = emptyLap(ctx, 'hrm', 0, index);
    lap.start_time_utc_us = hp.startLocalUs - shiftUs + Math.round(lapStartS * 1e6);
    lap.utc_offset_min = offsetMin;
    lap.total_time_s = Math.max(0, l.endS - lapStartS);
    lap.avg_heart_rate_bpm = l.avgHr;
    lap.max_heart_rate_bpm = l.maxHr;
    laps.push(lap);
    lapStartS = l.endS;
  });
  if (laps.length > 0) yield { table: 'laps', rows: laps };

  const row: ExerciseRow = importedExerciseRow(ctx, {
    startUtcUs: hp.startLocalUs - shiftUs,
    offsetMin,
    durationS: hp.lengthS ?? (firstUs !== null && lastUs !== null ? (lastUs - firstUs) / 1e6 : null),
    sport: null,
    device: 'Polar HRM',
  });
  row.heart_rate_avg_bpm = hrN > 0 ? Math.round(hrSum / hrN) : null;
  row.heart_rate_max_bpm = hrMax;
  row.has_route = route.length > 0;
  yield { table: 'exercises', rows: [row] };
}
