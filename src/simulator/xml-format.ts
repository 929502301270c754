/** How devices write numbers and times in workout files; shared by tcx.ts and gpx.ts. */

/** `2025-06-02T07:00:00.000Z`: Polar always writes milliseconds. */
export const isoUtc = (ms: number): string => new Date(ms).toISOString();

/** A decimal that always shows a fraction, as Polar writes totals: `600.0`, `12.5`. */
export function decimal(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/**
 * Polar writes trackpoint distances as float32 values printed as doubles
 * (`1.7999999523162842`); whole numbers keep one decimal (`0.0`).
 */
export function float32Decimal(value: number): string {
  const f = Math.fround(value);
  return Number.isInteger(f) ? f.toFixed(1) : String(f);
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
