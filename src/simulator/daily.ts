/**
 * Simulated date-based data: one daily-activity summary and one sleep night per user and
 * local date, as `GET /v3/users/activities` and `GET /v3/users/sleep` serve them.
 *
 * - Each account lives in its own fixed time zone (offsets east and west of UTC, see
 *   DAILY_OFFSETS_MIN), so the device-local date differs from the UTC date for part of the
 *   day, and every night crosses local midnight.
 * - Only data uploaded after registration exists: the device syncs at registration and
 *   uploads its last `daysAtRegistration` days (including the registration day), then one
 *   new day per local day.
 * - Deterministic from the seed: a day's numbers are a function of (seed, user, date,
 *   version). `resync` bumps the version, as a later sync of the same day does at Polar:
 *   the day's steps, calories and active time grow; the night's rating changes and its end
 *   moves a minute later.
 */
import { deriveSeed, intBetween, mulberry32, between } from './random.ts';
import { currentSamples, minuteSteps } from './activity.ts';

/** Which sample parts an activity day carries (the `steps`, `activity_zones`, `inactivity_stamps` flags). */
export interface ActivitySampleParts {
  readonly steps: boolean;
  readonly zones: boolean;
  readonly inactivity: boolean;
}

export const ALL_SAMPLE_PARTS: ActivitySampleParts = { steps: true, zones: true, inactivity: true };

/** Offsets (minutes east of UTC) given to accounts by index: Sydney-like, Los Angeles-like, UTC, India, Brazil. */
export const DAILY_OFFSETS_MIN = [600, -480, 0, 330, -180] as const;

/** Every simulated date-based type: activity and sleep here, the rest in ./date-based.ts. */
export type DailyPayload =
  | 'activity' | 'sleep' | 'nightly_recharge' | 'continuous_heart_rate' | 'cardio_load' | 'sleepwise_alertness' | 'sleepwise_circadian_bedtime'
  | 'body_temperature' | 'skin_temperature' | 'skin_contacts' | 'ecg' | 'spo2';

