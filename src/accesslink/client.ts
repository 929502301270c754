/**
 * The AccessLink v3 client for the exercise channels (transactional, and the `/v3/exercises`
 * listing), users, pull notifications and the date-based lists. Every request goes through one p-queue per client (bounded concurrency),
 * one rate-limit gate (obeys RateLimit-* headers and holds everything after a 429) and one
 * retrier (back-off with jitter, transient errors only). Statuses resolve to typed errors
 * through the table in `errors.ts`.
 *
 * Files are handed to the caller's consumer as a Node `Readable` over the response body: a
 * TCX or FIT can be 100 MB, so nothing here buffers a file whole. Bodies are capped, watched
 * for stalls and checked whole before their last bytes are let through (./body.ts); the
 * download and its consumer are retried together on a transient body error.
 *
 * @example
 * const client = createAccessLinkClient({ apiBaseUrl, clientId, clientSecret, logger });
 * const tx = await client.createExerciseTransaction(userId, token);
 */
import type { Readable } from 'node:stream';
import PQueue from 'p-queue';
import { systemClock, type Clock } from '../clock.ts';
import { isRetriable } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';
import {
  AccessLinkError,
  AccessLinkForeignUrlError,
  AccessLinkRateLimitedError,
  AccessLinkResponseError,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  corrIdFromBody,
  errorForStatus,
  networkErrorFrom,
  type RequestContext,
} from './errors.ts';
import { bodyStream, DEFAULT_BODY_IDLE_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, parseJsonBody, readBody, type MaxResponseBytes, type ResponseKind } from './body.ts';
import { createRateLimitGate, parseRateLimitHeaders, retryAfterMsFor429, type RateLimitGate, type RateLimitLane } from './rate-limit.ts';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from './retry.ts';

export type ExerciseFileKind = 'tcx' | 'gpx' | 'fit';

export interface AccessLinkClientOptions {
  /** Origin of the API; every followed URL must share it. @default 'https://www.polaraccesslink.com' */
  readonly apiBaseUrl?: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Requests in flight at once, across all users of this client. @default 4 */
  readonly concurrency?: number;
  /** Retry policy for transient failures. @default { retries: 5, initialRetryTimeMs: 300, maxRetryTimeMs: 30000 } */
  readonly retry?: Partial<RetryOptions>;
  /** Time allowed until the response headers arrive (bodies stream without a cap). @default 30000 */
  readonly requestTimeoutMs?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Shared gate, when several clients use the same partner credentials. @default a new gate */
  readonly rateLimitGate?: RateLimitGate;
  /** Told of every HTTP exchange that got a response (metrics: latency by endpoint and status). */
  readonly onResponse?: (exchange: { readonly method: string; readonly path: string; readonly status: number; readonly seconds: number }) => void;
  /**
   * Which lane of the gate this client's requests wait in: `live` (polling, webhooks) or
   * `backfill`, which never takes the share of the budget reserved for live work. @default 'live'
   */
  readonly lane?: RateLimitLane;
  /** Largest body accepted per kind (`fetch.max_response_bytes`). @default DEFAULT_MAX_RESPONSE_BYTES */
  readonly maxResponseBytes?: Partial<MaxResponseBytes>;
  /** A body that sends nothing this long is a stalled connection, retried. @default 60000 */
  readonly bodyIdleTimeoutMs?: number;
  /** Whose time back-off and rate-limit holds wait on; tests pass a virtual clock. @default systemClock */
  readonly clock?: Clock;
}

/** The three transactional channels; each is create → list → get items → commit. */
export type TransactionType = 'exercise' | 'activity' | 'physical';

const TRANSACTIONS: Readonly<Record<TransactionType, { readonly path: string; readonly list: string }>> = {
  exercise: { path: 'exercise-transactions', list: 'exercises' },
  activity: { path: 'activity-transactions', list: 'activity-log' },
  physical: { path: 'physical-information-transactions', list: 'physical-informations' },
};

/** A JSON body as received (kept verbatim for the raw zone) and parsed. */
export interface JsonBody {
  readonly raw: Buffer;
  readonly json: unknown;
}

