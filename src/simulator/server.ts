/**
 * The HTTP face of the simulator: OAuth2 (authorization GET, token POST) and the AccessLink
 * v3 routes the transactional exercise path uses, on node:http with no framework.
 *
 * Choices where the reference is unsure (documented here and in the README):
 * - POST exercise-transactions while one is open returns 201 with the SAME open transaction
 *   (Polar issues no new id while one is open); once it expires its items come back in a new one.
 * - TCX is `application/vnd.garmin.tcx+xml`; its body is gzip bytes for some exercises
 *   (no Content-Encoding header) and plain XML for others, so clients must sniff 0x1f 0x8b.
 * - Rate-limit headers are on every /v3 response; the OAuth endpoints stand in for other hosts
 *   (flow.polar.com, polarremote.com) and are not counted.
 * - JSON only: an XML Accept header still gets JSON.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { timingSafeEqual } from 'node:crypto';
import { createGzip, gzipSync } from 'node:zlib';
import {
  HttpError,
  basicCredentials,
  bearerToken,
  readBody,
  sendApiError,
  sendEmpty,
  sendJson,
} from './http-util.ts';
import { rateLimitHeaders, type RateLimitSnapshot } from './rate-limit.ts';
import { TOKEN_EXPIRES_IN_SECS, type SimulatorState } from './state.ts';
import {
  exerciseSummaryJson,
  hashedExerciseId,
  heartRateZonesJson,
  nonTransactionalSummaryJson,
  sampleTypes,
  samplesJson,
  type ExerciseModel,
} from './exercises.ts';
import { tcxChunks } from './tcx.ts';
import { gpxChunks } from './gpx.ts';
import { fitBytes } from './fit.ts';
import { addDays, isIsoDate, localDateOf, utcOffsetMinOf, type ActivitySampleParts } from './daily.ts';
import { legacyRoutes, LEGACY_ROUTE } from './activity-routes.ts';
import { dateBasedRoutes, isDateBasedPath } from './date-based-routes.ts';
import { WEBHOOK_EVENTS, type Webhook, type WebhookRegistry } from './webhooks.ts';
import { bodyFaultOf, sendBody, setBodyFault, type CommitRecord, type DeliveryRecord, type FaultDice } from './faults.ts';

export interface Fault {
  method?: string;
  path: RegExp;
  status: number;
  times?: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ServerContext {
  state: SimulatorState;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  apiBaseUrl: () => string;
  rateLimit: { hit(): RateLimitSnapshot };
  webhooks: WebhookRegistry;
  faults: { fault: Fault; remaining: number }[];
  requestLog: { method: string; path: string; status: number }[];
  /** The simulator's clock (transaction lifetime, rate windows, "today"). */
  now: () => number;
  /** Seeded fault draws, when a fault plan is switched on. */
  dice: FaultDice | null;
  /** Exercise payload responses and whether each went out whole. */
  deliveries: DeliveryRecord[];
  /** Every commit, with the payloads of its items not delivered whole before it. */
  commits: CommitRecord[];
}

const ID = '(\\d{1,19})';
const route = (pattern: string) => new RegExp(`^${pattern}$`);
const R = {
  authorize: route('/oauth2/authorization'),
  token: route('/v2/oauth2/token'),
  users: route('/v3/users'),
  user: route(`/v3/users/${ID}`),
  notifications: route('/v3/notifications'),
  transactions: route(`/v3/users/${ID}/exercise-transactions`),
  transaction: route(`/v3/users/${ID}/exercise-transactions/${ID}`),
  webhooks: route('/v3/webhooks'),
  webhookToggle: route('/v3/webhooks/(activate|deactivate)'),
  webhook: route('/v3/webhooks/([0-9A-Za-z_-]{1,64})'),
  activities: route('/v3/users/activities'),
  activity: route('/v3/users/activities/([0-9-]{1,12})'),
  sleeps: route('/v3/users/sleep'),
  sleep: route('/v3/users/sleep/([0-9-]{1,12})'),
  recentExercises: route('/v3/exercises'),
  recentExercise: route('/v3/exercises/([0-9A-Za-z]{1,32})(?:/(tcx|gpx|fit))?'),
  exercise: route(`/v3/users/${ID}/exercise-transactions/${ID}/exercises/${ID}(?:/(tcx|gpx|fit|heart-rate-zones|samples)(?:/(\\d{1,2}))?)?`),
};

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export function createHandler(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    // Logged after the response is finished; only method, path and status, never headers.
    res.on('finish', () => ctx.requestLog.push({ method, path, status: res.statusCode }));
    handle(ctx, req, res, method, url).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) sendApiError(res, error.status, error.errorType, error.message);
      else sendApiError(res, 500, 'internal', 'simulator failure');
    });
  };
}

