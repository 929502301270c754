/**
 * The status snapshot: what the status page (`/status`), its JSON (`/status.json`) and
 * `polar-lake status` show. Built from a running app (with the observer's history, dead
 * letters and budget) or, when no process answers, from the state and lake folders alone.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from '../app.ts';
import type { RegisteredUser } from '../state/users.ts';
import { UNFETCHED_WARN_DAYS, type SweepRecord } from './observer.ts';

export interface UserStatusLine {
  readonly user_id: string;
  readonly member_id: string;
  readonly status: string;
  readonly status_reason: string | null;
  /** Per data type ('exercise', 'daily'): when the last sweep ended, whether it succeeded, the last success. */
  readonly last_fetch: Readonly<Record<string, { readonly at_utc: string; readonly ok: boolean; readonly last_ok_utc: string | null }>>;
  /** See unfetchedAgeSeconds; null for deregistered users, and for active ones when no process was asked. */
  readonly unfetched_age_seconds: number | null;
  /** True once that age passes UNFETCHED_WARN_DAYS (Polar deletes after 28 days). */
  readonly window_warning: boolean;
}

export interface TableSize {
  readonly table: string;
  readonly partitions: number;
  readonly files: number;
  readonly bytes: number;
}

export interface StatusSnapshot {
  readonly generated_at_utc: string;
  /** 'process': a running process answered; 'folders': read from the state and lake folders (no history). */
  readonly source: 'process' | 'folders';
  readonly started_at_utc: string | null;
  readonly bus: string | null;
  readonly stages: readonly string[];
  readonly users: readonly UserStatusLine[];
  /** One point per minute, oldest first, for the last hour. */
  readonly history: readonly { readonly at_utc: string; readonly rows_written: number; readonly payloads_fetched: number; readonly lag: number | null }[];
  /** Consumer lag now per stage; null where it could not be read. */
  readonly lag: readonly { readonly stage: string; readonly messages: number | null }[];
  readonly budget: readonly { readonly window: string; readonly used: number; readonly limit: number; readonly reset_secs: number }[];
  readonly dead_letters: readonly { readonly at_utc: string; readonly stage: string; readonly user_id: string; readonly raw_key: string; readonly code: string; readonly message: string }[];
  readonly lake: readonly TableSize[];
  readonly raw_zone: { readonly files: number; readonly bytes: number };
}

/**
 * How long what Polar holds for a user has gone unfetched, in seconds: for a user who needs
 * an operator (re-authorisation, consent), since the status changed; for an active user,
 * since the current run of failing sweeps began (0 when the last sweeps succeeded). Null for
 * deregistered users, whose data is no longer ours to fetch.
 */
export function unfetchedAgeSeconds(user: RegisteredUser, sweeps: ReadonlyMap<string, SweepRecord> | undefined, nowMs: number): number | null {
  if (user.status === 'deregistered') return null;
  if (user.status !== 'active') return Math.max(0, (nowMs - Date.parse(user.statusChangedAtUtc)) / 1000);
  let since: number | null = null;
  for (const s of sweeps?.values() ?? []) if (s.failingSinceMs !== null) since = since === null ? s.failingSinceMs : Math.min(since, s.failingSinceMs);
  return since === null ? 0 : Math.max(0, (nowMs - since) / 1000);
}

function walk(dir: string, visit: (path: string, name: string) => void): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // a table not written yet
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) walk(path, visit);
    else if (e.isFile()) visit(path, e.name);
  }
}

/** Parquet files and bytes per table folder under the lake root (committed files only: temp files end in .tmp). */
export function lakeSizes(lakeDir: string, tables: readonly string[]): { lake: TableSize[]; raw_zone: { files: number; bytes: number } } {
  const lake = tables.map((table) => {
    const partitions = new Set<string>();
    let files = 0;
    let bytes = 0;
    walk(join(lakeDir, table), (path, name) => {
      if (!name.endsWith('.parquet')) return;
      files++;
      bytes += statSync(path).size;
      partitions.add(path.slice(0, -name.length));
    });
    return { table, partitions: partitions.size, files, bytes };
  });
  const raw = { files: 0, bytes: 0 };
  walk(join(lakeDir, 'raw'), (path, name) => {
    if (!name.endsWith('.gz')) return;
    raw.files++;
    raw.bytes += statSync(path).size;
  });
  return { lake, raw_zone: raw };
}

/** `sweepsOf` null: no process to ask, so an active user's unfetched age is unknown (null), not 0. */
function userLines(users: readonly RegisteredUser[], sweepsOf: ((id: string) => ReadonlyMap<string, SweepRecord> | undefined) | null, nowMs: number): UserStatusLine[] {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return users.map((u) => {
    const sweeps = sweepsOf?.(u.polarUserId);
    const age = sweepsOf === null && u.status === 'active' ? null : unfetchedAgeSeconds(u, sweeps, nowMs);
    return {
      user_id: u.polarUserId,
      member_id: u.memberId,
      status: u.status,
      status_reason: u.statusReason,
      last_fetch: Object.fromEntries([...(sweeps ?? new Map<string, SweepRecord>())].map(([type, s]) => [type, { at_utc: iso(s.atMs)!, ok: s.ok, last_ok_utc: iso(s.lastOkMs) }])),
      unfetched_age_seconds: age,
      window_warning: age !== null && age >= UNFETCHED_WARN_DAYS * 86_400,
    };
  });
}

export async function appStatus(app: App, tables: readonly string[], options: { stages: readonly string[] }): Promise<StatusSnapshot> {
  const { observer } = app;
  const now = observer.now();
  const lag = await Promise.all(
    app.consumers().map(async ({ stage, subscription }) => ({ stage, messages: await subscription.lag().catch(() => null) })),
  );
  const last = app.rateLimitGate?.last;
  const budget = last ? [{ window: 'short_term', ...last.shortTerm }, ...(last.longTerm ? [{ window: 'long_term', ...last.longTerm }] : [])] : [];
  return {
    generated_at_utc: new Date(now).toISOString(),
    source: 'process',
    started_at_utc: new Date(observer.startedAtMs).toISOString(),
    bus: app.bus.kind,
    stages: options.stages,
    users: userLines(app.users.list(), (id) => observer.sweeps().get(id), now),
    history: observer.history().map((p) => ({ at_utc: new Date(p.atMs).toISOString(), rows_written: p.rowsWritten, payloads_fetched: p.payloadsFetched, lag: p.lag })),
    lag,
    budget: budget.map((b) => ({ window: b.window, used: b.used, limit: b.limit, reset_secs: b.resetSecs })),
    dead_letters: observer.deadLetters(),
    ...lakeSizes(app.lakeDir, tables),
  };
}

/** What can be told without a running process: users and their states, the lake's size. */
export function folderStatus(users: readonly RegisteredUser[], lakeDir: string, tables: readonly string[], nowMs: number): StatusSnapshot {
  return {
    generated_at_utc: new Date(nowMs).toISOString(),
    source: 'folders',
    started_at_utc: null,
    bus: null,
    stages: [],
    users: userLines(users, null, nowMs),
    history: [],
    lag: [],
    budget: [],
    dead_letters: [],
    ...lakeSizes(lakeDir, tables),
  };
}