/** Sample parts `/v3/users/activities[/{date}]` includes when asked: all three, so one request gives the whole day with its series. */
export const ACTIVITY_SAMPLE_FLAGS: Readonly<Record<string, string>> = { steps: 'true', activity_zones: 'true', inactivity_stamps: 'true' };

export interface Notification {
  readonly userId: string;
  readonly dataType: string;
  readonly url: string;
}

export interface ExerciseTransaction {
  readonly transactionId: string;
  readonly resourceUri: string;
}

export interface ExerciseSummary {
  /** The body exactly as received: the raw zone keeps it verbatim. */
  readonly raw: Buffer;
  readonly json: Record<string, unknown>;
}

/** One item of `GET /v3/exercises`. */
export interface ListedExercise extends ExerciseSummary {
  /** The hashed id (e.g. `ymeoBNZw`), checked to be a safe path segment. */
  readonly id: string;
  /** `{origin}/v3/exercises/{id}`: its files are under this URL (`/tcx`, `/gpx`, `/fit`). */
  readonly url: string;
}

export interface ExerciseListing {
  readonly exercises: ListedExercise[];
  /** Items that are not an object with a usable id: skipped, the rest still flows. */
  readonly rejected: AccessLinkResponseError[];
}

/** What `GET /v3/exercises` inlines in each item. @default nothing */
export interface ListingInline {
  readonly samples?: boolean;
  readonly zones?: boolean;
  readonly route?: boolean;
}

export type RegisterResult =
  | { readonly status: 'registered'; readonly user: Record<string, unknown> }
  | { readonly status: 'already_registered' };