async function handle(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, method: string, url: URL): Promise<void> {
  const path = url.pathname;
  const isApi = path.startsWith('/v3/');

  if (isApi) {
    const snapshot = ctx.rateLimit.hit();
    for (const [k, v] of Object.entries(rateLimitHeaders(snapshot))) res.setHeader(k, v);
    if (injectFault(ctx, res, method, path)) return;
    if (snapshot.exceeded) {
      sendApiError(res, 429, 'TOO_MANY_REQUESTS', 'rate limit exceeded');
      return;
    }
    if (ctx.dice && drawFaults(ctx, ctx.dice, req, res, path, snapshot)) return;
  } else if (injectFault(ctx, res, method, path)) {
    return;
  }

  if (R.authorize.test(path)) return method === 'GET' ? authorize(ctx, res, url) : notAllowed(res);
  if (R.token.test(path)) return method === 'POST' ? token(ctx, req, res) : notAllowed(res);
  if (R.notifications.test(path)) return method === 'GET' ? notifications(ctx, req, res) : notAllowed(res);
  if (path === '/v3/webhooks' || path.startsWith('/v3/webhooks/')) return webhookRoutes(ctx, req, res, method, path);
  if (R.users.test(path)) return method === 'POST' ? registerUser(ctx, req, res) : notAllowed(res);

  if (path.startsWith('/v3/users/activities') || path.startsWith('/v3/users/sleep/') || path === '/v3/users/sleep' || path === '/v3/users/physical-info') return dailyRoutes(ctx, req, res, method, url);
  if (LEGACY_ROUTE.test(path)) return legacyRoutes(ctx, req, res, method, path);
  if (isDateBasedPath(path)) {
    const userId = authorizeUser(ctx, req, null);
    if (method !== 'GET') return notAllowed(res);
    requireRegistered(ctx, userId);
    return dateBasedRoutes(ctx.state, ctx.state.accountById(userId)!, res, url);
  }

  let m = R.user.exec(path);
  if (m) {
    const userId = authorizeUser(ctx, req, m[1]!);
    if (method === 'GET') return getUser(ctx, res, userId);
    if (method === 'DELETE') {
      requireRegistered(ctx, userId);
      ctx.state.deregister(userId);
      return sendEmpty(res, 204);
    }
    return notAllowed(res);
  }
  m = R.transactions.exec(path);
  if (m) {
    const userId = authorizeUser(ctx, req, m[1]!);
    if (method !== 'POST') return notAllowed(res);
    requireRegistered(ctx, userId);
    const created = ctx.state.createTransaction(userId);
    if (!created) return sendEmpty(res, 204);
    return sendJson(res, 201, {
      'transaction-id': Number(created.tx.transactionId),
      'resource-uri': `${ctx.apiBaseUrl()}/v3/users/${userId}/exercise-transactions/${created.tx.transactionId}`,
    });
  }
  m = R.transaction.exec(path);
  if (m) {
    const userId = authorizeUser(ctx, req, m[1]!);
    requireRegistered(ctx, userId);
    const tx = ctx.state.openTransactionOf(userId, m[2]!);
    if (!tx) throw new HttpError(404, 'transaction not found', 'NOT_FOUND');
    if (method === 'GET') {
      const base = `${ctx.apiBaseUrl()}/v3/users/${userId}/exercise-transactions/${tx.transactionId}/exercises`;
      return sendJson(res, 200, { exercises: tx.exerciseIds.map((id) => `${base}/${id}`) });
    }
    if (method === 'PUT') {
      ctx.commits.push({ transactionId: tx.transactionId, userId, exerciseIds: tx.exerciseIds, missing: undeliveredPayloads(ctx, userId, tx.exerciseIds), atMs: ctx.now() });
      ctx.state.commitTransaction(tx);
      return sendEmpty(res, 200);
    }
    return notAllowed(res);
  }
  m = R.exercise.exec(path);
  if (m) {
    const userId = authorizeUser(ctx, req, m[1]!);
    if (method !== 'GET') return notAllowed(res);
    requireRegistered(ctx, userId);
    const tx = ctx.state.openTransactionOf(userId, m[2]!);
    if (!tx) throw new HttpError(404, 'transaction not found', 'NOT_FOUND');
    const ex = ctx.state.exerciseInTransaction(tx, m[3]!);
    if (!ex) throw new HttpError(404, 'exercise not found', 'NOT_FOUND');
    const sub = m[4];
    const itemBase = `${ctx.apiBaseUrl()}/v3/users/${userId}/exercise-transactions/${tx.transactionId}/exercises/${ex.exerciseId}`;
    switch (sub) {
      case undefined: {
        const body = Buffer.from(JSON.stringify(exerciseSummaryJson(ex, { apiBaseUrl: ctx.apiBaseUrl(), transactionId: tx.transactionId })));
        const whole = await sendBody(res, 200, { 'Content-Type': 'application/json;charset=UTF-8' }, body);
        ctx.deliveries.push({ userId, exerciseId: ex.exerciseId, payload: 'summary', complete: whole, atMs: ctx.now() });
        return;
      }
      case 'heart-rate-zones':
        // No zone info for this exercise: the item's own no-data answer.
        return ex.hasZones ? sendJson(res, 200, heartRateZonesJson(ex)) : sendEmpty(res, 204);
      case 'samples': {
        if (m[5] === undefined) {
          const types = sampleTypes(ex);
          return types.length === 0 ? sendEmpty(res, 204) : sendJson(res, 200, { samples: types.map((t) => `${itemBase}/samples/${t}`) });
        }
        const samples = samplesJson(ex, Number(m[5]));
        return samples ? sendJson(res, 200, samples) : sendEmpty(res, 204);
      }
      case 'tcx':
      case 'gpx':
      case 'fit':
        return sendFile(ctx, res, ex, sub);
      default:
        throw new HttpError(404, 'not found', 'NOT_FOUND');
    }
  }
  if (R.recentExercises.test(path)) {
    const userId = authorizeUser(ctx, req, null);
    if (method !== 'GET') return notAllowed(res);
    requireRegistered(ctx, userId);
    const flag = (name: string) => url.searchParams.get(name) === 'true';
    const opts = { apiBaseUrl: ctx.apiBaseUrl(), samples: flag('samples'), zones: flag('zones'), route: flag('route') };
    const listed = ctx.state.recentExercises(userId);
    const whole = await sendBody(res, 200, { 'Content-Type': 'application/json;charset=UTF-8' }, Buffer.from(JSON.stringify(listed.map((ex) => nonTransactionalSummaryJson(ex, opts)))));
    for (const ex of listed) ctx.deliveries.push({ userId, exerciseId: ex.exerciseId, payload: 'summary', complete: whole, atMs: ctx.now() });
    return;
  }
  m = R.recentExercise.exec(path);
  if (m) {
    const userId = authorizeUser(ctx, req, null);
    if (method !== 'GET') return notAllowed(res);
    requireRegistered(ctx, userId);
    const ex = ctx.state.recentExercises(userId).find((e) => hashedExerciseId(e.exerciseId) === m![1]);
    if (!ex) throw new HttpError(404, 'exercise not found', 'NOT_FOUND');
    const sub = m[2] as 'tcx' | 'gpx' | 'fit' | undefined;
    if (sub) return sendFile(ctx, res, ex, sub);
    const flag = (name: string) => url.searchParams.get(name) === 'true';
    return sendJson(res, 200, nonTransactionalSummaryJson(ex, { apiBaseUrl: ctx.apiBaseUrl(), samples: flag('samples'), zones: flag('zones'), route: flag('route') }));
  }
  throw new HttpError(404, 'not found', 'NOT_FOUND');
}

