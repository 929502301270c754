/**
 * Simulated daily-activity samples and physical information, and the two legacy
 * transactional channels that deliver them (activity and physical-information transactions).
 *
 * Samples are derived from one per-minute step series per (seed, user, date, version):
 * - walking bouts of constant cadence between 07:00 and 22:00, summing exactly to the day's
 *   `steps`; the current API's `steps.samples` keep only the minutes whose count differs from
 *   the previous minute (AccessLink's filtering), so forward-filling them over the
 *   `interval_ms` grid gives back the series and its total;
 * - zones from the cadence (SLEEP before 07:00 and from 23:00, SEDENTARY at rest, LIGHT,
 *   MODERATE, VIGOROUS), sent as change points; the legacy `/zone-samples` give per-hour
 *   durations per zone index;
 * - an inactivity stamp one hour into every sedentary run of an hour or more;
 * - legacy `/step-samples`: hourly sums, with null for hours that have not happened yet today.
 *
 * Transactional bookkeeping mirrors the exercise channel: pending items (a day not yet
 * delivered at its current version, a physical snapshot not yet delivered), one open
 * transaction per user and type (re-offered while open, gone after the TTL), commit marks
 * the items delivered.
 */
import { deriveSeed, intBetween, mulberry32, between } from './random.ts';
import { localDateOf, utcOffsetMinOf, type DailyAccount, type DailyData } from './daily.ts';

const DAY_MS = 86_400_000;
const MINUTES = 1440;
const MAX_ITEMS = 50;

export type LegacyType = 'activity' | 'physical';

const pad = (n: number) => String(n).padStart(2, '0');
const hhmm = (minute: number) => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;
const iso = (seconds: number) => {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${s}S` : ''}`;
};

export const ZONE_NAMES = ['SLEEP', 'SEDENTARY', 'LIGHT', 'MODERATE', 'VIGOROUS'] as const;

/** The per-minute step series of a day whose total is `total`. */
export function minuteSteps(seed: number, userIndex: number, date: string, version: number, total: number): Int32Array {
  const rng = mulberry32(deriveSeed(seed, 0x57e9, userIndex, Date.parse(`${date}T00:00:00Z`) / DAY_MS, version));
  const steps = new Int32Array(MINUTES);
  let left = total;
  let cursor = 7 * 60 + intBetween(rng, 0, 45);
  let last = cursor;
  while (left > 0 && cursor < 22 * 60) {
    const length = intBetween(rng, 4, 30);
    const cadence = intBetween(rng, 55, 125);
    for (let m = cursor; m < Math.min(cursor + length, 22 * 60) && left > 0; m++) {
      steps[m] = Math.min(cadence, left);
      left -= steps[m]!;
      last = m;
    }
    cursor += length + intBetween(rng, 8, 40);
  }
  if (left > 0) steps[last] = steps[last]! + left; // a long day: the rest lands in the last walking minute
  return steps;
}

function zoneOf(minute: number, steps: number): number {
  if (minute < 7 * 60 || minute >= 23 * 60) return 0;
  if (steps === 0) return 1;
  return steps < 80 ? 2 : steps < 110 ? 3 : 4;
}

