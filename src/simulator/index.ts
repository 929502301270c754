/**
 * A local Polar Open AccessLink v3 on a real port: OAuth2 authorization code flow, user
 * registration, pull notifications, exercise transactions with TCX/GPX/zones/samples, rate
 * limits and fault injection. Deterministic from a seed (tokens and codes aside, which are
 * random as secrets should be). Used by the demo, the fetch tests and the end-to-end tests.
 *
 * @example
 * const sim = await startSimulator({ seed: 7 });
 * const { code } = await sim.approve(sim.accounts[0]!.login, 'xyz');
 * // ...exchange `code` at sim.tokenUrl, then call sim.apiBaseUrl + '/v3/users'...
 * await sim.close();
 */
import { createServer } from 'node:http';
import { ConfigError, PolarLakeError } from '../errors.ts';
import { createRateLimiter } from './rate-limit.ts';
import { createHandler, fileBytes, type Fault, type ServerContext } from './server.ts';
import { STALLED, createFaultDice, type CommitRecord, type DeliveryRecord, type FaultKind, type FaultPlan } from './faults.ts';
import { systemClock, type Clock } from '../clock.ts';
import { SimulatorState, publicExercise } from './state.ts';
import { WebhookRegistry, type WebhookDelivery } from './webhooks.ts';
import { hashedExerciseId } from './exercises.ts';
import { ALL_SAMPLE_PARTS, isIsoDate, localDateOf, utcOffsetMinOf, type DailyPayload } from './daily.ts';
import type { DateBasedPayload } from './date-based.ts';
import { WEBHOOK_EVENTS } from './webhooks.ts';
import type { SimulatedExercise } from './exercises.ts';
import { listen } from '../net/listen.ts';

export type { SimulatedExercise } from './exercises.ts';
export type { Fault } from './server.ts';
export type { CommitRecord, DeliveryRecord, FaultKind, FaultPlan } from './faults.ts';
export type { WebhookDelivery } from './webhooks.ts';
export { signPayload } from './webhooks.ts';

export interface SimulatorOptions {
  /** Interface to listen on; 0.0.0.0 in a container that others reach. @default '127.0.0.1' */
  host?: string;
  /** Origin the simulator puts in the absolute URLs it returns (transaction and webhook URLs), when clients reach it by another name (a compose service). @default http://127.0.0.1:<port> */
  publicUrl?: string;
  /** Port; 0 picks a free one. @default 0 */
  port?: number;
  /** Everything invented (accounts, exercises, workouts) follows from it. @default 1 */
  seed?: number;
  /** Simulated Flow accounts. @default 3 */
  users?: number;
  /** Exercises each user uploads right after registering with the partner. @default 3 */
  exercisesPerUser?: number;
  /** @default 'polar-lake-simulator' */
  clientId?: string;
  /** @default 'simulator-secret' */
  clientSecret?: string;
  /** The client's registered redirect URL. @default 'http://127.0.0.1:8765/oauth/callback' */
  redirectUri?: string;
  /** Uncommitted transactions expire after this and their items are offered again. @default 600_000 */
  transactionTtlMs?: number;
  /**
   * Rate limits reported in RateLimit-* headers and enforced with 429.
   * @default Polar's formula: 500 + 20 × registered users per 15 minutes, 5000 + 100 × users per 24 hours.
   * A limit left out keeps the formula; shorter windows play Polar's budget on a faster clock (bench/e2e.ts).
   */
  rateLimit?: { shortTermLimit?: number; longTermLimit?: number; shortTermWindowMs?: number; longTermWindowMs?: number };
  /** Exercise durations in seconds are drawn from this range. @default [1200, 3600] */
  durationRangeS?: [number, number];
  /**
   * Serve FIT files (Garmin SDK encoder) at `/fit`; when off, `/fit` answers 204 "not available".
   * Off by default so consumers that prefer FIT over TCX see the TCX path unless they ask.
   * @default false
   */
  fitFiles?: boolean;
  /**
   * Days of daily activity and sleep a user's device uploads when they register (the
   * registration day and the days before it); one more day appears each local day after.
   * @default 7
   */
  dailyDaysAtRegistration?: number;
  /**
   * The deprecated activity and physical-information transactions hold data (every day and
   * physical-information snapshot until delivered) and pull notifications announce them
   * (ACTIVITY_SUMMARY, PHYSICAL_INFORMATION). Off: their endpoints answer 204 (nothing new),
   * as for a client whose users never had these channels.
   * @default false
   */
  legacyDaily?: boolean;
  /**
   * The simulator's time: transaction lifetime, rate-limit windows, "today" of the daily data,
   * webhook retry schedule. Tests pass a virtual clock and drive it. @default systemClock
   */
  clock?: Clock;
  /** Seeded random faults on every /v3 request (see faults.ts); switch with setFaults. @default none */
  faults?: FaultPlan;
}

