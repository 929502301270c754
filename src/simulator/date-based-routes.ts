/**
 * The simulator's night, heart and biosensing endpoints (bearer; the token's user), with each
 * one's window, range rule and no-data answer as the reference gives them:
 *
 * | path | window / params | no data |
 * |---|---|---|
 * | `/v3/users/nightly-recharge` | last 28 days, `{"recharges": [...]}` | `{"recharges": []}` |
 * | `/v3/users/nightly-recharge/{date}` | one object | 404 |
 * | `/v3/users/continuous-heart-rate/{date}` | one object | 404 |
 * | `/v3/users/continuous-heart-rate?from=&to=` | both required, at most 28 days; one day → the spec's single object, several → `{"heart_rates": [...]}` (the shape third parties report) | 204 |
 * | `/v3/users/cardio-load[/]`, `/period/days/{n}`, `/period/months/{n}` | last 28 days / n back, array | `[]` |
 * | `/v3/users/cardio-load/{date}` | array of one | 204 |
 * | `/v3/users/cardio-load/date?from=&to=` | both required, at most 28 days; one entry per day, `LOAD_STATUS_NOT_AVAILABLE` without a value | – |
 * | `/v3/users/sleepwise/{alertness,circadian-bedtime}` | last 28 days, array | 204 |
 * | `/v3/users/sleepwise/{...}/date?from=&to=` | both required, at most 28 days | 204 |
 * | `/v3/users/biosensing/{bodytemperature,skintemperature,skincontacts,ecg,spo2}` | last 28 days, or optional from/to (at most 28 days) | 204 |
 *
 * "Today" is the account's local date; a `to` past it is accepted (and answers nothing more).
 */
import type { ServerResponse } from 'node:http';
import { addDays, isIsoDate, localDateOf, utcOffsetMinOf, type DailyAccount } from './daily.ts';
import { DateBasedData, type DateBasedPayload } from './date-based.ts';
import { HttpError, sendEmpty, sendJson } from './http-util.ts';
import type { SimulatorState } from './state.ts';

const BIOSENSING: Record<string, DateBasedPayload> = {
  bodytemperature: 'body_temperature', skintemperature: 'skin_temperature', skincontacts: 'skin_contacts', ecg: 'ecg', spo2: 'spo2',
};
const SLEEPWISE: Record<string, DateBasedPayload> = { alertness: 'sleepwise_alertness', 'circadian-bedtime': 'sleepwise_circadian_bedtime' };

const DATE = '(\\d{4}-\\d{2}-\\d{2}|[0-9-]{1,12})';
const R = {
  recharges: /^\/v3\/users\/nightly-recharge$/,
  recharge: new RegExp(`^/v3/users/nightly-recharge/${DATE}$`),
  hrRange: /^\/v3\/users\/continuous-heart-rate$/,
  hrDate: new RegExp(`^/v3/users/continuous-heart-rate/${DATE}$`),
  cardioList: /^\/v3\/users\/cardio-load\/?$/,
  cardioRange: /^\/v3\/users\/cardio-load\/date$/,
  cardioPeriod: /^\/v3\/users\/cardio-load\/period\/(days|months)\/(\d{1,3})$/,
  cardioDate: new RegExp(`^/v3/users/cardio-load/${DATE}$`),
  sleepwise: /^\/v3\/users\/sleepwise\/(alertness|circadian-bedtime)(\/date)?$/,
  biosensing: /^\/v3\/users\/biosensing\/([a-z0-9]{1,20})$/,
};

export function isDateBasedPath(path: string): boolean {
  return ['/v3/users/nightly-recharge', '/v3/users/continuous-heart-rate', '/v3/users/cardio-load', '/v3/users/sleepwise/', '/v3/users/biosensing/'].some((p) => path.startsWith(p));
}

function checkDate(name: string, value: string | null): string {
  if (value === null) throw new HttpError(400, `${name} is required`, 'BAD_REQUEST');
  if (!isIsoDate(value)) throw new HttpError(400, `${name} must be a date YYYY-MM-DD`, 'BAD_REQUEST');
  return value;
}

