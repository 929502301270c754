/** What every date-based normaliser takes and gives. */
import type { DailyContext } from '../parse/json-payload.ts';
import type { DailyKind } from '../records/envelope.ts';
import type { TableName, TableRows } from '../records/rows.ts';

/** Rows per table parsed from one stored day; a table absent or [] has no rows from it. */
export type NormalisedRows = { [T in TableName]?: TableRows[T][] };

export interface DateBasedContext extends DailyContext {
  /**
   * Reads another stored day of the same user (Nightly Recharge reads that night's sleep to
   * anchor its clock-time series); null when the raw zone has none.
   */
  readonly readDaily?: (kind: DailyKind, date: string) => Promise<unknown | null>;
}

/** The items of a stored day: one object, or an array for kinds with several items a day. */
export function itemsOf(json: unknown): Record<string, unknown>[] {
  const list = Array.isArray(json) ? json : [json];
  return list.filter((x): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x));
}