/** One simulated day (activity) or night (sleep) of a user: the JSON the API serves for it. */
export interface SimulatedDay {
  readonly polarUserId: string;
  /** The user's local date (activity: the day; sleep: the date the night ends). */
  readonly date: string;
  /** The user's fixed offset from UTC in minutes (east positive). */
  readonly utcOffsetMin: number;
  readonly json: Record<string, unknown>;
}

export interface Simulator {
  readonly apiBaseUrl: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  readonly accounts: readonly { polarUserId: string; login: string }[];
  /** Plays the user approving access in Flow: performs the authorization GET for `login` and returns the code + state the redirect carries. */
  approve(login: string, state: string): Promise<{ code: string; state: string }>;
  /** Uploads n new exercises for a user (they appear in notifications/transactions if the user is registered). */
  uploadExercises(polarUserId: string, n: number): SimulatedExercise[];
  /** Ground truth for tests: exercises whose transaction was committed (delivered), and those still pending. */
  committedExercises(polarUserId?: string): SimulatedExercise[];
  pendingExercises(polarUserId?: string): SimulatedExercise[];
  /** Ground truth: the daily activity days the API serves for a user now, oldest first (all 365-day history, not only the last 28). */
  dailyActivity(polarUserId: string): SimulatedDay[];
  /** Ground truth: the sleep nights the API serves for a user now, oldest first. */
  sleepNights(polarUserId: string): SimulatedDay[];
  /**
   * A later sync of one local day: its activity grows (steps, calories, active time) and the
   * night's rating changes. The webhook gets ACTIVITY_SUMMARY / SLEEP for the date, and the
   * day is pending again in the legacy activity transactions.
   */
  resyncDay(polarUserId: string, date: string, kinds?: readonly DailyPayload[]): void;
  /** Ground truth: the user's physical-information snapshots, oldest first, as /v3/users/physical-info showed each (snake_case). */
  physicalInfo(polarUserId: string): Record<string, unknown>[];
  /** The user changes their physical information in Flow: a new snapshot, pending in the transactions, and a PHYSICAL_INFORMATION webhook event. */
  changePhysicalInfo(polarUserId: string): void;
  /** Ground truth: what the legacy transactions have not delivered yet (activity: dates; physical: snapshot item ids). */
  legacyPending(type: 'activity' | 'physical', polarUserId: string): string[];
  /**
   * Delivers one webhook event of any type for a user (signed, to the active webhook if it
   * subscribes to it), with the documented payload shape; `url` is built as the docs show.
   * `fields` adds or overrides payload fields (`date`, `from`/`to`, `entity_id`, `timestamp`).
   */
  sendWebhookEvent(event: (typeof WEBHOOK_EVENTS)[number], polarUserId: string, fields?: Record<string, unknown>): void;
  /**
   * Ground truth of a night, heart or biosensing type (date-based.ts): the local dates that
   * hold items, oldest first, each with the items the list endpoints serve for it.
   */
  dateBasedDays(polarUserId: string, kind: DateBasedPayload): { date: string; items: Record<string, unknown>[] }[];
  /** Fault injection: the next `times` requests whose path matches get this status (and optional headers/body). */
  injectFault(fault: Fault): void;
  /** Switches the seeded random faults on (a plan) or off (null). */
  setFaults(plan: FaultPlan | null): void;
  /** How many faults of each kind the plan has dealt so far (all zero without a plan). */
  faultsDealt(): Readonly<Record<FaultKind, number>>;
  /** Every exercise payload response (summary, TCX, GPX, FIT) and whether it went out whole. */
  readonly deliveries: readonly DeliveryRecord[];
  /** Every commit, with the payloads of its items that had not been delivered whole before it. */
  readonly commits: readonly CommitRecord[];
  /** Ground truth: the uncompressed bytes of an exercise's file as served. */
  fileBytes(polarUserId: string, exerciseId: string, kind: 'tcx' | 'gpx' | 'fit'): Promise<Buffer>;
  /** The clock the simulator runs on. */
  readonly clock: Clock;
  /** Requests seen, for assertions (method, path, status; never tokens). */
  readonly requestLog: readonly { method: string; path: string; status: number }[];
  /** Webhook requests sent (PING and events), with the receiver's status. */
  readonly webhookDeliveries: readonly WebhookDelivery[];
  /** Resolves when every webhook delivery started so far has finished. */
  flushWebhooks(): Promise<void>;
  /** Sends the webhook retries due by the simulator's clock (failed events: after 1, 5, 30, 120 min). */
  deliverDueWebhooks(): Promise<void>;
  close(): Promise<void>;
}