/**
 * Date-based endpoints (bearer; the token's user). Windows as the reference gives them:
 * activities default to the last 28 days, `from`/`to` at most 28 days apart, `from` at most
 * 365 days back, `to` defaults to today; no data is `[]` for the list and 204 by date. Sleep
 * lists the last 28 nights as `{"nights": [...]}` (`/sleep/available`: `{"available": [{date,
 * start_time, end_time}]}`, empty when none); a date without a night is 404.
 * "Today" is the user's local date (each simulated account has its own offset).
 */
function dailyRoutes(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, method: string, url: URL): void {
  const path = url.pathname;
  const userId = authorizeUser(ctx, req, null);
  if (method !== 'GET') return notAllowed(res);
  requireRegistered(ctx, userId);
  const account = ctx.state.accountById(userId)!;
  const daily = ctx.state.daily;
  const today = localDateOf(ctx.now(), utcOffsetMinOf(account));
  const checkDate = (name: string, value: string): string => {
    if (!isIsoDate(value)) throw new HttpError(400, `${name} must be a date YYYY-MM-DD`, 'BAD_REQUEST');
    if (value < addDays(today, -365)) throw new HttpError(400, `${name} is more than 365 days back`, 'BAD_REQUEST');
    return value;
  };
  const flag = (name: string) => url.searchParams.get(name) === 'true';
  const samples: ActivitySampleParts = { steps: flag('steps'), zones: flag('activity_zones'), inactivity: flag('inactivity_stamps') };
  const range = (): { from: string; to: string } => {
    const toParam = url.searchParams.get('to');
    const fromParam = url.searchParams.get('from');
    const to = toParam === null ? today : checkDate('to', toParam);
    const from = fromParam === null ? addDays(to, -27) : checkDate('from', fromParam);
    if (from > to) throw new HttpError(400, 'from is after to', 'BAD_REQUEST');
    if (addDays(from, 27) < to) throw new HttpError(400, 'the range is at most 28 days', 'BAD_REQUEST');
    return { from, to };
  };
  if (path === '/v3/users/physical-info') {
    const info = ctx.state.legacy.currentPhysicalJson(account);
    if (!info) throw new HttpError(404, 'no physical information for this user', 'NOT_FOUND');
    return sendJson(res, 200, info);
  }
  if (path === '/v3/users/activities/samples') {
    // Every sample part unless some are asked for by flag.
    const parts = samples.steps || samples.zones || samples.inactivity ? samples : { steps: true, zones: true, inactivity: true };
    const { from, to } = range();
    const days = daily.availableDates(account).filter((d) => d >= from && d <= to);
    return sendJson(res, 200, days.map((d) => daily.samples(account, d, parts)));
  }
  const oneSamples = /^\/v3\/users\/activities\/samples\/([0-9-]{1,12})$/.exec(path);
  if (oneSamples) {
    const date = checkDate('date', oneSamples[1]!);
    const parts = samples.steps || samples.zones || samples.inactivity ? samples : { steps: true, zones: true, inactivity: true };
    return daily.has(account, date) ? sendJson(res, 200, daily.samples(account, date, parts)) : sendEmpty(res, 204);
  }
  if (R.activities.test(path)) {
    const { from, to } = range();
    const days = daily.availableDates(account).filter((d) => d >= from && d <= to);
    return sendJson(res, 200, days.map((d) => daily.activity(account, d, { samples })));
  }
  let m = R.activity.exec(path);
  if (m) {
    const date = checkDate('date', m[1]!);
    return daily.has(account, date) ? sendJson(res, 200, daily.activity(account, date, { samples })) : sendEmpty(res, 204);
  }
  if (path === '/v3/users/sleep/available') {
    // Last 28 days; no night: an empty list, as the sleep list answers.
    const days = daily.availableDates(account).filter((d) => d > addDays(today, -28));
    return sendJson(res, 200, { available: days.map((d) => daily.sleepAvailable(account, d)) });
  }
  if (R.sleeps.test(path)) {
    const days = daily.availableDates(account).filter((d) => d > addDays(today, -28));
    return sendJson(res, 200, { nights: days.map((d) => daily.sleep(account, d)) });
  }
  m = R.sleep.exec(path);
  if (m) {
    const date = checkDate('date', m[1]!);
    if (!daily.has(account, date)) throw new HttpError(404, 'no sleep for this date', 'NOT_FOUND');
    return sendJson(res, 200, daily.sleep(account, date));
  }
  throw new HttpError(404, 'not found', 'NOT_FOUND');
}

