/**
 * Webhook event → the fetch it asks for, for the user it names. The URL in an event is only a
 * hint (the documented examples even misspell one path): the work is decided from the event
 * type, the user and the date, and the fetch stage builds its own requests.
 *
 * - EXERCISE → the user's exercises (transactions or the `/v3/exercises` listing, whichever
 *   channel is on);
 * - PHYSICAL_INFORMATION → `GET /v3/users/physical-info`;
 * - the date-based events → each named date of the matching types, by their per-date call
 *   (src/daily/endpoints.ts; only the types the pipeline has on):
 *   ACTIVITY_SUMMARY → activity, for the date and the day before (a day keeps growing as the
 *   user syncs; a late sync of yesterday announces today); SLEEP → sleep and nightly recharge
 *   (recharge has no event of its own and is computed from the night); CONTINUOUS_HEART_RATE
 *   → continuous heart rate; SLEEP_WISE_ALERTNESS / SLEEP_WISE_CIRCADIAN_BEDTIME → that type
 *   over the `from`..`to` range.
 *
 * Duplicates are harmless: the ledger stores each version of an item once.
 */
import type { DailyKind } from '../records/envelope.ts';
import type { WebhookEvent } from './events.ts';

export type FetchWork =
  | { readonly kind: 'exercises' }
  | { readonly kind: 'physical-info' }
  | { readonly kind: 'dated'; readonly event: string; readonly types: readonly DailyKind[]; readonly dates: readonly string[] };

const DATED: Readonly<Record<string, readonly DailyKind[]>> = {
  ACTIVITY_SUMMARY: ['activity'],
  SLEEP: ['sleep', 'nightly_recharge'],
  CONTINUOUS_HEART_RATE: ['continuous_heart_rate'],
  SLEEP_WISE_ALERTNESS: ['sleepwise_alertness'],
  SLEEP_WISE_CIRCADIAN_BEDTIME: ['sleepwise_circadian_bedtime'],
};

/** Every event type AccessLink delivers (PING aside). */
export const WEBHOOK_EVENT_TYPES = [
  'EXERCISE', 'SLEEP', 'CONTINUOUS_HEART_RATE', 'SLEEP_WISE_CIRCADIAN_BEDTIME', 'SLEEP_WISE_ALERTNESS', 'ACTIVITY_SUMMARY', 'PHYSICAL_INFORMATION',
] as const;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
/** The longest date range an event may name (the API's own range limit). */
const MAX_RANGE_DAYS = 28;

const isDate = (d: string | null | undefined): d is string => typeof d === 'string' && DATE.test(d) && Number.isFinite(Date.parse(`${d}T00:00:00Z`));
const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** The dates an event names: its `date`, or its `from`..`to` range (capped); else today's UTC date. */
function datesOf(event: WebhookEvent, now: Date): string[] {
  if (isDate(event.date)) return [event.date];
  if (isDate(event.from)) {
    const to = isDate(event.to) && event.to >= event.from ? event.to : event.from;
    const out: string[] = [];
    for (let d = event.from; d <= to && out.length < MAX_RANGE_DAYS; d = addDays(d, 1)) out.push(d);
    return out;
  }
  return [now.toISOString().slice(0, 10)];
}

/** The work an event asks for; null for an event type polar-lake does not know (logged, acknowledged). */
export function fetchWorkFor(event: WebhookEvent, now: Date): FetchWork | null {
  switch (event.event) {
    case 'EXERCISE':
      return { kind: 'exercises' };
    case 'PHYSICAL_INFORMATION':
      return { kind: 'physical-info' };
    case 'ACTIVITY_SUMMARY': {
      const [date] = datesOf(event, now) as [string];
      return { kind: 'dated', event: event.event, types: DATED[event.event]!, dates: [addDays(date, -1), date] };
    }
    default: {
      const types = DATED[event.event];
      return types ? { kind: 'dated', event: event.event, types, dates: datesOf(event, now) } : null;
    }
  }
}