/** The current API's `samples` part of a day (the parts asked for). */
export function currentSamples(series: Int32Array, date: string, parts: { steps: boolean; zones: boolean; inactivity: boolean }): Record<string, unknown> {
  const out: Record<string, unknown> = { date };
  if (parts.steps) {
    const samples: { steps: number; timestamp: string }[] = [];
    let total = 0;
    for (let m = 0; m < MINUTES; m++) {
      total += series[m]!;
      if (m === 0 || series[m] !== series[m - 1]) samples.push({ steps: series[m]!, timestamp: `${date}T${hhmm(m)}` });
    }
    out['steps'] = { interval_ms: 60_000, total_steps: total, samples };
  }
  if (parts.zones) {
    const samples: { zone: string; timestamp: string }[] = [];
    let previous = -1;
    for (let m = 0; m < MINUTES; m++) {
      const zone = zoneOf(m, series[m]!);
      if (zone !== previous) samples.push({ zone: ZONE_NAMES[zone]!, timestamp: `${date}T${hhmm(m)}:00` });
      previous = zone;
    }
    out['activity_zones'] = { samples };
  }
  if (parts.inactivity) {
    const stamps: { stamp: string }[] = [];
    let runStart = -1;
    for (let m = 0; m <= MINUTES; m++) {
      const sedentary = m < MINUTES && zoneOf(m, series[m]!) === 1;
      if (sedentary && runStart < 0) runStart = m;
      if (!sedentary && runStart >= 0) {
        if (m - runStart >= 60) stamps.push({ stamp: `${date}T${hhmm(runStart + 60)}` });
        runStart = -1;
      }
    }
    out['inactivity_stamps'] = stamps;
  }
  return out;
}

/** Legacy `/step-samples`: hourly sums (interval in minutes); hours still to come are null. */
export function legacyStepSamples(series: Int32Array, date: string, hoursKnown: number): Record<string, unknown> {
  const samples = Array.from({ length: 24 }, (_, h) => {
    let sum = 0;
    for (let m = h * 60; m < h * 60 + 60; m++) sum += series[m]!;
    return { steps: h < hoursKnown ? sum : null, time: `${pad(h)}:00:00.000` };
  });
  return { date, interval: 60, samples };
}

/** Legacy `/zone-samples`: per hour, the time in each zone index present (not cumulative); hours still to come are absent. */
export function legacyZoneSamples(series: Int32Array, date: string, hoursKnown: number): Record<string, unknown> {
  const samples = [];
  for (let h = 0; h < Math.min(24, hoursKnown); h++) {
    const minutes = new Map<number, number>();
    for (let m = h * 60; m < h * 60 + 60; m++) minutes.set(zoneOf(m, series[m]!), (minutes.get(zoneOf(m, series[m]!)) ?? 0) + 1);
    const zones = [...minutes].sort(([a], [b]) => a - b).map(([index, n]) => ({ index, inzone: iso(n * 60) }));
    samples.push({ 'activity-zones': zones, time: `${pad(h)}:00:00.000` });
  }
  return { date, interval: 60, samples };
}

interface PhysicalSnapshot {
  readonly itemId: string;
  readonly atMs: number;
  readonly version: number;
}

interface LegacyTransaction {
  readonly transactionId: string;
  readonly type: LegacyType;
  readonly userId: string;
  /** Activity: dates; physical: snapshot item ids. */
  readonly items: readonly string[];
  readonly createdMs: number;
}

export class LegacyDailyChannels {
  /** Activity days delivered through a committed transaction: date → version delivered. */
  private readonly deliveredDays = new Map<string, Map<string, number>>();
  private readonly snapshots = new Map<string, PhysicalSnapshot[]>();
  private readonly deliveredSnapshots = new Set<string>();
  private readonly open = new Map<string, LegacyTransaction>();
  private nextTransactionId: number;

  constructor(
    private readonly seed: number,
    private readonly daily: DailyData,
    private readonly now: () => number,
    private readonly ttlMs: number,
    /** Off: nothing is ever pending in the transactions (they answer 204). */
    private readonly enabled: boolean,
  ) {
    this.nextTransactionId = 70_000 + (seed % 1000) * 100;
  }

  /** The day's step series at its current version (the summary's `steps` is its total). */
  series(account: DailyAccount, date: string): Int32Array {
    const steps = this.daily.activity(account, date)['steps'] as number;
    return minuteSteps(this.seed, account.index, date, this.daily.version(account.polarUserId, 'activity', date), steps);
  }