/** The uncompressed bytes of a file as the simulator serves it (ground truth for the suites). */
export async function fileBytes(ex: ExerciseModel, kind: 'tcx' | 'gpx' | 'fit'): Promise<Buffer> {
  if (kind === 'fit') return Buffer.from(fitBytes(ex.spec, { productName: ex.device }));
  const chunks: Buffer[] = [];
  const source = kind === 'tcx' ? tcxChunks(ex.spec, { deviceName: ex.device }) : gpxChunks(ex.spec, { creator: 'Polar Flow' });
  for await (const chunk of Readable.from(source)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

const FILE_TYPES = { tcx: 'application/vnd.garmin.tcx+xml', gpx: 'application/gpx+xml', fit: 'application/octet-stream' } as const;

async function sendFile(ctx: ServerContext, res: ServerResponse, ex: ExerciseModel, kind: 'tcx' | 'gpx' | 'fit'): Promise<void> {
  const exists = kind === 'tcx' ? ex.hasTcx : kind === 'gpx' ? ex.hasGpx : ex.hasFit;
  if (exists && bodyFaultOf(res)) {
    // A spoiled body is built whole first, so the cut lands inside it.
    let body = await fileBytes(ex, kind);
    if (kind === 'tcx' && ex.tcxGzipped) body = gzipSync(body);
    const whole = await sendBody(res, 200, { 'Content-Type': FILE_TYPES[kind] }, body);
    ctx.deliveries.push({ userId: ex.userId, exerciseId: ex.exerciseId, payload: kind, complete: whole, atMs: ctx.now() });
    return;
  }
  await streamFile(res, ex, kind);
  if (exists) ctx.deliveries.push({ userId: ex.userId, exerciseId: ex.exerciseId, payload: kind, complete: true, atMs: ctx.now() });
}

async function streamFile(res: ServerResponse, ex: ExerciseModel, kind: 'tcx' | 'gpx' | 'fit'): Promise<void> {
  switch (kind) {
    case 'tcx':
      if (!ex.hasTcx) return sendEmpty(res, 204);
      res.writeHead(200, { 'Content-Type': 'application/vnd.garmin.tcx+xml' });
      if (ex.tcxGzipped) await pipeline(Readable.from(tcxChunks(ex.spec, { deviceName: ex.device })), createGzip(), res);
      else await pipeline(Readable.from(tcxChunks(ex.spec, { deviceName: ex.device })), res);
      return;
    case 'gpx':
      // No route (indoor): 204, as third-party clients report.
      if (!ex.hasGpx) return sendEmpty(res, 204);
      res.writeHead(200, { 'Content-Type': 'application/gpx+xml' });
      await pipeline(Readable.from(gpxChunks(ex.spec, { creator: 'Polar Flow' })), res);
      return;
    case 'fit': {
      // Without fitFiles: "not available for this exercise", as Polar answers for some.
      if (!ex.hasFit) return sendEmpty(res, 204);
      const bytes = fitBytes(ex.spec, { productName: ex.device });
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) });
      res.end(bytes);
      return;
    }
  }
}

