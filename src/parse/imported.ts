/**
 * The parsers of imported files behind one call: HRM, PPT XML and Flow export JSON by their
 * own parsers, TCX / GPX / FIT (gzip or not) through parseFile, whose `file` record becomes
 * the exercise row (AccessLink gives a summary JSON for that; an imported file has only itself).
 */
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import type { ImportedKind } from '../records/envelope.ts';
import { parseFlowTrainingSession } from './flow-export.ts';
import { parseHrm } from './hrm.ts';
import { importedExerciseRow, type ImportParseOutput, type RoutePoint } from './imported-row.ts';
import { parseFile, type ParseOptions } from './index.ts';
import { parsePpt } from './ppt.ts';
import type { ParseContext } from './values.ts';
import { isGzip } from './detect.ts';

export type { ImportParseOutput, RoutePoint } from './imported-row.ts';

export type ImportFormat = ImportedKind | 'tcx' | 'gpx' | 'fit';

export interface ImportParseOptions extends ParseOptions {
  /** HRM only: the paired GPX's points. */
  readonly route?: readonly RoutePoint[];
}

/** Gunzips when the bytes are gzip (a `.hrm.gz`), else passes them through. */
async function* maybeGunzip(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = input[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return;
  const rest = async function* () {
    yield first.value;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  };
  if (!isGzip(first.value)) {
    yield* rest();
    return;
  }
  for await (const chunk of Readable.from(rest()).pipe(createGunzip())) yield chunk as Buffer;
}

export async function* parseImported(format: ImportFormat, input: AsyncIterable<Buffer>, ctx: ParseContext, options: ImportParseOptions = {}): AsyncGenerator<ImportParseOutput> {
  const batch = options.batchRows === undefined ? {} : { batchRows: options.batchRows };
  if (format === 'hrm') return yield* parseHrm(maybeGunzip(input), ctx, { ...batch, ...(options.route ? { route: options.route } : {}) });
  if (format === 'ppt') return yield* parsePpt(maybeGunzip(input), ctx, batch);
  if (format === 'flow') return yield* parseFlowTrainingSession(maybeGunzip(input), ctx, batch);
  for await (const out of parseFile(input, format, ctx, options)) {
    if (out.table !== 'file') {
      yield out;
      continue;
    }
    const info = out.info;
    if (info.first_time_utc_us === null) return; // a course, a route without times: no exercise to describe
    const row = importedExerciseRow(ctx, {
      startUtcUs: info.first_time_utc_us,
      // A broken FIT local_timestamp can give any number: only real zone offsets describe the exercise.
      offsetMin: info.utc_offset_min !== null && Math.abs(info.utc_offset_min) <= 18 * 60 ? info.utc_offset_min : null,
      durationS: info.last_time_utc_us === null ? null : (info.last_time_utc_us - info.first_time_utc_us) / 1e6,
      sport: info.sport,
      device: info.creator_name,
    });
    row.has_route = info.fields_present.includes('latitude_deg');
    yield { table: 'exercises', rows: [row] };
  }
}

/** The points of a GPX (the WebSync file beside an HRM), in time order. */
export async function readRoute(input: AsyncIterable<Buffer>, ctx: ParseContext, options: ParseOptions = {}): Promise<RoutePoint[]> {
  const points: RoutePoint[] = [];
  for await (const out of parseFile(input, 'gpx', ctx, { ...options, timeOrder: 'keep' })) {
    if (out.table !== 'samples') continue;
    for (const r of out.rows) {
      if (r.latitude_deg !== null && r.longitude_deg !== null) points.push({ timeUtcUs: r.time_utc_us, latitudeDeg: r.latitude_deg, longitudeDeg: r.longitude_deg, altitudeM: r.altitude_m });
    }
  }
  return points.sort((a, b) => a.timeUtcUs - b.timeUtcUs);
}