  /** Hours of `date` that have happened on the device's clock (24 for past days). */
  hoursKnown(account: DailyAccount, date: string): number {
    const today = localDateOf(this.now(), utcOffsetMinOf(account));
    if (date < today) return 24;
    return Math.floor(((this.now() + utcOffsetMinOf(account) * 60_000) % DAY_MS) / 3_600_000) + 1;
  }

  // ---- physical information ----

  /** The user's snapshots, oldest first (the first is made at registration). */
  physicalSnapshots(account: DailyAccount): PhysicalSnapshot[] {
    if (account.registeredAtMs === null) return [];
    let list = this.snapshots.get(account.polarUserId);
    if (!list) {
      list = [{ itemId: String(800_000 + account.index * 1000), atMs: account.registeredAtMs, version: 0 }];
      this.snapshots.set(account.polarUserId, list);
    }
    return list;
  }

  /** A change in Flow (a new weight, say): a new snapshot with the full physical information. */
  changePhysical(account: DailyAccount): void {
    const list = this.physicalSnapshots(account);
    const last = list[list.length - 1]!;
    list.push({ itemId: String(Number(last.itemId) + 1), atMs: Math.max(this.now(), last.atMs + 1000), version: last.version + 1 });
  }

  private physicalValues(account: DailyAccount, snapshot: PhysicalSnapshot) {
    const rng = mulberry32(deriveSeed(this.seed, 0xb0d7, account.index));
    const weight = Math.round((between(rng, 55, 95) - snapshot.version * 0.4) * 10) / 10;
    return {
      weight, height: 160 + intBetween(rng, 0, 35), maxHr: 175 + intBetween(rng, 0, 20), restHr: 45 + intBetween(rng, 0, 15) - snapshot.version,
      aerobic: 120 + intBetween(rng, 0, 20), anaerobic: 150 + intBetween(rng, 0, 20), vo2: 38 + intBetween(rng, 0, 20) + snapshot.version,
    };
  }

  /** The transactional item (hyphenated keys, numeric ids). */
  physicalItemJson(account: DailyAccount, snapshot: PhysicalSnapshot, transactionId: string, apiBaseUrl: string): Record<string, unknown> {
    const v = this.physicalValues(account, snapshot);
    return {
      id: Number(snapshot.itemId), 'transaction-id': Number(transactionId), created: new Date(snapshot.atMs).toISOString(),
      'polar-user': `${apiBaseUrl}/v3/users/${account.polarUserId}`, weight: v.weight, height: v.height, 'maximum-heart-rate': v.maxHr,
      'resting-heart-rate': v.restHr, 'aerobic-threshold': v.aerobic, 'anaerobic-threshold': v.anaerobic, 'vo2-max': v.vo2,
      'weight-source': snapshot.version === 0 ? 'SOURCE_USER' : 'SOURCE_MEASURED',
    };
  }

  /** `GET /v3/users/physical-info`: the latest snapshot (or the `index`th, for ground truth) in snake_case, or null when there is none. */
  currentPhysicalJson(account: DailyAccount, index?: number): Record<string, unknown> | null {
    const list = this.physicalSnapshots(account);
    const snapshot = list[index ?? list.length - 1];
    if (!snapshot) return null;
    const v = this.physicalValues(account, snapshot);
    return {
      weight: v.weight, height: v.height, created: new Date(list[0]!.atMs).toISOString(), modified: new Date(snapshot.atMs).toISOString(),
      birthday: `${1975 + ((account.index * 7) % 25)}-0${1 + (account.index % 9)}-1${account.index % 10}`, gender: account.index % 2 === 0 ? 'FEMALE' : 'MALE',
      maximum_heart_rate: v.maxHr, resting_heart_rate: v.restHr, aerobic_threshold: v.aerobic, anaerobic_threshold: v.anaerobic, vo2_max: v.vo2,
      weight_source: snapshot.version === 0 ? 'SOURCE_USER' : 'SOURCE_MEASURED', sleep_goal: 'PT8H', training_background: 'REGULAR', typical_day: 'MOSTLY_STANDING',
    };
  }