export interface AccessLinkClient {
  readonly apiOrigin: string;
  readonly rateLimitGate: RateLimitGate;
  /** GET /v3/notifications with client Basic auth; 204 → []. */
  listNotifications(): Promise<Notification[]>;
  /** POST /v3/users; 409 (already registered) is a success. */
  registerUser(token: string, memberId: string): Promise<RegisterResult>;
  /** GET /v3/users/{id}; 204 → null. */
  getUser(userId: string, token: string): Promise<Record<string, unknown> | null>;
  /** DELETE /v3/users/{id}: de-registers the user and revokes the token. */
  deleteUser(userId: string, token: string): Promise<void>;
  /** POST /v3/users/{id}/exercise-transactions; 204 (nothing new) → null. */
  createExerciseTransaction(userId: string, token: string): Promise<ExerciseTransaction | null>;
  /** GET resource-uri → the exercise URLs, as given by the API (same origin only); 204 → []. */
  listTransactionExercises(resourceUri: string, token: string): Promise<string[]>;
  /** GET an exercise URL → its summary JSON; 204 → null. */
  getExerciseSummary(exerciseUrl: string, token: string): Promise<ExerciseSummary | null>;
  /**
   * GET {exerciseUrl}/{kind} and hand the body, as a stream, to `consume` (which stores it);
   * 204 (no such file) → null; 404 throws. The stream fails with a typed error when the body
   * is cut, stalls, is incomplete or too large, before its last chunk: a consumer that
   * commits on end never commits such a body. Transient body errors retry the download and
   * `consume` together; errors of `consume` itself are not retried here.
   */
  getExerciseFile<T>(exerciseUrl: string, kind: ExerciseFileKind, token: string, consume: (body: Readable) => Promise<T>): Promise<T | null>;
  /**
   * Transactional exercise: GET {exerciseUrl}/samples (the URL of each available sample type),
   * then each `/samples/{type-id}`: one request per type, as the API allows no fewer. Returns
   * one JSON document `{"samples":[...]}` whose elements are each type's body as received (outer whitespace trimmed)
   * (the listing's inline `samples` shape), or null when there are none (204, an empty list,
   * or 204 for every type). 404 throws.
   */
  getExerciseSamples(exerciseUrl: string, token: string): Promise<Buffer | null>;
  /** Transactional exercise: GET {exerciseUrl}/heart-rate-zones → the body as received (`{"zone":[...]}`); 204 → null; 404 throws. */
  getExerciseHeartRateZones(exerciseUrl: string, token: string): Promise<Buffer | null>;
  /**
   * GET /v3/exercises (bearer; the token's user): exercises uploaded in the last 30 days, as
   * a top-level array of snake_case summaries with hashed ids. Each item's `raw` is its bytes
   * exactly as received (a slice of the body), so the raw zone keeps what the API said.
   * 204 or an empty body → no exercises. `inline` asks for each exercise's sample series,
   * heart-rate zones and route in the same response (`?samples=true&zones=true&route=true`):
   * no request per exercise for them.
   */
  listExercises(token: string, inline?: ListingInline): Promise<ExerciseListing>;
  /** PUT resource-uri: commits, and Polar deletes the transaction's data for good. */
  commitExerciseTransaction(resourceUri: string, token: string): Promise<void>;
  /**
   * Date-based list endpoints (bearer; the token's user), the last 28 days:
   * `activity` → GET /v3/users/activities (a top-level array), `sleep` → GET /v3/users/sleep
   * (`{"nights": [...]}`). No data (`[]`, 204, or a 404 for sleep) → []. Items are returned as
   * parsed; the caller keys them by date.
   */
  listDaily(kind: 'activity' | 'sleep', token: string, range?: { from: string; to: string }): Promise<Record<string, unknown>[]>;
  /** POST /v3/users/{id}/{type}-transactions; 204 (nothing new) → null. */
  createTransaction(type: TransactionType, userId: string, token: string): Promise<ExerciseTransaction | null>;
  /** GET resource-uri → the item URLs of the transaction (`exercises`, `activity-log`, `physical-informations`); 204 → []. */
  listTransactionItems(type: TransactionType, resourceUri: string, token: string): Promise<string[]>;
  /** PUT resource-uri: commits, and Polar deletes the transaction's data for good. */
  commitTransaction(resourceUri: string, token: string): Promise<void>;
  /**
   * GET a URL the API handed out (same origin only), optionally with a sub-resource appended
   * (`step-samples`): the JSON body verbatim and parsed. 204 → null; a 404 throws
   * AccessLinkNotFoundError.
   */
  getJson(url: string, token: string, subResource?: string): Promise<JsonBody | null>;
  /** GET /v3/users/physical-info: the current snapshot, or null when the API has none (404/204). */
  getPhysicalInfo(token: string): Promise<JsonBody | null>;
  /**
   * GET a date-based endpoint of the token's user (`/v3/users/...`, src/daily/endpoints.ts)
   * with date query parameters (`from`, `to`). A status in `noData` (204 always; 404 where
   * the endpoint uses it for "no data") → null, its body never parsed; 200 → the parsed JSON.
   */
  getDateBased(path: string, query: Readonly<Record<string, string>>, token: string, noData: readonly number[]): Promise<unknown | null>;
  /** Resolves when no request is queued or in flight. */
  onIdle(): Promise<void>;
}

const ACCEPT: Record<'json' | ExerciseFileKind, string> = {
  json: 'application/json',
  tcx: 'application/vnd.garmin.tcx+xml',
  gpx: 'application/gpx+xml',
  fit: '*/*',
};

/** Ids that go into request paths; anything else is refused before a request is made. */
const PATH_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ERROR_BODY_BYTES = 16 * 1024;

type Auth = { readonly kind: 'basic' } | { readonly kind: 'bearer'; readonly token: string };

interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: URL;
  readonly auth: Auth;
  readonly accept: string;
  readonly jsonBody?: unknown;
  /** 2xx statuses the caller handles; any other 2xx is an unexpected-response error. */
  readonly ok: readonly number[];
  /** Non-2xx statuses the caller handles itself instead of an error (409 on register). */
  readonly passthrough?: readonly number[];
}

