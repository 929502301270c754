/**
 * The date-based endpoint registry: for each data type read by date (AccessLink section 7),
 * how it is fetched (paths, window, range rule, the statuses that mean "no data"), how an
 * answer splits into days, how a stored day becomes rows, and which tables it feeds. The
 * sweep (src/stages/fetch-daily.ts) and the parse stage (src/stages/parse.ts) are written
 * once against this table; a new data type is one entry here plus its normaliser and tables.
 */
import { ACTIVITY_SAMPLE_FLAGS } from '../accesslink/client.ts';
import { normaliseCurrentActivitySamples } from '../parse/activity-samples.ts';
import { dailyActivityDate, normaliseDailyActivity } from '../parse/daily-activity.ts';
import { datePart } from '../parse/json-payload.ts';
import { sleepDate } from '../parse/sleep.ts';
import type { DailyKind } from '../records/envelope.ts';
import type { TableName } from '../records/rows.ts';
import { normaliseBodyTemperature, normaliseEcg, normaliseSkinContacts, normaliseSkinTemperature, normaliseSpo2, periodDate, skinTemperatureDate, testDate } from './biosensing.ts';
import { cardioLoadDate, continuousHeartRateDate, continuousHeartRateDays, normaliseCardioLoad, normaliseContinuousHeartRate } from './heart.ts';
import { nightlyRechargeDate, normaliseNightlyRecharge, normaliseSleepNight } from './night.ts';
import { SLEEP_AVAILABLE_PATH } from './sleep-available.ts';
import { normaliseAlertness, normaliseCircadianBedtime, sleepwiseDate } from './sleepwise.ts';
import type { DateBasedContext, NormalisedRows } from './types.ts';

export interface DateBasedEndpoint {
  readonly kind: DailyKind;
  /** How far back the API serves this type, in days: the sweep's lookback is capped at it. */
  readonly windowDays: number;
  /**
   * The list call. `path` answers the whole window with no parameters (null: there is no
   * such call); `rangePath` takes `from`/`to` (inclusive dates, at most `maxRangeDays` apart;
   * null: no range call). A shorter lookback than the window uses `rangePath` when there is
   * one, else `path` with the days outside the lookback dropped.
   */
  readonly list: {
    readonly path: string | null;
    readonly rangePath: string | null;
    readonly maxRangeDays: number;
    /** Statuses that mean "no data" (204 always). */
    readonly noData: readonly number[];
    /** Query parameters every list call carries besides the dates (activity: the sample flags). */
    readonly query?: Readonly<Record<string, string>>;
  };
  /** One date's call (webhooks, a re-fetch of one day): path and query; its own "no data" statuses. */
  readonly byDate: { readonly request: (date: string) => { path: string; query: Record<string, string> }; readonly noData: readonly number[] };
  /** The items of an answer (list or date), before they are keyed by date. */
  items(json: unknown): unknown[];
  /** The local date an item is about; null when it names none (the item is skipped with a typed error). */
  dateOf(item: Record<string, unknown>): string | null;
  /** A date may hold several items (tests, periods): a day is stored as the array of its items, else as the one item. */
  readonly manyPerDate: boolean;
  /** Tables the normaliser fills, in publishing order. */
  readonly tables: readonly TableName[];
  /**
   * Types whose rows are parsed against this type's stored day (Nightly Recharge is anchored on
   * the same night's sleep): when a day of this type is stored, an already published day of
   * each of them is announced again, so it is parsed anew with what arrived.
   */
  readonly dependents?: readonly DailyKind[];
  /**
   * A cheap call listing what the type holds (sleep: `/sleep/available`). When set and the
   * pipeline turns it on (`fetch.data_types.<type>.probe`), the sweep asks it first and reads full items only for dates that are new or whose probed version
   * changed (src/stages/fetch-daily.ts); a webhook's date still reads its item directly.
   */
  readonly probe?: { readonly path: string; readonly noData: readonly number[] };
  /**
   * Another way to the same rows: while this type is swept, `kind`'s calls drop the query
   * parameters `query` (activity_samples: activity's sample flags), so only one of the two
   * requests carries the data.
   */
  readonly replacesQueryOf?: { readonly kind: DailyKind; readonly query: readonly string[] };
  /**
   * Tables whose rows are published under another type's day (its raw key's source id): both
   * paths to the same rows write one source, so the newest parse replaces the other's rows
   * and nothing doubles whichever path (or both) brought the day.
   */
  readonly sourceOf?: Partial<Record<TableName, DailyKind>>;
  /**
   * The call reaching back beyond the window (cardio load's `/period/days/{n}` and
   * `/period/months/{n}`), for `backfill`: one request for `days` back from today, answering
   * the same items as the list (the same days, so the same raw keys and rows). `windowDays`:
   * how far back polar-lake asks through it.
   */
  readonly history?: { readonly windowDays: number; readonly request: (days: number) => { path: string; query: Record<string, string> } };
  normalise(json: unknown, ctx: DateBasedContext): NormalisedRows | Promise<NormalisedRows>;
}

