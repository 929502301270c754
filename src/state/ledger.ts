/**
 * The fetch ledger: which payload of which exercise is durably stored in the raw zone, known
 * to be absent (204/404), and published to `polar.fetched`. An uncommitted transaction comes
 * back with the same items, and the non-transactional endpoints show items for 28-30 days;
 * the ledger makes each payload downloaded and published once.
 *
 * Why a JSON-lines file and not DuckDB: the ledger is only ever appended to and read whole
 * at start-up; an `O_APPEND` write + fsync (shared by the appends asked for meanwhile) is
 * crash-safe (a torn last line is dropped on load, and its payloads are simply fetched
 * again), needs no lock shared with the lake's DuckDB files (DuckDB allows one writing
 * process per file, and `users add` or a second stage process may run beside `run`), and
 * stays greppable for an operator.
 * The in-memory index holds one small entry per payload.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolarLakeError } from '../errors.ts';
import { appendDurable } from '../fs/durable.ts';
import type { PayloadKind } from '../records/envelope.ts';

/**
 * stored / absent / published: one payload (see LedgerEntry.state). swept: a date-based
 * sweep cursor, one per (user, data type) under the item id `@sweep` (src/stages/fetch-daily.ts):
 * `atUtc` is when that type was last read for the user.
 */
export type LedgerState = 'stored' | 'absent' | 'published' | 'swept';

export interface LedgerEntry {
  readonly userId: string;
  readonly exerciseId: string;
  readonly payload: PayloadKind;
  /** stored: in the raw zone; absent: the API has no such file; published: stored and its event acknowledged. */
  readonly state: LedgerState;
  readonly rawKey: string | null;
  readonly sha256: string | null;
  readonly bytes: number | null;
  /** From the summary, so a later run can build events without reading it back. */
  readonly utcOffsetMin: number | null;
  /** Published entries: whether the event said `feeds_samples` (one feeder per exercise, ever). */
  readonly feedsSamples?: boolean;
  readonly atUtc: string;
}

export interface Ledger {
  readonly file: string;
  /** The latest entry for the payload, if any. */
  get(userId: string, exerciseId: string, payload: PayloadKind): LedgerEntry | undefined;
  /** Appends entries durably: resolves once they are written and fsynced (appends asked for meanwhile share one write and one fsync). */
  record(entries: readonly LedgerEntry[]): Promise<void>;
  /** Payloads known. */
  readonly size: number;
  /** Durable appends done since open (one write + one fsync each, however many record() calls they carried). */
  readonly appends: number;
}

export class LedgerWriteError extends PolarLakeError {
  readonly code = 'PL_STATE_LEDGER_WRITE_FAILED';
  readonly kind = 'transient';
  constructor(readonly file: string, options?: { cause?: unknown }) {
    super(`could not append to the ledger ${file}`, options);
  }
}

interface Line {
  u: string;
  e: string;
  p: PayloadKind;
  s: LedgerState;
  k: string | null;
  h: string | null;
  b: number | null;
  o: number | null;
  f?: boolean;
  t: string;
}

const keyOf = (userId: string, exerciseId: string, payload: string) => `${userId}\u0000${exerciseId}\u0000${payload}`;

export async function openLedger(options: { stateDir: string }): Promise<Ledger> {
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  const file = join(options.stateDir, 'fetch-ledger.jsonl');
  const index = new Map<string, LedgerEntry>();

  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // A crash mid-append can leave a last line without its newline: start the next one fresh.
  let needsNewline = text.length > 0 && !text.endsWith('\n');
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      // A torn line from a crash mid-append: its payloads are fetched again, no harm done.
      continue;
    }
    index.set(keyOf(line.u, line.e, line.p), {
      userId: line.u, exerciseId: line.e, payload: line.p, state: line.s, rawKey: line.k, sha256: line.h, bytes: line.b, utcOffsetMin: line.o, atUtc: line.t,
      ...(line.f === undefined ? {} : { feedsSamples: line.f }),
    });
  }

  /**
   * Group commit: appends asked for while one is being written wait for it, then go to disk
   * together in one write and one fsync. Each caller is answered only once its own entries
   * are synced, so "recorded" still means durable; a sweep over many users at once pays one
   * fsync per batch instead of one per entry.
   */
  let waiting: { body: string; entries: readonly LedgerEntry[]; done: () => void; failed: (error: unknown) => void }[] = [];
  let writing = false;
  let appends = 0;
  const writeWaiting = async () => {
    writing = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await appendDurable(file, (needsNewline ? '\n' : '') + batch.map((b) => b.body).join(''), { mode: 0o600 });
        needsNewline = false;
      } catch (cause) {
        // A failed write may have left part of a line: the next append starts on a fresh one.
        needsNewline = true;
        for (const b of batch) b.failed(new LedgerWriteError(file, { cause }));
        continue;
      }
      appends++;
      for (const b of batch) {
        for (const e of b.entries) index.set(keyOf(e.userId, e.exerciseId, e.payload), e);
        b.done();
      }
    }
    writing = false;
  };

  return {
    file,
    get: (userId, exerciseId, payload) => index.get(keyOf(userId, exerciseId, payload)),
    get size() {
      return index.size;
    },
    get appends() {
      return appends;
    },
    record(entries) {
      if (entries.length === 0) return Promise.resolve();
      const body = entries
        .map((e) => JSON.stringify({ u: e.userId, e: e.exerciseId, p: e.payload, s: e.state, k: e.rawKey, h: e.sha256, b: e.bytes, o: e.utcOffsetMin, ...(e.feedsSamples === undefined ? {} : { f: e.feedsSamples }), t: e.atUtc } satisfies Line))
        .join('\n') + '\n';
      return new Promise<void>((done, failed) => {
        waiting.push({ body, entries, done, failed });
        if (!writing) void writeWaiting();
      });
    },
  };
}