export function createAccessLinkClient(options: AccessLinkClientOptions): AccessLinkClient {
  const base = new URL(options.apiBaseUrl ?? 'https://www.polaraccesslink.com');
  const apiOrigin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, '');
  const logger = (options.logger ?? silentLogger).child({ component: 'accesslink' });
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const clock = options.clock ?? systemClock;
  const maxBytes: MaxResponseBytes = { ...DEFAULT_MAX_RESPONSE_BYTES, ...options.maxResponseBytes };
  const idleTimeoutMs = options.bodyIdleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const gate = options.rateLimitGate ?? createRateLimitGate({ clock, logger });
  const lane: RateLimitLane = options.lane ?? 'live';
  const basic = 'Basic ' + Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64');

  const apiUrl = (path: string): URL => new URL(basePath + path, apiOrigin);

  /** URLs handed out by the API are followed as given, but only on the configured origin. */
  const followUrl = (method: string, url: string): URL => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AccessLinkForeignUrlError(method, url, apiOrigin);
    }
    if (parsed.origin !== apiOrigin) throw new AccessLinkForeignUrlError(method, url, apiOrigin);
    return parsed;
  };

  const checkId = (what: string, id: string, context: RequestContext): string => {
    if (!PATH_ID.test(id)) throw new AccessLinkResponseError(`invalid ${what} ${JSON.stringify(id.slice(0, 70))}`, { ...context, status: 0 });
    return id;
  };

  /** One HTTP exchange, run inside the queue. Returns the response with its body unread. */
  const exchange = async (spec: RequestSpec): Promise<Response> => {
    const context: RequestContext = { method: spec.method, path: spec.url.pathname + spec.url.search };
    await gate.wait(lane);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('response headers timed out', 'TimeoutError')), requestTimeoutMs);
    const headers: Record<string, string> = {
      accept: spec.accept,
      authorization: spec.auth.kind === 'basic' ? basic : `Bearer ${spec.auth.token}`,
    };
    let body: string | undefined;
    if (spec.jsonBody !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.jsonBody);
    }
    let response: Response;
    const started = performance.now();
    try {
      response = await fetch(spec.url, { method: spec.method, headers, signal: controller.signal, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    } catch (error) {
      const network = networkErrorFrom(controller.signal.aborted ? controller.signal.reason : error, context);
      throw network ?? error;
    } finally {
      clearTimeout(timer);
    }
    const rateLimit = parseRateLimitHeaders(response.headers);
    // A 429 holds first, so its hold is logged as the 429's and not as a spent budget.
    if (response.status === 429) gate.holdFor(retryAfterMsFor429(rateLimit) ?? DEFAULT_RATE_LIMIT_WAIT_MS, '429', rateLimit);
    gate.observe(rateLimit);
    options.onResponse?.({ method: spec.method, path: spec.url.pathname, status: response.status, seconds: (performance.now() - started) / 1000 });
    logger.debug('accesslink.request.completed', { method: spec.method, path: context.path, status: response.status });
    if (spec.ok.includes(response.status) || spec.passthrough?.includes(response.status)) return response;
    const text = await readCapped(response);
    const corrId = corrIdFromBody(text);
    if (response.status >= 200 && response.status < 300) {
      throw new AccessLinkResponseError(`unexpected success status ${response.status}`, { ...context, status: response.status });
    }
    const error = errorForStatus({ ...context, status: response.status, corrId, retryAfterMs: response.status === 429 ? retryAfterMsFor429(rateLimit) : undefined });
    if (error instanceof AccessLinkRateLimitedError) gate.holdFor(error.retryAfterMs, '429');
    throw error;
  };

  /**
   * Runs `read(response)` inside the queue slot, retrying the whole exchange on transient
   * errors (`retriable` narrows which). Back-off waits are logged with their reason; those of
   * LONG_WAIT_LOG_MS or more are what an operator sees at info when a sweep goes quiet.
   */
  const request = <T>(spec: RequestSpec, read: (response: Response) => Promise<T>, retriable: (error: unknown) => boolean = isRetriable): Promise<T> =>
    withRetry(
      async () => {
        const result = await queue.add(async () => read(await exchange(spec)), { throwOnTimeout: true });
        return result;
      },
      retry,
      {
        clock,
        retriable,
        onRetry: ({ attempt, waitMs, error }) =>
          logger.warn('accesslink.request.retried', {
            method: spec.method,
            path: spec.url.pathname,
            attempt,
            wait_ms: waitMs,
            until_utc: new Date(clock.now() + waitMs).toISOString(),
            reason: error instanceof AccessLinkError ? error.code : 'PL_UNEXPECTED',
            window: error instanceof AccessLinkRateLimitedError ? 'rate_limit_reset' : 'back_off',
            error_code: error instanceof AccessLinkError ? error.code : undefined,
            status: error instanceof AccessLinkError ? error.status : undefined,
          }),
      },
    );

  const contextOf = (spec: RequestSpec, response: Response) => ({ method: spec.method, path: spec.url.pathname, status: response.status });

  const readJson = async (response: Response, spec: RequestSpec): Promise<{ raw: Buffer; json: unknown }> => {
    const context = contextOf(spec, response);
    const raw = await readBody(response, context, { kind: 'json', maxBytes: maxBytes.json, idleTimeoutMs });
    return { raw, json: parseJsonBody(raw, context) };
  };

  const bearer = (token: string): Auth => ({ kind: 'bearer', token });

  /** `{exerciseUrl}/{sub}` on the API's origin (sub-resources of an item URL the API handed out). */
  const subResourceUrl = (exerciseUrl: string, sub: string): URL => {
    const base = followUrl('GET', exerciseUrl);
    return new URL(base.pathname.replace(/\/+$/, '') + '/' + sub + base.search, apiOrigin);
  };

  /** The body as received, once it is known to be a JSON object (whitespace trimmed, so it embeds cleanly). */
  const jsonObjectBody = (body: { raw: Buffer; json: unknown }, spec: RequestSpec, status: number): Buffer => {
    if (!body.json || typeof body.json !== 'object' || Array.isArray(body.json)) {
      throw new AccessLinkResponseError('body is not a JSON object', { method: spec.method, path: spec.url.pathname, status });
    }
    const text = body.raw.toString('utf8').trim();
    return Buffer.from(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  };

  const createTransaction = async (type: TransactionType, userId: string, token: string): Promise<ExerciseTransaction | null> => {
    const { path: segment } = TRANSACTIONS[type];
    const path = `/v3/users/${checkId('user id', userId, { method: 'POST', path: `/v3/users/{user-id}/${segment}` })}/${segment}`;
    const spec: RequestSpec = { method: 'POST', url: apiUrl(path), auth: bearer(token), accept: ACCEPT.json, ok: [200, 201, 204] };
    return request(spec, async (response) => {
      if (response.status === 204) return null;
      const { json } = await readJson(response, spec);
      const body = json as Record<string, unknown>;
      const resourceUri = body['resource-uri'];
      if (typeof resourceUri !== 'string') throw new AccessLinkResponseError('no resource-uri in the transaction', { method: 'POST', path, status: response.status });
      followUrl('POST', resourceUri);
      return { transactionId: idString(body['transaction-id'], spec), resourceUri };
    });
  };

  const listTransactionItems = async (type: TransactionType, resourceUri: string, token: string): Promise<string[]> => {
    const key = TRANSACTIONS[type].list;
    const spec: RequestSpec = { method: 'GET', url: followUrl('GET', resourceUri), auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
    return request(spec, async (response) => {
      if (response.status === 204) return [];
      const { json } = await readJson(response, spec);
      const list = (json as Record<string, unknown> | null)?.[key];
      if (list === undefined || list === null) return [];
      if (!Array.isArray(list)) throw new AccessLinkResponseError(`${key} is not a list`, { method: 'GET', path: spec.url.pathname, status: response.status });
      return list.map((u) => {
        const url = String(u);
        followUrl('GET', url);
        return url;
      });
    });
  };

  const commitTransaction = async (resourceUri: string, token: string): Promise<void> => {
    const spec: RequestSpec = { method: 'PUT', url: followUrl('PUT', resourceUri), auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
    await request(spec, async (response) => {
      await response.body?.cancel();
    });
  };

  return {
    apiOrigin,
    rateLimitGate: gate,

    async listNotifications() {
      const spec: RequestSpec = { method: 'GET', url: apiUrl('/v3/notifications'), auth: { kind: 'basic' }, accept: ACCEPT.json, ok: [200, 204] };
      return request(spec, async (response) => {
        if (response.status === 204) return [];
        const { json } = await readJson(response, spec);
        const list = (json as { 'available-user-data'?: unknown })['available-user-data'];
        if (!Array.isArray(list)) throw new AccessLinkResponseError('no available-user-data list', { method: 'GET', path: spec.url.pathname, status: 200 });
        return list.map((entry: Record<string, unknown>) => ({
          userId: idString(entry['user-id'], spec),
          dataType: String(entry['data-type']),
          url: String(entry['url']),
        }));
      });
    },

    async registerUser(token, memberId) {
      const spec: RequestSpec = {
        method: 'POST', url: apiUrl('/v3/users'), auth: bearer(token), accept: ACCEPT.json,
        jsonBody: { 'member-id': memberId }, ok: [200, 201], passthrough: [409],
      };
      return request(spec, async (response): Promise<RegisterResult> => {
        if (response.status === 409) {
          await response.body?.cancel();
          return { status: 'already_registered' };
        }
        const { json } = await readJson(response, spec);
        return { status: 'registered', user: (json ?? {}) as Record<string, unknown> };
      });
    },

    async getUser(userId, token) {
      const url = apiUrl(`/v3/users/${checkId('user id', userId, { method: 'GET', path: '/v3/users/{user-id}' })}`);
      const spec: RequestSpec = { method: 'GET', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      return request(spec, async (response) => {
        if (response.status === 204) return null;
        return (await readJson(response, spec)).json as Record<string, unknown>;
      });
    },

    async deleteUser(userId, token) {
      const url = apiUrl(`/v3/users/${checkId('user id', userId, { method: 'DELETE', path: '/v3/users/{user-id}' })}`);
      const spec: RequestSpec = { method: 'DELETE', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      await request(spec, async (response) => {
        await response.body?.cancel();
      });
    },

    createExerciseTransaction: (userId, token) => createTransaction('exercise', userId, token),
    createTransaction,
    listTransactionExercises: (resourceUri, token) => listTransactionItems('exercise', resourceUri, token),
    listTransactionItems,

    async getExerciseSummary(exerciseUrl, token) {
      const spec: RequestSpec = { method: 'GET', url: followUrl('GET', exerciseUrl), auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      return request(spec, async (response) => {
        if (response.status === 204) return null;
        const { raw, json } = await readJson(response, spec);
        if (!json || typeof json !== 'object' || Array.isArray(json)) {
          throw new AccessLinkResponseError('summary is not an object', { method: 'GET', path: spec.url.pathname, status: response.status });
        }
        return { raw, json: json as Record<string, unknown> };
      });
    },

    async listDaily(kind, token, range) {
      const url = apiUrl(kind === 'activity' ? '/v3/users/activities' : '/v3/users/sleep');
      if (range) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(range.from) || !/^\d{4}-\d{2}-\d{2}$/.test(range.to)) {
          throw new AccessLinkResponseError(`invalid date range ${JSON.stringify(range).slice(0, 80)}`, { method: 'GET', path: url.pathname, status: 0 });
        }
        url.searchParams.set('from', range.from);
        url.searchParams.set('to', range.to);
      }
      const spec: RequestSpec = { method: 'GET', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204], passthrough: kind === 'sleep' ? [404] : [] };
      return request(spec, async (response) => {
        if (response.status === 204 || response.status === 404) {
          await response.arrayBuffer().catch(() => undefined);
          return [];
        }
        const { json } = await readJson(response, spec);
        const list = kind === 'sleep' && json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>)['nights'] : json;
        if (!Array.isArray(list)) {
          throw new AccessLinkResponseError(`${kind} list is not ${kind === 'sleep' ? 'an object with nights' : 'an array'}`, { method: 'GET', path: url.pathname, status: response.status });
        }
        return list.filter((item): item is Record<string, unknown> => !!item && typeof item === 'object' && !Array.isArray(item));
      });
    },

    async getDateBased(path, query, token, noData) {
      const url = apiUrl(path);
      const context = { method: 'GET', path };
      if (!/^\/v3\/users\/[a-z0-9/_-]{1,80}$/.test(path) || path.includes('//')) throw new AccessLinkResponseError(`invalid date-based path ${JSON.stringify(path.slice(0, 80))}`, { ...context, status: 0 });
      for (const [name, value] of Object.entries(query)) {
        if (!/^[a-z_]{1,32}$/.test(name) || !/^(?:\d{4}-\d{2}-\d{2}|true|false)$/.test(value)) throw new AccessLinkResponseError(`invalid query ${name}=${JSON.stringify(String(value).slice(0, 20))}`, { ...context, status: 0 });
        url.searchParams.set(name, value);
      }
      const empty = noData.filter((s) => s >= 300);
      const spec: RequestSpec = { method: 'GET', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204], passthrough: empty };
      return request(spec, async (response) => {
        if (response.status === 204 || empty.includes(response.status)) {
          await response.arrayBuffer().catch(() => undefined);
          return null;
        }
        return (await readJson(response, spec)).json;
      });
    },

    async listExercises(token, inline = {}) {
      const url = apiUrl('/v3/exercises');
      for (const flag of ['samples', 'zones', 'route'] as const) if (inline[flag]) url.searchParams.set(flag, 'true');
      const spec: RequestSpec = { method: 'GET', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      return request(spec, async (response): Promise<ExerciseListing> => {
        const context = { method: 'GET', path: url.pathname, status: response.status };
        if (response.status === 204) {
          await response.body?.cancel();
          return { exercises: [], rejected: [] };
        }
        const { raw, json } = await readJson(response, spec);
        if (!Array.isArray(json)) throw new AccessLinkResponseError('exercise list is not an array', context);
        const slices = splitJsonArray(raw);
        if (slices.length !== json.length) throw new AccessLinkResponseError('exercise list could not be split into items', context);
        const exercises: ListedExercise[] = [];
        const rejected: AccessLinkResponseError[] = [];
        json.forEach((item: unknown, i) => {
          if (!item || typeof item !== 'object' || Array.isArray(item)) {
            rejected.push(new AccessLinkResponseError(`exercise list item ${i} is not an object`, context));
            return;
          }
          const id = (item as Record<string, unknown>)['id'];
          if (typeof id !== 'string' || !PATH_ID.test(id)) {
            rejected.push(new AccessLinkResponseError(`exercise list item ${i} has no valid hashed id`, context));
            return;
          }
          exercises.push({ id, url: apiUrl(`/v3/exercises/${id}`).href, raw: slices[i]!, json: item as Record<string, unknown> });
        });
        return { exercises, rejected };
      });
    },

    async getExerciseFile(exerciseUrl, kind, token, consume) {
      const spec: RequestSpec = { method: 'GET', url: subResourceUrl(exerciseUrl, kind), auth: bearer(token), accept: ACCEPT[kind], ok: [200, 204] };
      const fileKind: ResponseKind = kind;
      return request(
        spec,
        async (response) => {
          if (response.status === 204) {
            await response.body?.cancel();
            return null;
          }
          // The slot is held while the body streams: the concurrency bounds open downloads.
          return consume(bodyStream(response, contextOf(spec, response), { kind: fileKind, maxBytes: maxBytes[fileKind], idleTimeoutMs }));
        },
        // A body error is the download's and is retried; the consumer's own (disk) errors are not.
        (error) => error instanceof AccessLinkError && isRetriable(error),
      );
    },

    async getExerciseSamples(exerciseUrl, token) {
      const listSpec: RequestSpec = { method: 'GET', url: subResourceUrl(exerciseUrl, 'samples'), auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      const typeUrls = await request(listSpec, async (response) => {
        if (response.status === 204) return [];
        const { json } = await readJson(response, listSpec);
        const list = json && typeof json === 'object' ? (json as { samples?: unknown }).samples : undefined;
        if (list === undefined || list === null) return [];
        if (!Array.isArray(list)) throw new AccessLinkResponseError('samples is not a list', { method: 'GET', path: listSpec.url.pathname, status: response.status });
        return list.map((u) => followUrl('GET', String(u)));
      });
      const bodies: Buffer[] = [];
      for (const url of typeUrls) {
        const spec: RequestSpec = { method: 'GET', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
        const body = await request(spec, async (response) => (response.status === 204 ? null : jsonObjectBody(await readJson(response, spec), spec, response.status)));
        if (body) bodies.push(body);
      }
      if (bodies.length === 0) return null;
      return Buffer.concat([Buffer.from('{"samples":['), ...bodies.flatMap((b, i) => (i === 0 ? [b] : [Buffer.from(','), b])), Buffer.from(']}')]);
    },

    async getExerciseHeartRateZones(exerciseUrl, token) {
      const spec: RequestSpec = { method: 'GET', url: subResourceUrl(exerciseUrl, 'heart-rate-zones'), auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      return request(spec, async (response) => (response.status === 204 ? null : jsonObjectBody(await readJson(response, spec), spec, response.status)));
    },

    commitExerciseTransaction: (resourceUri, token) => commitTransaction(resourceUri, token),
    commitTransaction,

    async getJson(url, token, subResource) {
      const base = followUrl('GET', url);
      const target = subResource === undefined ? base : new URL(base.pathname.replace(/\/+$/, '') + '/' + checkId('sub-resource', subResource, { method: 'GET', path: base.pathname }) + base.search, apiOrigin);
      const spec: RequestSpec = { method: 'GET', url: target, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204] };
      return request(spec, async (response) => {
        if (response.status === 204) {
          await response.body?.cancel();
          return null;
        }
        return readJson(response, spec);
      });
    },

    async getPhysicalInfo(token) {
      const url = apiUrl('/v3/users/physical-info');
      const spec: RequestSpec = { method: 'GET', url, auth: bearer(token), accept: ACCEPT.json, ok: [200, 204], passthrough: [404] };
      return request(spec, async (response) => {
        if (response.status === 204 || response.status === 404) {
          await response.arrayBuffer().catch(() => undefined);
          return null;
        }
        const body = await readJson(response, spec);
        if (!isObject(body.json)) throw new AccessLinkResponseError('physical info is not an object', { method: 'GET', path: url.pathname, status: response.status });
        return body;
      });
    },

    onIdle: () => queue.onIdle(),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** Polar ids are int64: keep them as strings, and refuse numbers JSON could not hold exactly. */
function idString(value: unknown, spec: RequestSpec): string {
  if (typeof value === 'string' && PATH_ID.test(value)) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  throw new AccessLinkResponseError('missing or invalid id in the response', { method: spec.method, path: spec.url.pathname, status: 200 });
}

/**
 * The byte slices of a top-level JSON array's elements, whitespace trimmed. The body has
 * already parsed as JSON, so a scan of brackets outside strings is enough; UTF-8 continuation
 * bytes are all >= 0x80 and never look like a bracket, comma or quote.
 */
export function splitJsonArray(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) i = 3; // a UTF-8 BOM
  while (isSpace(raw[i])) i++;
  if (raw[i] !== 0x5b) return out;
  i++;
  let depth = 0;
  let inString = false;
  let start = -1;
  const close = (end: number) => {
    if (start < 0) return;
    let e = end;
    while (e > start && isSpace(raw[e - 1])) e--;
    if (e > start) out.push(raw.subarray(start, e));
    start = -1;
  };
  for (; i < raw.length; i++) {
    const b = raw[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
      continue;
    }
    if (start < 0 && !isSpace(b) && !(depth === 0 && (b === 0x2c || b === 0x5d))) start = i;
    if (b === 0x22) inString = true;
    else if (b === 0x7b || b === 0x5b) depth++;
    else if (b === 0x7d || b === 0x5d) {
      if (depth === 0) {
        close(i); // the array's own closing bracket
        break;
      }
      depth--;
    } else if (b === 0x2c && depth === 0) close(i);
  }
  return out;
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch {
    // an error body that cannot be read adds nothing: the status decides
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY_BYTES);
}
