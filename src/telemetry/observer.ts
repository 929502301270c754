/**
 * What the running pipeline tells telemetry as it happens: AccessLink responses, sink
 * commits, messages published (dead letters among them), and how each user's sweep ended.
 * The stages know nothing of Prometheus or the status page; they call these hooks, and
 * metrics.ts and status.ts read the results. One observer per app (per process).
 *
 * History for the status charts is sampled once a minute (`sample()`, driven by a timer in
 * `polar-lake run` and by the test's own clock in tests) and kept for the last hour.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { TOPICS } from '../bus/bus.ts';
import { decodeEnvelope } from '../records/envelope.ts';
import type { Logger } from './log.ts';

/** Polar keeps data 28 days; warn when what is not fetched gets half that old. */
export const UNFETCHED_WARN_DAYS = 14;
const DAY_MS = 86_400_000;
const HISTORY_POINTS = 60;

export interface DeadLetterSeen {
  readonly at_utc: string;
  readonly stage: string;
  readonly user_id: string;
  readonly raw_key: string;
  readonly code: string;
  readonly message: string;
}

export interface SweepRecord {
  /** When the last sweep of this data type ended (epoch ms), and whether it succeeded. */
  readonly atMs: number;
  readonly ok: boolean;
  /** When a sweep last succeeded (epoch ms), or null if none has in this process. */
  readonly lastOkMs: number | null;
  /** When the current run of failures began (epoch ms), or null when the last sweep succeeded. */
  readonly failingSinceMs: number | null;
}

export interface HistoryPoint {
  /** Start of the minute (epoch ms). */
  readonly atMs: number;
  readonly rowsWritten: number;
  readonly payloadsFetched: number;
  /** Total consumer lag at the sample, or null when it could not be read. */
  readonly lag: number | null;
}

export interface PipelineObserver {
  readonly registry: Registry;
  readonly startedAtMs: number;
  onResponse(exchange: { method: string; path: string; status: number; seconds: number }): void;
  onCommitted(commit: { table: string; rows: number; bytes: number; seconds: number }): void;
  onPublished(topic: string, values: readonly Buffer[]): void;
  onUserSwept(outcome: { userId: string; dataType: 'exercise' | 'daily' | 'physical'; ok: boolean }): void;
  /** Last sweep per user and data type. */
  sweeps(): ReadonlyMap<string, ReadonlyMap<string, SweepRecord>>;
  deadLetters(): readonly DeadLetterSeen[];
  history(): readonly HistoryPoint[];
  /** Records one history point; `lag` is read by the caller (it is asynchronous). */
  sample(lag: number | null): void;
  now(): number;
}

/**
 * The endpoint of a request path, ids replaced, so that latency is labelled by a bounded set
 * of values: `/v3/users/123/exercise-transactions/9/exercises/77/tcx` becomes
 * `/v3/users/{id}/exercise-transactions/{id}/exercises/{id}/tcx`.
 */
export function endpointOf(path: string): string {
  return path
    .split('/')
    .map((segment) => (/^\d+$|^[0-9a-f]{8,}$|^(?=.*\d)[A-Za-z0-9_-]{16,}$|^\d{4}-\d{2}-\d{2}$/i.test(segment) ? '{id}' : segment))
    .join('/');
}