const arrayOf = (json: unknown): unknown[] => (Array.isArray(json) ? json : json && typeof json === 'object' ? [json] : []);
const listIn = (key: string) => (json: unknown): unknown[] => {
  if (Array.isArray(json)) return json;
  if (!json || typeof json !== 'object') return [];
  const list = (json as Record<string, unknown>)[key];
  // A per-date answer is the one object itself.
  return Array.isArray(list) ? list : key in (json as object) ? [] : [json];
};
const onDate = (path: string) => (date: string) => ({ path: `${path}/${date}`, query: {} });
const rangeOfOne = (path: string) => (date: string) => ({ path, query: { from: date, to: date } });

const biosensing = (
  kind: DailyKind, resource: string, dateOf: (item: Record<string, unknown>) => string | null, manyPerDate: boolean, tables: readonly TableName[],
  normalise: DateBasedEndpoint['normalise'],
): DateBasedEndpoint => {
  const path = `/v3/users/biosensing/${resource}`;
  return { kind, windowDays: 28, list: { path, rangePath: path, maxRangeDays: 28, noData: [204] }, byDate: { request: rangeOfOne(path), noData: [204] }, items: arrayOf, dateOf, manyPerDate, tables, normalise };
};

const sleepwise = (kind: DailyKind, resource: string, tables: readonly TableName[], normalise: DateBasedEndpoint['normalise']): DateBasedEndpoint => {
  const path = `/v3/users/sleepwise/${resource}`;
  return {
    kind, windowDays: 28, list: { path, rangePath: `${path}/date`, maxRangeDays: 28, noData: [204] }, byDate: { request: rangeOfOne(`${path}/date`), noData: [204] },
    items: arrayOf, dateOf: sleepwiseDate, manyPerDate: true, tables, normalise,
  };
};

/**
 * How far back a backfill asks for cardio load. The API documents no limit for its period
 * calls; two years is what polar-lake asks for (a narrower `--since` asks for less).
 */
const CARDIO_LOAD_HISTORY_DAYS = 730;

/**
 * Cardio load `days` back from today: by days up to a year, by months beyond (a day count that
 * large is not known to be accepted; a month has at least 28 days, so the months asked for cover
 * every day wanted, and the sweep drops the days before the first one wanted).
 */
function cardioLoadPeriod(days: number): { path: string; query: Record<string, string> } {
  return days <= 365 ? { path: `/v3/users/cardio-load/period/days/${days}`, query: {} } : { path: `/v3/users/cardio-load/period/months/${Math.ceil(days / 28)}`, query: {} };
}

/** Both paths to the activity series publish them under the activity_samples day. */
const ACTIVITY_SAMPLE_SOURCES: Partial<Record<TableName, DailyKind>> = {
  activity_step_samples: 'activity_samples', activity_zone_samples: 'activity_samples', activity_inactivity_stamps: 'activity_samples',
};