  // ---- legacy activity items ----

  /** A legacy item id for (user, date, version): numeric; a re-synced day is a new item, as a new summary is at Polar. */
  activityItemId(account: DailyAccount, date: string): string {
    const version = this.daily.version(account.polarUserId, 'activity', date);
    return String((account.index * 1000 + version) * 1_000_000 + Date.parse(`${date}T00:00:00Z`) / DAY_MS);
  }

  dateOfActivityItem(account: DailyAccount, itemId: string): string | null {
    const day = Number(itemId) % 1_000_000;
    const date = new Date(day * DAY_MS).toISOString().slice(0, 10);
    return this.activityItemId(account, date) === itemId ? date : null;
  }

  /** The transactional summary (hyphenated keys; `created` is when AccessLink copied it). */
  activityItemJson(account: DailyAccount, date: string, transactionId: string, apiBaseUrl: string): Record<string, unknown> {
    const day = this.daily.activity(account, date);
    const active = day['active_duration'];
    return {
      id: Number(this.activityItemId(account, date)), 'polar-user': `${apiBaseUrl}/v3/users/${account.polarUserId}`, 'transaction-id': Number(transactionId),
      date, created: new Date(this.now()).toISOString().slice(0, 23), calories: day['calories'], 'active-calories': day['active_calories'],
      duration: active, 'active-steps': day['steps'],
    };
  }

  // ---- transactions ----

  /** What is not delivered yet: activity dates (at their current version) or physical snapshot ids. */
  pending(type: LegacyType, account: DailyAccount): string[] {
    if (!this.enabled || account.registeredAtMs === null) return [];
    if (type === 'physical') return this.physicalSnapshots(account).filter((s) => !this.deliveredSnapshots.has(`${account.polarUserId}/${s.itemId}`)).map((s) => s.itemId);
    const delivered = this.deliveredDays.get(account.polarUserId);
    return this.daily.availableDates(account).filter((d) => delivered?.get(d) !== this.daily.version(account.polarUserId, 'activity', d));
  }

  private expire(): void {
    for (const [key, tx] of this.open) if (this.now() - tx.createdMs >= this.ttlMs) this.open.delete(key);
  }

  /** The open transaction (re-offered while open), a new one, or null when nothing is pending (204). */
  create(type: LegacyType, account: DailyAccount): LegacyTransaction | null {
    this.expire();
    const key = `${type}/${account.polarUserId}`;
    const open = this.open.get(key);
    if (open) return open;
    const items = this.pending(type, account).slice(0, MAX_ITEMS);
    if (items.length === 0) return null;
    const tx: LegacyTransaction = { transactionId: String(this.nextTransactionId++), type, userId: account.polarUserId, items, createdMs: this.now() };
    this.open.set(key, tx);
    return tx;
  }

  transaction(type: LegacyType, userId: string, transactionId: string): LegacyTransaction | undefined {
    this.expire();
    const tx = this.open.get(`${type}/${userId}`);
    return tx?.transactionId === transactionId ? tx : undefined;
  }

  commit(tx: LegacyTransaction, account: DailyAccount): void {
    if (tx.type === 'physical') {
      for (const id of tx.items) this.deliveredSnapshots.add(`${tx.userId}/${id}`);
    } else {
      const delivered = this.deliveredDays.get(tx.userId) ?? new Map<string, number>();
      for (const date of tx.items) delivered.set(date, this.daily.version(account.polarUserId, 'activity', date));
      this.deliveredDays.set(tx.userId, delivered);
    }
    this.open.delete(`${tx.type}/${tx.userId}`);
  }

  snapshotById(account: DailyAccount, itemId: string): PhysicalSnapshot | undefined {
    return this.physicalSnapshots(account).find((s) => s.itemId === itemId);
  }
}
