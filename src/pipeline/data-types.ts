/**
 * `fetch.daily` + `fetch.data_types` (schemas/pipeline.schema.json) → which date-based types
 * the sweep reads, how often and how far back. The pipeline loader calls
 * checkDataTypes, so `polar-lake lint` and every load refuse a lookback beyond the API's
 * window for the type (the JSON Schema cannot know the per-type windows: they live in the
 * endpoint registry, src/daily/endpoints.ts).
 */
import { dateBasedEndpoint } from '../daily/endpoints.ts';
import { DAILY_KINDS, type DailyKind } from '../records/envelope.ts';
import { defaultLookbackDays, type DailySchedule } from '../stages/fetch-daily.ts';

export interface DataTypeConfig {
  readonly enabled?: boolean;
  /** `<n>s|m|h|d`. */
  readonly every?: string;
  readonly lookback_days?: number;
  /** Probe first (a type with a probe endpoint: sleep). */
  readonly probe?: boolean;
}

export interface DailySweepConfig {
  readonly kinds: readonly DailyKind[];
  readonly schedule: Readonly<Record<DailyKind, DailySchedule>>;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `15m` → 900000; null for anything else. */
export function everyMs(text: string): number | null {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

/** Types read on every run by default; the others once an hour (they change once a night or grow slowly). */
const EVERY_RUN: readonly DailyKind[] = ['activity', 'sleep'];

export function dailySweepConfig(fetch: { readonly daily: readonly string[]; readonly data_types?: Readonly<Partial<Record<string, DataTypeConfig>>> }): DailySweepConfig {
  const types = fetch.data_types ?? {};
  const kinds = DAILY_KINDS.filter((k) => types[k]?.enabled ?? fetch.daily.includes(k));
  const schedule = Object.fromEntries(
    DAILY_KINDS.map((k) => {
      const c = types[k];
      const every = c?.every === undefined ? (EVERY_RUN.includes(k) ? 0 : UNIT_MS.h) : (everyMs(c.every) ?? 0);
      return [k, { everyMs: every, lookbackDays: c?.lookback_days ?? defaultLookbackDays(k), ...(c?.probe ? { probe: true } : {}) }];
    }),
  ) as Record<DailyKind, DailySchedule>;
  return { kinds, schedule };
}

/** Problems the schema cannot see, as [JSON path, message]; [] when none. */
export function checkDataTypes(fetch: { readonly data_types?: Readonly<Partial<Record<string, DataTypeConfig>>> } | undefined): [string, string][] {
  const problems: [string, string][] = [];
  for (const [kind, c] of Object.entries(fetch?.data_types ?? {})) {
    if (!c) continue;
    if (c.probe && !dateBasedEndpoint(kind as DailyKind).probe) problems.push([`/fetch/data_types/${kind}/probe`, `${kind} has no probe endpoint (only sleep: /v3/users/sleep/available)`]);
    if (c.lookback_days === undefined) continue;
    const window = dateBasedEndpoint(kind as DailyKind).windowDays;
    if (c.lookback_days > window) problems.push([`/fetch/data_types/${kind}/lookback_days`, `${c.lookback_days} days is beyond the API's window for ${kind} (${window} days)`]);
  }
  return problems;
}