export function createPipelineObserver(options: { logger: Logger; now?: () => number }): PipelineObserver {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const requestSeconds = new Histogram({
    name: 'polar_accesslink_request_duration_seconds',
    help: 'AccessLink request latency until the response headers, by endpoint (ids replaced by {id}), method and status.',
    labelNames: ['endpoint', 'method', 'status'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const rowsWritten = new Counter({ name: 'polar_sink_rows_written_total', help: 'Rows committed to the lake, per table.', labelNames: ['table'], registers: [registry] });
  const bytesWritten = new Counter({ name: 'polar_sink_bytes_written_total', help: 'Parquet bytes committed to the lake, per table.', labelNames: ['table'], registers: [registry] });
  const commitSeconds = new Histogram({
    name: 'polar_sink_commit_duration_seconds',
    help: 'Time to write and commit one partition file, per table.',
    labelNames: ['table'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const published = new Counter({ name: 'polar_bus_messages_published_total', help: 'Messages this process published, per topic.', labelNames: ['topic'], registers: [registry] });
  const deadLettered = new Counter({
    name: 'polar_deadletters_total',
    help: 'Inputs this process sent to polar.deadletter, by stage and error code.',
    labelNames: ['stage', 'code'],
    registers: [registry],
  });

  const sweeps = new Map<string, Map<string, SweepRecord>>();
  const letters: DeadLetterSeen[] = [];
  const points: HistoryPoint[] = [];
  let rowsTotal = 0;
  let payloadsTotal = 0;
  let rowsAtLastSample = 0;
  let payloadsAtLastSample = 0;
  const lastWarnedMs = new Map<string, number>();

  return {
    registry,
    startedAtMs: now(),
    now,
    onResponse({ method, path, status, seconds }) {
      requestSeconds.observe({ endpoint: endpointOf(path), method, status: String(status) }, seconds);
    },
    onCommitted({ table, rows, bytes, seconds }) {
      rowsWritten.inc({ table }, rows);
      bytesWritten.inc({ table }, bytes);
      commitSeconds.observe({ table }, seconds);
      rowsTotal += rows;
    },
    onPublished(topic, values) {
      published.inc({ topic }, values.length);
      if (topic === TOPICS.fetched) payloadsTotal += values.length;
      if (topic !== TOPICS.deadletter) return;
      for (const value of values) {
        try {
          const letter = decodeEnvelope(value);
          if (letter.type !== 'deadletter') continue;
          const code = String(letter.error['code'] ?? 'unknown');
          deadLettered.inc({ stage: letter.stage, code });
          letters.unshift({ at_utc: letter.at_utc, stage: letter.stage, user_id: letter.user_id, raw_key: letter.raw_key, code, message: String(letter.error['message'] ?? '') });
        } catch {
          deadLettered.inc({ stage: 'unknown', code: 'undecodable' });
        }
      }
      letters.splice(20);
    },
    onUserSwept({ userId, dataType, ok }) {
      const byType = sweeps.get(userId) ?? new Map<string, SweepRecord>();
      sweeps.set(userId, byType);
      const before = byType.get(dataType);
      const at = now();
      byType.set(dataType, {
        atMs: at,
        ok,
        lastOkMs: ok ? at : (before?.lastOkMs ?? null),
        failingSinceMs: ok ? null : (before?.failingSinceMs ?? before?.lastOkMs ?? at),
      });
      if (ok) return;
      // What Polar holds for this user has not been fetched since `since`: warn (hourly) well
      // before the 28-day window closes on it.
      const since = byType.get(dataType)?.failingSinceMs ?? at;
      if (at - since >= UNFETCHED_WARN_DAYS * DAY_MS && at - (lastWarnedMs.get(userId) ?? 0) >= 3_600_000) {
        lastWarnedMs.set(userId, at);
        options.logger.warn('fetch.user.window_closing', { user_id: userId, data_type: dataType, unfetched_days: Math.floor((at - since) / DAY_MS), window_days: 28 });
      }
    },
    sweeps: () => sweeps,
    deadLetters: () => letters,
    history: () => points,
    sample(lag) {
      const at = now();
      points.push({ atMs: at - (at % 60_000), rowsWritten: rowsTotal - rowsAtLastSample, payloadsFetched: payloadsTotal - payloadsAtLastSample, lag });
      rowsAtLastSample = rowsTotal;
      payloadsAtLastSample = payloadsTotal;
      points.splice(0, Math.max(0, points.length - HISTORY_POINTS));
    },
  };
}