/**
 * The fault plan's draws for one /v3 request, always in the same order (so a seed gives the
 * same faults for the same requests). True when a status fault answered the request.
 */
function drawFaults(ctx: ServerContext, dice: FaultDice, req: IncomingMessage, res: ServerResponse, path: string, snapshot: RateLimitSnapshot): boolean {
  const status = dice.status();
  const revoke = dice.revokeToken();
  const expire = dice.expireTransaction();
  const body = dice.body();
  if (status?.kind === 'rate_limited') {
    // As if the short window were spent: the client must wait out its reset.
    res.setHeader('RateLimit-Usage', `${snapshot.limit[0] + 1}, ${snapshot.usage[1]}`);
    sendApiError(res, 429, 'TOO_MANY_REQUESTS', 'rate limit exceeded (injected)');
    return true;
  }
  if (status?.kind === 'server_error') {
    sendApiError(res, status.status, 'INTERNAL', 'server error (injected)');
    return true;
  }
  const token = bearerToken(req);
  const userId = token ? ctx.state.userForToken(token) : null;
  if (revoke && userId) ctx.state.revokeTokensOf(userId);
  if (expire && userId && R.exercise.test(path)) ctx.state.expireOpenTransaction(userId);
  if (body && /^\/v3\/(users\/\d+\/exercise-transactions\/\d+\/exercises\/|exercises)/.test(path)) setBodyFault(res, body);
  return false;
}