/** Misuse of the simulator's programmatic API (unknown login or user, a failed approval). */
export class SimulatorUsageError extends PolarLakeError {
  readonly code = 'PL_SIMULATOR_USAGE';
  readonly kind = 'config';
}

function validate(options: SimulatorOptions): void {
  const int = (name: string, v: number | undefined, min: number, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
      throw new ConfigError(`expected \`${name}\` to be an integer from ${min} to ${max}, got ${String(v)}`, 'simulator');
    }
  };
  int('port', options.port, 0, 65_535);
  int('users', options.users, 0, 10_000);
  int('exercisesPerUser', options.exercisesPerUser, 0, 10_000);
  int('transactionTtlMs', options.transactionTtlMs, 1, 2 ** 31);
  int('seed', options.seed, 0, 2 ** 32 - 1);
  int('dailyDaysAtRegistration', options.dailyDaysAtRegistration, 1, 365);
  const range = options.durationRangeS;
  if (range && !(range[0] >= 1 && range[1] >= range[0] && range[1] <= 14 * 86_400)) {
    throw new ConfigError(`expected \`durationRangeS\` to be [min, max] with 1 <= min <= max <= 1209600, got ${JSON.stringify(range)}`, 'simulator');
  }
  if (options.rateLimit) {
    int('rateLimit.shortTermLimit', options.rateLimit.shortTermLimit, 0, 2 ** 31);
    int('rateLimit.longTermLimit', options.rateLimit.longTermLimit, 0, 2 ** 31);
    int('rateLimit.shortTermWindowMs', options.rateLimit.shortTermWindowMs, 1, 2 ** 31);
    int('rateLimit.longTermWindowMs', options.rateLimit.longTermWindowMs, 1, 2 ** 31);
  }
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  validate(options);
  const clientId = options.clientId ?? 'polar-lake-simulator';
  const clientSecret = options.clientSecret ?? 'simulator-secret';
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:8765/oauth/callback';
  let apiBaseUrl = '';
  const clock = options.clock ?? systemClock;
  const webhooks = new WebhookRegistry(() => clock.now());
  const state = new SimulatorState({
    seed: options.seed ?? 1,
    users: options.users ?? 3,
    exercisesPerUser: options.exercisesPerUser ?? 3,
    transactionTtlMs: options.transactionTtlMs ?? 600_000,
    durationRangeS: options.durationRangeS ?? [1200, 3600],
    fitFiles: options.fitFiles ?? false,
    dailyDaysAtRegistration: options.dailyDaysAtRegistration ?? 7,
    legacyDaily: options.legacyDaily ?? false,
    now: () => clock.now(),
    onVisibleUpload: (model) => {
      const hashId = hashedExerciseId(model.exerciseId);
      webhooks.notify('EXERCISE', model.userId, { entity_id: hashId, url: `${apiBaseUrl}/v3/exercises/${hashId}` });
    },
  });
  const rl = options.rateLimit;
  const ctx: ServerContext = {
    state,
    clientId,
    clientSecret,
    redirectUri,
    apiBaseUrl: () => apiBaseUrl,
    webhooks,
    rateLimit: createRateLimiter({
      shortTermLimit: () => rl?.shortTermLimit ?? 500 + 20 * state.registeredCount(),
      longTermLimit: () => rl?.longTermLimit ?? 5000 + 100 * state.registeredCount(),
      ...(rl?.shortTermWindowMs !== undefined ? { shortTermWindowMs: rl.shortTermWindowMs } : {}),
      now: () => clock.now(),
      ...(rl?.longTermWindowMs !== undefined ? { longTermWindowMs: rl.longTermWindowMs } : {}),
    }),
    faults: [],
    requestLog: [],
    now: () => clock.now(),
    dice: options.faults ? createFaultDice(options.faults) : null,
    deliveries: [],
    commits: [],
  };
  const noFaults = createFaultDice({ seed: 0 }).dealt;
  const server = createServer(createHandler(ctx));
  // Node's own default. Node's fetch (undici) drops a connection whose Keep-Alive timeout is
  // under 2 s, so anything shorter costs every client a new TCP connection per request.
  // Idle sockets do not hold close() open: it closes them (closeIdleConnections).
  server.keepAliveTimeout = 5000;
  const { port } = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1', 'the AccessLink simulator');
  apiBaseUrl = options.publicUrl?.replace(/\/$/, '') ?? `http://127.0.0.1:${port}`;
  const authorizeUrl = `${apiBaseUrl}/oauth2/authorization`;

  /** The documented payload of each event type (url as the docs build it; the consumer must not rely on it). */
  const sendWebhookEvent = (event: string, polarUserId: string, fields: Record<string, unknown> = {}) => {
    const account = state.accountById(polarUserId)!;
    const today = localDateOf(Date.now(), utcOffsetMinOf(account));
    const date = typeof fields['date'] === 'string' ? fields['date'] : today;
    const from = typeof fields['from'] === 'string' ? fields['from'] : date;
    const to = typeof fields['to'] === 'string' ? fields['to'] : date;
    const base = `${apiBaseUrl}/v3`;
    const payloads: Record<string, Record<string, unknown>> = {
      EXERCISE: { entity_id: fields['entity_id'] ?? 'unknown', url: `${base}/exercises/${String(fields['entity_id'] ?? 'unknown')}` },
      SLEEP: { date, url: `${base}/users/sleep/${date}` },
      CONTINUOUS_HEART_RATE: { date, url: `${base}/users/continuous-heart-rate/${date}` },
      ACTIVITY_SUMMARY: { date, url: `${base}/users/activities/${date}` },
      SLEEP_WISE_ALERTNESS: { from, to, url: `${base}/users/sleepwise/alertness/date?from=${from}&to=${to}` },
      // The documented example spells this path with an underscore; the real one has a hyphen.
      SLEEP_WISE_CIRCADIAN_BEDTIME: { from, to, url: `${base}/users/sleepwise/circadian_bedtime/date?from=${from}&to=${to}` },
      PHYSICAL_INFORMATION: { url: `${base}/users/physical-info` },
    };
    const { date: _d, from: _f, to: _t, ...rest } = fields;
    webhooks.notify(event, polarUserId, { ...payloads[event], ...rest });
  };

  const requireUser = (polarUserId: string) => {
    if (!state.accountById(polarUserId)) throw new SimulatorUsageError(`no simulated account with polar user id ${polarUserId}`);
  };

  return {
    apiBaseUrl,
    authorizeUrl,
    tokenUrl: `${apiBaseUrl}/v2/oauth2/token`,
    clientId,
    clientSecret,
    redirectUri,
    accounts: state.accounts.map((a) => ({ polarUserId: a.polarUserId, login: a.login })),
    async approve(login, csrfState) {
      const u = new URL(authorizeUrl);
      u.search = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: redirectUri,
        scope: 'accesslink.read_all',
        state: csrfState,
        login,
      }).toString();
      const res = await fetch(u, { redirect: 'manual' });
      await res.arrayBuffer();
      const location = res.headers.get('location');
      const back = location ? new URL(location) : null;
      const code = back?.searchParams.get('code');
      if (res.status !== 302 || !back || !code) {
        const reason = back?.searchParams.get('error') ?? `status ${res.status}`;
        throw new SimulatorUsageError(`approval as ${JSON.stringify(login)} failed: ${reason}`);
      }
      return { code, state: back.searchParams.get('state') ?? '' };
    },
    uploadExercises(polarUserId, n) {
      requireUser(polarUserId);
      return state.upload(polarUserId, n).map(publicExercise);
    },
    dailyActivity(polarUserId) {
      requireUser(polarUserId);
      const account = state.accountById(polarUserId)!;
      const offset = utcOffsetMinOf(account);
      // With every sample part, as the fetch stage asks for them.
      return state.daily.availableDates(account).map((date) => ({ polarUserId, date, utcOffsetMin: offset, json: state.daily.activity(account, date, { samples: ALL_SAMPLE_PARTS }) }));
    },
    sleepNights(polarUserId) {
      requireUser(polarUserId);
      const account = state.accountById(polarUserId)!;
      const offset = utcOffsetMinOf(account);
      return state.daily.availableDates(account).map((date) => ({ polarUserId, date, utcOffsetMin: offset, json: state.daily.sleep(account, date) }));
    },
    resyncDay(polarUserId, date, kinds = ['activity', 'sleep']) {
      requireUser(polarUserId);
      if (!isIsoDate(date)) throw new SimulatorUsageError(`resyncDay: ${JSON.stringify(date)} is not a date YYYY-MM-DD`);
      for (const kind of kinds) state.daily.resync(polarUserId, kind, date);
      for (const kind of kinds) sendWebhookEvent(kind === 'activity' ? 'ACTIVITY_SUMMARY' : 'SLEEP', polarUserId, { date });
    },
    physicalInfo(polarUserId) {
      requireUser(polarUserId);
      const account = state.accountById(polarUserId)!;
      const snapshots = state.legacy.physicalSnapshots(account);
      // Each snapshot as the current endpoint showed it while it was the latest.
      return snapshots.map((_, i) => state.legacy.currentPhysicalJson(account, i)!);
    },
    changePhysicalInfo(polarUserId) {
      requireUser(polarUserId);
      const account = state.accountById(polarUserId)!;
      if (account.registeredAtMs === null) throw new SimulatorUsageError(`changePhysicalInfo: user ${polarUserId} is not registered`);
      state.legacy.changePhysical(account);
      sendWebhookEvent('PHYSICAL_INFORMATION', polarUserId);
    },
    legacyPending(type, polarUserId) {
      requireUser(polarUserId);
      return state.legacy.pending(type, state.accountById(polarUserId)!);
    },
    sendWebhookEvent(event, polarUserId, fields) {
      requireUser(polarUserId);
      sendWebhookEvent(event, polarUserId, fields);
    },
    dateBasedDays(polarUserId, kind) {
      requireUser(polarUserId);
      const account = state.accountById(polarUserId)!;
      return state.daily.availableDates(account).map((date) => ({ date, items: state.dateBased.items(account, kind, date) })).filter((d) => d.items.length > 0);
    },
    committedExercises: (polarUserId) => state.exercisesWithStatus('committed', polarUserId).map(publicExercise),
    pendingExercises: (polarUserId) => state.exercisesWithStatus('pending', polarUserId).map(publicExercise),
    injectFault(fault) {
      ctx.faults.push({ fault, remaining: fault.times ?? 1 });
    },
    setFaults(plan) {
      ctx.dice = plan ? createFaultDice(plan) : null;
    },
    faultsDealt: () => ({ ...(ctx.dice?.dealt ?? noFaults) }),
    deliveries: ctx.deliveries,
    commits: ctx.commits,
    async fileBytes(polarUserId, exerciseId, kind) {
      const model = state.exerciseModel(polarUserId, exerciseId);
      if (!model) throw new SimulatorUsageError(`no exercise ${exerciseId} of user ${polarUserId}`);
      return fileBytes(model, kind);
    },
    clock,
    requestLog: ctx.requestLog,
    webhookDeliveries: webhooks.deliveries,
    flushWebhooks: () => webhooks.flush(),
    deliverDueWebhooks: () => webhooks.deliverDue(),
    async close() {
      await webhooks.flush();
      // A stalled response would hold close() open for as long as the client waits.
      for (const res of STALLED) if ((res.socket as { server?: unknown } | null)?.server === server) res.destroy();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      });
    },
  };
}
