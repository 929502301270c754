/** The source_files row of a parsed file: its FileInfo as the table stores it. */
import type { SourceFileRow } from '../records/rows.ts';
import type { FileInfo } from './values.ts';

export function sourceFileRow(info: FileInfo): SourceFileRow {
  return {
    user_id: info.user_id,
    exercise_id: info.exercise_id,
    source_format: info.source_format,
    raw_key: info.file,
    content: info.content,
    creator_name: info.creator_name,
    creator_version: info.creator_version,
    author_name: info.author_name,
    sport: info.sport,
    activity_count: info.activity_count,
    lap_count: info.lap_count,
    sample_count: info.sample_count,
    route_point_count: info.route_point_count,
    dropped_point_count: info.dropped_point_count,
    ignored_point_count: info.ignored_point_count,
    time_backwards_count: info.time_backwards_count,
    value_unparseable_count: info.value_unparseable_count,
    decimal_comma_count: info.decimal_comma_count,
    time_unparseable_count: info.time_unparseable_count,
    first_time_utc_us: info.first_time_utc_us,
    last_time_utc_us: info.last_time_utc_us,
    utc_offset_min: info.utc_offset_min,
    fields_present: info.fields_present.length > 0 ? info.fields_present.join(',') : null,
  };
}