/** `<exerciseId>/<payload>` of the items' payloads that exist but never went out whole. */
function undeliveredPayloads(ctx: ServerContext, userId: string, exerciseIds: readonly string[]): string[] {
  const whole = new Set(ctx.deliveries.filter((d) => d.complete && d.userId === userId).map((d) => `${d.exerciseId}/${d.payload}`));
  const missing: string[] = [];
  for (const id of exerciseIds) {
    const ex = ctx.state.exerciseModel(userId, id);
    if (!ex) continue;
    const payloads = ['summary', ...(ex.hasTcx ? ['tcx'] : []), ...(ex.hasGpx ? ['gpx'] : []), ...(ex.hasFit ? ['fit'] : [])];
    for (const p of payloads) if (!whole.has(`${id}/${p}`)) missing.push(`${id}/${p}`);
  }
  return missing;
}

function injectFault(ctx: ServerContext, res: ServerResponse, method: string, path: string): boolean {
  const i = ctx.faults.findIndex((f) => (f.fault.method === undefined || f.fault.method.toUpperCase() === method) && f.fault.path.test(path));
  if (i < 0) return false;
  const entry = ctx.faults[i]!;
  if (--entry.remaining <= 0) ctx.faults.splice(i, 1);
  const body = entry.fault.body ?? '';
  res.writeHead(entry.fault.status, { ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...entry.fault.headers });
  res.end(entry.fault.status === 204 || entry.fault.status === 304 ? undefined : body);
  return true;
}

export function notAllowed(res: ServerResponse): void {
  sendApiError(res, 405, 'METHOD_NOT_ALLOWED', 'method not allowed');
}

/** The bearer token's user, who must be the user in the path (403 otherwise). */
export function authorizeUser(ctx: ServerContext, req: IncomingMessage, pathUserId: string | null): string {
  const token = bearerToken(req);
  const userId = token ? ctx.state.userForToken(token) : null;
  if (!userId) throw new HttpError(401, 'invalid or revoked access token', 'UNAUTHORIZED');
  if (pathUserId !== null && pathUserId !== userId) throw new HttpError(403, 'user id does not belong to the token', 'FORBIDDEN');
  return userId;
}

export function requireRegistered(ctx: ServerContext, userId: string): void {
  if (ctx.state.accountById(userId)?.registeredAtMs === null) throw new HttpError(404, 'user not registered', 'NOT_FOUND');
}

function checkClient(ctx: ServerContext, req: IncomingMessage): boolean {
  const creds = basicCredentials(req);
  return creds !== null && safeEqual(creds.id, ctx.clientId) && safeEqual(creds.secret, ctx.clientSecret);
}