/** An inclusive from/to range of at most 28 days. */
function range(url: URL, required: boolean): { from: string; to: string } | null {
  const from = url.searchParams.get('from');
  const to = url.searchParams.get('to');
  if (!required && from === null && to === null) return null;
  const r = { from: checkDate('from', from), to: checkDate('to', to) };
  if (r.from > r.to) throw new HttpError(400, 'from is after to', 'BAD_REQUEST');
  if (addDays(r.from, 27) < r.to) throw new HttpError(400, 'the range is at most 28 days', 'BAD_REQUEST');
  return r;
}

export function dateBasedRoutes(state: SimulatorState, account: DailyAccount, res: ServerResponse, url: URL): void {
  const path = url.pathname;
  const data = state.dateBased;
  const today = localDateOf(Date.now(), utcOffsetMinOf(account));
  const lastDays = (n: number) => state.daily.availableDates(account).filter((d) => d > addDays(today, -n));
  const inRange = (r: { from: string; to: string }) => state.daily.availableDates(account).filter((d) => d >= r.from && d <= r.to);
  const items = (kind: DateBasedPayload, dates: readonly string[]) => dates.flatMap((d) => data.items(account, kind, d));
  const arrayOr204 = (list: unknown[]) => (list.length > 0 ? sendJson(res, 200, list) : sendEmpty(res, 204));

  if (R.recharges.test(path)) return sendJson(res, 200, { recharges: items('nightly_recharge', lastDays(28)) });
  let m = R.recharge.exec(path);
  if (m) {
    const [one] = data.items(account, 'nightly_recharge', checkDate('date', m[1]!));
    if (!one) throw new HttpError(404, 'no nightly recharge for this date', 'NOT_FOUND');
    return sendJson(res, 200, one);
  }
  m = R.hrDate.exec(path);
  if (m) {
    const [one] = data.items(account, 'continuous_heart_rate', checkDate('date', m[1]!));
    if (!one) throw new HttpError(404, 'no continuous heart rate for this date', 'NOT_FOUND');
    return sendJson(res, 200, one);
  }
  if (R.hrRange.test(path)) {
    const days = items('continuous_heart_rate', inRange(range(url, true)!));
    if (days.length === 0) return sendEmpty(res, 204);
    return sendJson(res, 200, days.length === 1 ? days[0] : { heart_rates: days.map(({ polar_user: _user, ...day }) => day) });
  }
  if (R.cardioList.test(path)) return sendJson(res, 200, items('cardio_load', lastDays(28)));
  m = R.cardioPeriod.exec(path);
  if (m) return sendJson(res, 200, items('cardio_load', lastDays(m[1] === 'days' ? Number(m[2]) : Number(m[2]) * 30)));
  if (R.cardioRange.test(path)) {
    const r = range(url, true)!;
    const out: Record<string, unknown>[] = [];
    for (let d = r.from; d <= r.to && d <= today; d = addDays(d, 1)) out.push(data.items(account, 'cardio_load', d)[0] ?? DateBasedData.cardioLoadNotAvailable(d));
    return sendJson(res, 200, out);
  }
  m = R.cardioDate.exec(path);
  if (m) return arrayOr204(data.items(account, 'cardio_load', checkDate('date', m[1]!)));
  m = R.sleepwise.exec(path);
  if (m) {
    const kind = SLEEPWISE[m[1]!]!;
    return arrayOr204(items(kind, m[2] ? inRange(range(url, true)!) : lastDays(28)));
  }
  m = R.biosensing.exec(path);
  if (m && BIOSENSING[m[1]!]) {
    const r = range(url, false);
    return arrayOr204(items(BIOSENSING[m[1]!]!, r ? inRange(r) : lastDays(28)));
  }
  throw new HttpError(404, 'not found', 'NOT_FOUND');
}