export interface DailyAccount {
  readonly index: number;
  readonly polarUserId: string;
  readonly registeredAtMs: number | null;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function utcOffsetMinOf(account: { index: number }): number {
  return DAILY_OFFSETS_MIN[account.index % DAILY_OFFSETS_MIN.length]!;
}

/** Local calendar date (`YYYY-MM-DD`) of an instant at an offset. */
export function localDateOf(ms: number, offsetMin: number): string {
  return new Date(ms + offsetMin * 60_000).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

export function isIsoDate(text: string): boolean {
  if (!ISO_DATE.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().startsWith(text);
}

function iso(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `YYYY-MM-DDTHH:MM:SS+HH:MM` of a local wall time at an offset. */
function withOffset(date: string, secondsOfDay: number, offsetMin: number): string {
  const wall = new Date(Date.parse(`${date}T00:00:00Z`) + secondsOfDay * 1000).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${wall}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** `HH:MM` of a number of seconds from a local midnight (wrapping past 24 h). */
export function clockKey(secondsOfDay: number): string {
  const s = ((secondsOfDay % 86_400) + 86_400) % 86_400;
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}`;
}

/** A night's start (22:30-23:59 the evening before) and end (06:00-07:59), in seconds of their local days: the first draws of the night's stream. */
function drawNightTimes(rng: () => number): { startS: number; endS: number } {
    const startS = 22 * 3600 + intBetween(rng, 30, 119) * 60 + intBetween(rng, 0, 59); // 22:30-23:59 the evening before
    const endS = 6 * 3600 + intBetween(rng, 0, 119) * 60 + intBetween(rng, 0, 59); // 06:00-07:59
  return { startS, endS };
}

export class DailyData {
  /** Re-sync count per `${userId}/${kind}/${date}`. */
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly seed: number,
    private readonly daysAtRegistration: number,
    private readonly now: () => number,
  ) {}

  /** Local dates with data for this account, oldest first; empty when not registered. */
  availableDates(account: DailyAccount): string[] {
    if (account.registeredAtMs === null) return [];
    const offset = utcOffsetMinOf(account);
    const today = localDateOf(this.now(), offset);
    const first = addDays(localDateOf(account.registeredAtMs, offset), -(this.daysAtRegistration - 1));
    const out: string[] = [];
    for (let d = first; d <= today; d = addDays(d, 1)) out.push(d);
    return out;
  }

  has(account: DailyAccount, date: string): boolean {
    return this.availableDates(account).includes(date);
  }

  version(userId: string, kind: DailyPayload, date: string): number {
    return this.versions.get(`${userId}/${kind}/${date}`) ?? 0;
  }

  resync(userId: string, kind: DailyPayload, date: string): void {
    this.versions.set(`${userId}/${kind}/${date}`, this.version(userId, kind, date) + 1);
  }

  /**
   * The night's hypnogram (a change of stage every 5-40 min, cycling light → deep → light → REM
   * with short wakes) and heart rate every 5 min (now and then a 0: no reading), keyed by
   * the local wall clock `HH:MM` from the sleep start on, across midnight.
   */
  private nightSeries(account: DailyAccount, date: string, startS: number, asleepS: number): { hypnogram: Record<string, number>; heartRate: Record<string, number> } {
    const rng = mulberry32(deriveSeed(this.seed, 0x4e9, account.index, Date.parse(`${date}T00:00:00Z`) / DAY_MS));
    const cycle = [3, 4, 3, 2, 1, 0];
    const hypnogram: Record<string, number> = {};
    for (let t = 0, i = 0; t < asleepS - 300; t += intBetween(rng, 10, 80) * 30, i++) {
      const key = clockKey(startS + t);
      if (!(key in hypnogram)) hypnogram[key] = cycle[i % cycle.length]!;
    }
    const heartRate: Record<string, number> = {};
    for (let t = 0; t < asleepS; t += 300) {
      const bpm = Math.round(62 - 10 * Math.sin((Math.PI * t) / asleepS) + between(rng, -3, 3));
      heartRate[clockKey(startS + t)] = rng() < 0.03 ? 0 : bpm;
    }
    return { hypnogram, heartRate };
  }

  /** The day summary as `/v3/users/activities` serves it (snake_case, no `date`: the day is start_time's). */
  activity(account: DailyAccount, date: string, opts: { samples?: ActivitySampleParts } = {}): Record<string, unknown> {
    const rng = mulberry32(deriveSeed(this.seed, 0xda1, account.index, Date.parse(`${date}T00:00:00Z`) / DAY_MS));
    const v = this.version(account.polarUserId, 'activity', date);
    const steps = intBetween(rng, 3000, 14000) + v * 1500;
    const activeS = intBetween(rng, 3, 9) * 3600 + intBetween(rng, 0, 59) * 60 + v * 900;
    const inactiveS = intBetween(rng, 5, 9) * 3600 + intBetween(rng, 0, 59) * 30;
    const activeKcal = Math.round(steps * between(rng, 0.09, 0.12));
    const day: Record<string, unknown> = {
      start_time: `${date}T00:00`,
      end_time: `${date}T23:59:59`,
      active_duration: iso(activeS),
      inactive_duration: iso(inactiveS),
      daily_activity: Math.round(between(rng, 40, 140) * 100) / 100 + v * 5,
      calories: 1650 + activeKcal,
      active_calories: activeKcal,
      steps,
      inactivity_alert_count: intBetween(rng, 0, 3),
      distance_from_steps: Math.round(steps * 0.72 * 100) / 100,
    };
    const parts = opts.samples;
    if (parts && (parts.steps || parts.zones || parts.inactivity)) day['samples'] = this.samples(account, date, parts, steps);
    return day;
  }

  /** The day's sample parts, from its per-minute step series (see ./activity.ts). */
  samples(account: DailyAccount, date: string, parts: ActivitySampleParts, steps?: number): Record<string, unknown> {
    const total = steps ?? (this.activity(account, date)['steps'] as number);
    return currentSamples(minuteSteps(this.seed, account.index, date, this.version(account.polarUserId, 'activity', date), total), date, parts);
  }

  private nightRng(account: DailyAccount, date: string) {
    return mulberry32(deriveSeed(this.seed, 0x51ee9, account.index, Date.parse(`${date}T00:00:00Z`) / DAY_MS));
  }

  /**
   * The night that ends on `date` (local): seconds of the local day it starts at (the evening
   * before) and ends at, the offset, and its UTC instants.
   */
  night(account: DailyAccount, date: string): { startS: number; endS: number; offsetMin: number; startUtcMs: number; endUtcMs: number } {
    const { startS, endS } = drawNightTimes(this.nightRng(account, date));
    const offsetMin = utcOffsetMinOf(account);
    const midnight = Date.parse(`${date}T00:00:00Z`) - offsetMin * 60_000;
    return { startS, endS, offsetMin, startUtcMs: midnight - DAY_MS + startS * 1000, endUtcMs: midnight + endS * 1000 };
  }

  /** The night's entry in `/v3/users/sleep/available`: its date and boundaries, as its full body has them. */
  sleepAvailable(account: DailyAccount, date: string): { date: string; start_time: unknown; end_time: unknown } {
    const night = this.sleep(account, date);
    return { date, start_time: night['sleep_start_time'], end_time: night['sleep_end_time'] };
  }

  /** The night that ends on `date` (local), as `/v3/users/sleep/{date}` serves it; it starts the evening before. */
  sleep(account: DailyAccount, date: string): Record<string, unknown> {
    const rng = this.nightRng(account, date);
    const v = this.version(account.polarUserId, 'sleep', date);
    const offset = utcOffsetMinOf(account);
    const drawn = drawNightTimes(rng);
    const startS = drawn.startS;
    // A later sync brings the night's last minute: the end moves, as `/sleep/available` shows.
    const endS = drawn.endS + v * 60;
    const asleepS = 86_400 - startS + endS;
    const light = Math.round(asleepS * 0.5);
    const deep = Math.round(asleepS * 0.15);
    const rem = Math.round(asleepS * 0.2);
    const interruptions = asleepS - light - deep - rem;
    const short = Math.round(interruptions * 0.6);
    const { hypnogram, heartRate } = this.nightSeries(account, date, startS, asleepS);
    return {
      polar_user: `https://www.polaraccesslink.com/v3/users/${account.polarUserId}`,
      date,
      sleep_start_time: withOffset(addDays(date, -1), startS, offset),
      sleep_end_time: withOffset(date, endS, offset),
      device_id: `${(0x66a98000 + account.index).toString(16).toUpperCase()}`,
      continuity: Math.round(between(rng, 1, 5) * 10) / 10,
      continuity_class: intBetween(rng, 1, 5),
      light_sleep: light,
      deep_sleep: deep,
      rem_sleep: rem,
      unrecognized_sleep_stage: 0,
      sleep_score: intBetween(rng, 40, 95),
      total_interruption_duration: interruptions,
      sleep_charge: intBetween(rng, 1, 5),
      sleep_rating: (intBetween(rng, 0, 4) + v) % 6,
      short_interruption_duration: short,
      long_interruption_duration: interruptions - short,
      sleep_goal: 28_800,
      group_duration_score: Math.round(between(rng, 40, 100) * 10) / 10,
      group_solidity_score: Math.round(between(rng, 40, 100) * 10) / 10,
      group_regeneration_score: Math.round(between(rng, 40, 100) * 10) / 10,
      sleep_cycles: intBetween(rng, 3, 6),
      hypnogram,
      heart_rate_samples: heartRate,
    };
  }
}