function authorize(ctx: ServerContext, res: ServerResponse, url: URL): void {
  const q = url.searchParams;
  const clientId = q.get('client_id');
  const redirectUri = q.get('redirect_uri') ?? ctx.redirectUri;
  // Unknown client or redirect: never redirect to an unregistered URL; answer here (RFC 6749 4.1.2.1).
  if (clientId !== ctx.clientId) return sendJson(res, 400, { error: 'unauthorized_client' });
  if (redirectUri !== ctx.redirectUri) return sendJson(res, 400, { error: 'invalid_request' });
  const state = q.get('state');
  const back = (params: Record<string, string>) => {
    const target = new URL(redirectUri);
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    if (state !== null) target.searchParams.set('state', state);
    res.writeHead(302, { Location: target.toString() });
    res.end();
  };
  if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type' });
  const scope = q.get('scope');
  if (scope !== null && scope !== 'accesslink.read_all') return back({ error: 'invalid_scope' });
  const login = q.get('login');
  if (login === null) {
    // Stand-in for the Flow login page: one link per simulated account.
    const links = ctx.state.accounts
      .map((a) => {
        const u = new URL(url.toString());
        u.searchParams.set('login', a.login);
        return `<li><a href="${u.pathname}${u.search.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">${a.login}</a></li>`;
      })
      .join('');
    const html = `<!doctype html><title>Simulated Polar Flow login</title><h1>Approve access as</h1><ul>${links}</ul>`;
    res.writeHead(200, { 'Content-Type': 'text/html;charset=UTF-8' });
    res.end(html);
    return;
  }
  const account = ctx.state.accountByLogin(login);
  if (!account || q.get('deny') !== null) return back({ error: 'access_denied' });
  back({ code: ctx.state.issueCode(account.polarUserId, q.get('redirect_uri')) });
}

async function token(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  if (!checkClient(ctx, req)) return sendJson(res, 400, { error: 'invalid_client' });
  const form = new URLSearchParams(body);
  if (form.get('grant_type') !== 'authorization_code') return sendJson(res, 400, { error: 'unsupported_grant_type' });
  const code = form.get('code');
  if (!code) return sendJson(res, 400, { error: 'invalid_request' });
  const result = ctx.state.exchangeCode(code, form.get('redirect_uri'));
  if (!result.ok) return sendJson(res, 400, { error: result.error });
  sendJson(res, 200, {
    access_token: result.token,
    token_type: 'bearer',
    expires_in: TOKEN_EXPIRES_IN_SECS,
    x_user_id: Number(result.userId),
  });
}

function notifications(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): void {
  if (!checkClient(ctx, req)) throw new HttpError(401, 'invalid client credentials', 'UNAUTHORIZED');
  const entry = (uid: string, dataType: string, segment: string) => ({ 'user-id': Number(uid), 'data-type': dataType, url: `${ctx.apiBaseUrl()}/v3/users/${uid}/${segment}` });
  const list = ctx.state.usersWithPendingData().map((uid) => entry(uid, 'EXERCISE', 'exercise-transactions'));
  for (const account of ctx.state.accounts) {
    if (ctx.state.legacy.pending('activity', account).length > 0) list.push(entry(account.polarUserId, 'ACTIVITY_SUMMARY', 'activity-transactions'));
    if (ctx.state.legacy.pending('physical', account).length > 0) list.push(entry(account.polarUserId, 'PHYSICAL_INFORMATION', 'physical-information-transactions'));
  }
  if (list.length === 0) return sendEmpty(res, 204);
  sendJson(res, 200, { 'available-user-data': list });
}

function webhookView(w: Webhook): Record<string, unknown> {
  return { id: w.id, events: w.events, url: w.url, active: w.active };
}

function parseWebhookBody(body: string, partial: boolean): { events?: string[]; url?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'body must be JSON', 'BAD_REQUEST');
  }
  const o = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  const out: { events?: string[]; url?: string } = {};
  if (o['events'] !== undefined) {
    const events = o['events'];
    if (!Array.isArray(events) || events.length === 0 || !events.every((e) => typeof e === 'string' && (WEBHOOK_EVENTS as readonly string[]).includes(e))) {
      throw new HttpError(400, `events must be a non-empty list of ${WEBHOOK_EVENTS.join(', ')}`, 'BAD_REQUEST');
    }
    out.events = events as string[];
  }
  if (o['url'] !== undefined) {
    if (typeof o['url'] !== 'string' || !/^https?:\/\//.test(o['url'])) throw new HttpError(400, 'url must be an http(s) URL', 'BAD_REQUEST');
    out.url = o['url'];
  }
  if (!partial && (!out.events || !out.url)) throw new HttpError(400, 'events and url are required', 'BAD_REQUEST');
  return out;
}