const ENDPOINTS: readonly DateBasedEndpoint[] = [
  {
    kind: 'activity', windowDays: 365,
    // With the step, zone and inactivity samples: one request gives the day and its series (src/parse/activity-samples.ts).
    list: { path: '/v3/users/activities', rangePath: '/v3/users/activities', maxRangeDays: 28, noData: [204], query: ACTIVITY_SAMPLE_FLAGS },
    byDate: { request: (date) => ({ path: `/v3/users/activities/${date}`, query: { ...ACTIVITY_SAMPLE_FLAGS } }), noData: [204] },
    items: arrayOf, dateOf: dailyActivityDate, manyPerDate: false,
    tables: ['daily_activity', 'activity_step_samples', 'activity_zone_samples', 'activity_inactivity_stamps'],
    normalise: (json, ctx) => {
      const day = { daily_activity: [normaliseDailyActivity(json, ctx).row] };
      // A day fetched without the sample flags (activity_samples on) says nothing about the series: their tables are left alone.
      if (!json || typeof json !== 'object' || !('samples' in json)) return day;
      const samples = normaliseCurrentActivitySamples(json, ctx);
      return { ...day, activity_step_samples: samples.steps, activity_zone_samples: samples.zones, activity_inactivity_stamps: samples.inactivity };
    },
    sourceOf: ACTIVITY_SAMPLE_SOURCES,
  },
  {
    // The same series as activity's flags give, by their own call: off by default (one request
    // more per sweep for rows the activity list already carries); on, activity drops its flags.
    kind: 'activity_samples', windowDays: 365,
    list: { path: '/v3/users/activities/samples', rangePath: '/v3/users/activities/samples', maxRangeDays: 28, noData: [204] },
    byDate: { request: onDate('/v3/users/activities/samples'), noData: [204] },
    items: arrayOf, dateOf: (item) => datePart(item['date']), manyPerDate: false,
    tables: ['activity_step_samples', 'activity_zone_samples', 'activity_inactivity_stamps'],
    normalise: (json, ctx) => {
      const samples = normaliseCurrentActivitySamples(json, ctx);
      return { activity_step_samples: samples.steps, activity_zone_samples: samples.zones, activity_inactivity_stamps: samples.inactivity };
    },
    replacesQueryOf: { kind: 'activity', query: Object.keys(ACTIVITY_SAMPLE_FLAGS) },
    sourceOf: ACTIVITY_SAMPLE_SOURCES,
  },
  {
    kind: 'sleep', windowDays: 28,
    list: { path: '/v3/users/sleep', rangePath: null, maxRangeDays: 28, noData: [204, 404] },
    byDate: { request: onDate('/v3/users/sleep'), noData: [204, 404] },
    items: listIn('nights'), dateOf: sleepDate, manyPerDate: false, tables: ['sleep', 'sleep_stages', 'sleep_heart_rate'], normalise: normaliseSleepNight,
    dependents: ['nightly_recharge'], probe: { path: SLEEP_AVAILABLE_PATH, noData: [204, 404] },
  },
  {
    kind: 'nightly_recharge', windowDays: 28,
    list: { path: '/v3/users/nightly-recharge', rangePath: null, maxRangeDays: 28, noData: [204, 404] },
    byDate: { request: onDate('/v3/users/nightly-recharge'), noData: [204, 404] },
    items: listIn('recharges'), dateOf: nightlyRechargeDate, manyPerDate: false,
    tables: ['nightly_recharge', 'nightly_recharge_hrv', 'nightly_recharge_breathing'], normalise: normaliseNightlyRecharge,
  },
  {
    // No plain list: the range call needs both dates (max range undocumented; 28 assumed).
    kind: 'continuous_heart_rate', windowDays: 28,
    list: { path: null, rangePath: '/v3/users/continuous-heart-rate', maxRangeDays: 28, noData: [204, 404] },
    byDate: { request: onDate('/v3/users/continuous-heart-rate'), noData: [204, 404] },
    items: continuousHeartRateDays, dateOf: continuousHeartRateDate, manyPerDate: false, tables: ['continuous_heart_rate'], normalise: normaliseContinuousHeartRate,
  },
  {
    kind: 'cardio_load', windowDays: 28,
    list: { path: '/v3/users/cardio-load', rangePath: '/v3/users/cardio-load/date', maxRangeDays: 28, noData: [204, 404] },
    byDate: { request: onDate('/v3/users/cardio-load'), noData: [204, 404] },
    items: arrayOf, dateOf: cardioLoadDate, manyPerDate: false, tables: ['cardio_load'], normalise: normaliseCardioLoad,
    history: { windowDays: CARDIO_LOAD_HISTORY_DAYS, request: cardioLoadPeriod },
  },
  sleepwise('sleepwise_alertness', 'alertness', ['sleepwise_alertness', 'sleepwise_alertness_hourly'], normaliseAlertness),
  sleepwise('sleepwise_circadian_bedtime', 'circadian-bedtime', ['sleepwise_circadian_bedtime'], normaliseCircadianBedtime),
  biosensing('body_temperature', 'bodytemperature', periodDate, true, ['body_temperature', 'body_temperature_samples'], normaliseBodyTemperature),
  biosensing('skin_temperature', 'skintemperature', skinTemperatureDate, false, ['skin_temperature'], normaliseSkinTemperature),
  biosensing('skin_contacts', 'skincontacts', periodDate, true, ['skin_contacts', 'skin_contact_changes'], normaliseSkinContacts),
  biosensing('ecg', 'ecg', testDate, true, ['ecg', 'ecg_samples', 'ecg_quality_measurements'], normaliseEcg),
  biosensing('spo2', 'spo2', testDate, true, ['spo2'], normaliseSpo2),
];

const BY_KIND = new Map<DailyKind, DateBasedEndpoint>(ENDPOINTS.map((e) => [e.kind, e]));

/** The endpoint of a date-based kind (every DailyKind has one; a test keeps them in step). */
export function dateBasedEndpoint(kind: DailyKind): DateBasedEndpoint {
  const endpoint = BY_KIND.get(kind);
  if (!endpoint) throw new TypeError(`no date-based endpoint for ${kind}`);
  return endpoint;
}

export const DATE_BASED_ENDPOINTS: readonly DateBasedEndpoint[] = ENDPOINTS;
