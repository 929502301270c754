/** Shapes shared by the parsers of imported files (HRM, PPT XML, Polar Flow export JSON, and TCX/GPX/FIT on import). */
import type { ExerciseRow } from '../records/rows.ts';
import type { ParseOutput } from './index.ts';
import type { ParseContext } from './values.ts';

/** What an import parser yields: sample and lap batches, then one `exercises` batch (one row per exercise in the file). */
export type ImportParseOutput = Exclude<ParseOutput, { table: 'file' }> | { table: 'exercises'; rows: ExerciseRow[] };

/** One point of a recorded route (a GPX paired with an HRM file; a Flow export's recordedRoute). */
export interface RoutePoint {
  readonly timeUtcUs: number;
  readonly latitudeDeg: number;
  readonly longitudeDeg: number;
  readonly altitudeM: number | null;
}

/** An `exercises` row for an imported file: what every import parser knows, nulls for the rest. */
export function importedExerciseRow(
  ctx: ParseContext,
  s: { startUtcUs: number; offsetMin: number | null; durationS: number | null; sport: string | null; device: string | null },
): ExerciseRow {
  return {
    user_id: ctx.userId, exercise_id: ctx.exerciseId, transaction_id: null, upload_time_utc_us: null,
    start_time_utc_us: s.startUtcUs, utc_offset_min: s.offsetMin, duration_s: s.durationS, calories_kcal: null, distance_m: null,
    heart_rate_avg_bpm: null, heart_rate_max_bpm: null, training_load: null, sport: s.sport, detailed_sport_info: null,
    device: s.device, device_id: null, has_route: null, running_index: null, fat_percentage: null, carbohydrate_percentage: null,
    protein_percentage: null, cardio_load: null, muscle_load: null, perceived_load: null, source: null, other_sources: null,
  };
}
