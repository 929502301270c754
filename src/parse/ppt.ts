/**
 * Polar ProTrainer / polarpersonaltrainer.com XML export (`polar-exercise-data`, schema
 * ped-1.0) → sample, lap and exercise rows, streamed through saxes.
 *
 * As found (Runalyze_Runalyze/Polar.xml): `calendar-items/exercise` elements, each with
 * `time` (local wall time `YYYY-MM-DD HH:MM:SS.s`, no zone), `result/duration` (HH:MM:SS),
 * `result/distance` (m), `result/calories`, `result/heart-rate/{average,maximum}`,
 * `result/recording-rate` (seconds between samples), `result/speed/type` (the sport,
 * e.g. RUNNING), `result/samples/sample/{type, values}` with `values` a comma-separated list
 * (HEARTRATE bpm, SPEED km/h, CADENCE rpm, ALTITUDE m, DISTANCE m, POWER W), and
 * `result/laps/lap/{duration, distance, heart-rate/{average,maximum}}` when laps were taken.
 *
 * Rules: no zone in the file, so instants are the wall time read as UTC with
 * `utc_offset_min` null; sample i is at `time + i × recording-rate`; an empty value in a
 * list is a missing value. A file with several exercises gives several exercise rows: the
 * first keeps the import's exercise id, exercise n > 0 gets `<id>-<n>`.
 */
import { SaxesParser } from 'saxes';
import type { ExerciseRow, LapRow, SampleRow } from '../records/rows.ts';
import { ParseError } from './errors.ts';
import { importedExerciseRow, type ImportParseOutput } from './imported-row.ts';
import { hrmClock } from './hrm.ts';
import { emptyLap, emptySample, type ParseContext } from './values.ts';

/** Longest text node accepted (a 24 h heart-rate list at 1 s is about 150 KB). */
const MAX_TEXT_CHARS = 16 * 1024 * 1024;

const SAMPLE_FIELDS: Record<string, (row: SampleRow, v: number) => void> = {
  HEARTRATE: (r, v) => (r.heart_rate_bpm = v > 0 ? v : null),
  SPEED: (r, v) => (r.speed_mps = v / 3.6),
  CADENCE: (r, v) => (r.cadence_rpm = v),
  ALTITUDE: (r, v) => (r.altitude_m = v),
  DISTANCE: (r, v) => (r.distance_m = v),
  POWER: (r, v) => (r.power_w = v),
};

interface PptExercise {
  time: string | null;
  duration: string | null;
  distance: string | null;
  calories: string | null;
  hrAvg: string | null;
  hrMax: string | null;
  rate: string | null;
  sport: string | null;
  series: { type: string | null; values: string | null }[];
  laps: { duration: string | null; distance: string | null; hrAvg: string | null; hrMax: string | null }[];
}

const newExercise = (): PptExercise => ({ time: null, duration: null, distance: null, calories: null, hrAvg: null, hrMax: null, rate: null, sport: null, series: [], laps: [] });

function pptLocalTime(text: string | null): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec((text ?? '').trim());
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5])) + Math.round(Number(m[6]) * 1000);
  return Number.isFinite(ms) ? ms * 1000 : null;
}

const n = (text: string | null): number | null => {
  if (text === null || text.trim() === '') return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
};