async function webhookRoutes(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
  const body = method === 'POST' || method === 'PATCH' ? await readBody(req) : '';
  if (!checkClient(ctx, req)) throw new HttpError(401, 'invalid client credentials', 'UNAUTHORIZED');
  const hooks = ctx.webhooks;
  const current = hooks.webhook;
  if (R.webhooks.test(path)) {
    if (method === 'GET') return sendJson(res, 200, { data: current ? [webhookView(current)] : [] });
    if (method !== 'POST') return notAllowed(res);
    if (current) throw new HttpError(409, 'webhook already exists', 'CONFLICT');
    const { events, url } = parseWebhookBody(body, false);
    if (!(await hooks.ping(url!))) throw new HttpError(400, 'webhook url did not answer the PING with 200', 'BAD_REQUEST');
    const created = hooks.create(events!, url!);
    return sendJson(res, 201, { data: { ...webhookView(created), signature_secret_key: created.signatureSecretKey } });
  }
  const toggle = R.webhookToggle.exec(path);
  if (toggle) {
    if (method !== 'POST') return notAllowed(res);
    if (!current) return sendEmpty(res, 204);
    if (toggle[1] === 'activate') {
      if (!(await hooks.ping(current.url))) throw new HttpError(400, 'webhook url did not answer the PING with 200', 'BAD_REQUEST');
      current.active = true;
    } else {
      current.active = false;
    }
    return sendEmpty(res, 200);
  }
  const one = R.webhook.exec(path);
  if (one) {
    if (!current || current.id !== one[1]) throw new HttpError(404, 'webhook not found', 'NOT_FOUND');
    if (method === 'DELETE') {
      hooks.webhook = null;
      return sendEmpty(res, 204);
    }
    if (method !== 'PATCH') return notAllowed(res);
    const patch = parseWebhookBody(body, true);
    if (patch.url !== undefined && patch.url !== current.url && !(await hooks.ping(patch.url))) {
      throw new HttpError(400, 'webhook url did not answer the PING with 200', 'BAD_REQUEST');
    }
    if (patch.url !== undefined) current.url = patch.url;
    if (patch.events !== undefined) current.events = patch.events;
    return sendJson(res, 200, { data: [webhookView(current)] });
  }
  throw new HttpError(404, 'not found', 'NOT_FOUND');
}

function parseMemberId(body: string, contentType: string | undefined): string | null {
  const text = body.trim();
  // Polar's own samples send JSON with an XML content type, so sniff the body, not the header.
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      const v = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>)['member-id'] : undefined;
      return typeof v === 'string' && v.length > 0 ? v : null;
    } catch {
      return null;
    }
  }
  if (text.startsWith('<') || contentType?.includes('xml')) {
    const m = /<member-id>([^<]{1,200})<\/member-id>/.exec(text);
    return m ? m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&') : null;
  }
  return null;
}

async function registerUser(ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const userId = authorizeUser(ctx, req, null);
  const memberId = parseMemberId(body, req.headers['content-type']);
  if (!memberId) throw new HttpError(400, 'member-id is required', 'BAD_REQUEST');
  const result = ctx.state.register(userId, memberId);
  if (!result.ok) {
    throw new HttpError(409, result.reason === 'already-registered' ? 'user already registered' : 'duplicate member-id', 'CONFLICT');
  }
  sendJson(res, 200, userJson(ctx, userId));
}

function getUser(ctx: ServerContext, res: ServerResponse, userId: string): void {
  if (ctx.state.accountById(userId)?.registeredAtMs === null) return sendEmpty(res, 204);
  sendJson(res, 200, userJson(ctx, userId));
}

function userJson(ctx: ServerContext, userId: string): Record<string, unknown> {
  const a = ctx.state.accountById(userId)!;
  return {
    'polar-user-id': Number(a.polarUserId),
    'member-id': a.memberId,
    'registration-date': new Date(a.registeredAtMs ?? 0).toISOString(),
    'first-name': a.firstName,
    'last-name': a.lastName,
    birthdate: `${1975 + ((a.index * 7) % 25)}-0${1 + (a.index % 9)}-1${a.index % 10}`,
    gender: a.index % 2 === 0 ? 'FEMALE' : 'MALE',
    weight: 58 + ((a.index * 9) % 30) + 0.5,
    height: 160 + ((a.index * 11) % 30),
    'extra-info': null,
  };
}