export async function* parsePpt(input: AsyncIterable<Buffer>, ctx: ParseContext, options: { batchRows?: number } = {}): AsyncGenerator<ImportParseOutput> {
  const batchRows = Math.max(1, options.batchRows ?? 512);
  const parser = new SaxesParser({ xmlns: false });
  const path: string[] = [];
  const done: PptExercise[] = [];
  let current: PptExercise | null = null;
  let text = '';
  let rootSeen = false;

  const fail = (detail: string): never => {
    throw new ParseError('PL_PARSE_PPT_INVALID', detail, ctx.file, { line: parser.line, column: parser.column });
  };
  parser.on('opentag', (tag) => {
    const name = tag.name.includes(':') ? tag.name.slice(tag.name.indexOf(':') + 1) : tag.name;
    if (!rootSeen) {
      rootSeen = true;
      if (name !== 'polar-exercise-data') fail(`root element is ${name}, not polar-exercise-data`);
    }
    path.push(name);
    text = '';
    if (name === 'exercise' && path.length === 3) current = newExercise();
    if (current && name === 'sample') current.series.push({ type: null, values: null });
    if (current && name === 'lap') current.laps.push({ duration: null, distance: null, hrAvg: null, hrMax: null });
  });
  parser.on('text', (t) => {
    text += t;
    if (text.length > MAX_TEXT_CHARS) throw new ParseError('PL_PARSE_TEXT_TOO_LARGE', `a text node over ${MAX_TEXT_CHARS} characters`, ctx.file, { line: parser.line, column: parser.column });
  });
  parser.on('doctype', () => {
    throw new ParseError('PL_PARSE_DOCTYPE_REFUSED', 'a DOCTYPE in a ProTrainer export', ctx.file, { line: parser.line, column: parser.column });
  });
  parser.on('closetag', () => {
    const name = path.pop();
    const where = path.join('/');
    const ex = current;
    if (ex) {
      const value = text.trim();
      const lap = ex.laps[ex.laps.length - 1];
      const series = ex.series[ex.series.length - 1];
      if (name === 'time' && where.endsWith('calendar-items/exercise')) ex.time = value;
      else if (where.endsWith('exercise/result')) {
        if (name === 'duration') ex.duration = value;
        else if (name === 'distance') ex.distance = value;
        else if (name === 'calories') ex.calories = value;
        else if (name === 'recording-rate') ex.rate = value;
      } else if (where.endsWith('result/heart-rate')) {
        if (name === 'average') ex.hrAvg = value;
        else if (name === 'maximum') ex.hrMax = value;
      } else if (where.endsWith('result/speed') && name === 'type') ex.sport = value;
      else if (series && where.endsWith('samples/sample')) {
        if (name === 'type') series.type = value;
        else if (name === 'values') series.values = value;
      } else if (lap && where.endsWith('laps/lap')) {
        if (name === 'duration') lap.duration = value;
        else if (name === 'distance') lap.distance = value;
      } else if (lap && where.endsWith('lap/heart-rate')) {
        if (name === 'average') lap.hrAvg = value;
        else if (name === 'maximum') lap.hrMax = value;
      }
      if (name === 'exercise' && path.length === 2) {
        done.push(ex);
        current = null;
      }
    }
    text = '';
  });

  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of input) parser.write(decoder.decode(chunk, { stream: true }));
    parser.write(decoder.decode());
    parser.close();
  } catch (error) {
    if (error instanceof ParseError) throw error;
    if (error instanceof TypeError) throw new ParseError('PL_PARSE_ENCODING', 'not valid UTF-8', ctx.file, {}, { cause: error });
    throw new ParseError('PL_PARSE_XML_MALFORMED', (error as Error).message, ctx.file, { line: parser.line, column: parser.column }, { cause: error });
  }
  if (!rootSeen) fail('no root element');

  const rows: ExerciseRow[] = [];
  for (const [index, ex] of done.entries()) {
    const exerciseId = index === 0 ? ctx.exerciseId : `${ctx.exerciseId}-${index}`;
    const exCtx = { ...ctx, exerciseId };
    const start = pptLocalTime(ex.time) ?? fail(`exercise ${index}: time ${JSON.stringify(ex.time)} is not YYYY-MM-DD HH:MM:SS`);
    const rate = n(ex.rate) ?? 5;
    const byIndex: SampleRow[] = [];
    for (const s of ex.series) {
      const apply = s.type ? SAMPLE_FIELDS[s.type] : undefined;
      if (!apply || !s.values) continue;
      s.values.split(',').forEach((item, i) => {
        const v = n(item);
        if (v === null && item.trim() !== '') fail(`exercise ${index}: ${s.type} value ${JSON.stringify(item.slice(0, 20))} is not a number`);
        let row = byIndex[i];
        if (!row) {
          row = emptySample(exCtx, 'ppt', 0);
          row.time_utc_us = start + Math.round(i * rate * 1e6);
          byIndex[i] = row;
        }
        if (v !== null) apply(row, v);
      });
    }
    for (let i = 0; i < byIndex.length; i += batchRows) yield { table: 'samples', rows: byIndex.slice(i, i + batchRows) };
    const laps: LapRow[] = [];
    let lapStart = start;
    for (const [li, lap] of ex.laps.entries()) {
      const row = emptyLap(exCtx, 'ppt', 0, li);
      const seconds = hrmClock(lap.duration ?? '');
      row.start_time_utc_us = lapStart;
      row.total_time_s = seconds;
      row.distance_m = n(lap.distance);
      row.avg_heart_rate_bpm = n(lap.hrAvg);
      row.max_heart_rate_bpm = n(lap.hrMax);
      laps.push(row);
      lapStart += Math.round((seconds ?? 0) * 1e6);
    }
    if (laps.length > 0) yield { table: 'laps', rows: laps };
    const row = importedExerciseRow(exCtx, { startUtcUs: start, offsetMin: null, durationS: hrmClock(ex.duration ?? ''), sport: ex.sport, device: 'Polar ProTrainer' });
    row.distance_m = n(ex.distance);
    row.calories_kcal = n(ex.calories);
    row.heart_rate_avg_bpm = n(ex.hrAvg);
    row.heart_rate_max_bpm = n(ex.hrMax);
    rows.push(row);
  }
  if (rows.length === 0) fail('no exercise in calendar-items');
  yield { table: 'exercises', rows };
}
