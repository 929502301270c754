/**
 * A lease on a folder (the state folder, a lake partition), held by one holder at a time, that
 * also works across containers sharing a volume, where every process may be PID 1 and a PID
 * says nothing. One lease file holds the holder (host, pid, a random nonce: the holder's id)
 * and when the lease expires, on the holder's clock. The holder renews it while held (every
 * third of its time to live); anyone may take it over once it has expired, never before.
 *
 * - Taking a free lease is atomic: the content is written to a file of the holder's own and
 *   hard-linked to the lease path (link fails when the path exists; it works on NFS too).
 * - Taking over an expired lease renames it aside first (only one contender can), and puts it
 *   back when it turns out to have been renewed meanwhile.
 * - A holder that stalled past its expiry (a paused container, a frozen VM) has lost the lease
 *   even if nobody took it yet: it neither renews it nor commits. `assertHeld()`, called just
 *   before a commit's rename, checks the expiry on the holder's clock and that the lease file
 *   still names its nonce; `onLost` tells a holder whose renewal found the lease gone.
 *
 * On the holder's own host a dead PID frees the lease at once (a SIGKILLed run does not block
 * the next one for a whole time to live). Time comes from an injected Clock (src/clock.ts), so
 * tests drive expiry. Limits: docs/lake.md ("Partition locks").
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../clock.ts';

export interface LeaseOwner {
  readonly host: string;
  readonly pid: number;
  readonly purpose: string;
  readonly since_utc: string;
}

/** What the lease file holds. */
export interface LeaseRecord extends LeaseOwner {
  readonly nonce: string;
  /** Epoch ms on the holder's clock after which the lease is free. */
  readonly expires_ms: number;
}

export interface Lease {
  readonly holder: LeaseRecord;
  /** Extends the lease by its time to live; reports a loss (onLost) instead when it was lost. */
  renew(): void;
  /** Throws LeaseLostError unless the lease is still this holder's and not expired. */
  assertHeld(): void;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** The lease file. */
  readonly lockPath: string;
  /** What the holder does, for the message another process gets. */
  readonly purpose: string;
  /** Time to live: a lease not renewed for this long is free. @default 30000 */
  readonly staleMs?: number;
  /** Called when the lease was lost while held (found by a renewal). */
  readonly onLost: (error: Error) => void;
  /** @default systemClock */
  readonly clock?: Pick<Clock, 'now'>;
  /** Renew on a timer every staleMs / 3 (tests renew by hand). @default true */
  readonly autoRenew?: boolean;
  /** The holder's identity; tests give two holders the same PID on different hosts. @default this host and process */
  readonly host?: string;
  readonly pid?: number;
}

export class LeaseLostError extends Error {
  constructor(readonly lockPath: string, reason: string) {
    super(`lost the lease ${lockPath}: ${reason}`);
  }
}

/** The lease, or null when another live holder has it (with who that is). */
export async function tryLease(folder: string, options: LeaseOptions): Promise<{ lease: Lease } | { heldBy: LeaseOwner | null }> {
  mkdirSync(folder, { recursive: true });
  mkdirSync(dirname(options.lockPath), { recursive: true });
  const clock = options.clock ?? systemClock;
  const ttl = options.staleMs ?? 30_000;
  const me = { host: options.host ?? hostname(), pid: options.pid ?? process.pid, nonce: randomBytes(12).toString('hex') };
  const path = options.lockPath;
  const own = `${path}.${me.nonce}`;
  const since = new Date(clock.now()).toISOString();
  const record = (): LeaseRecord => ({ ...me, purpose: options.purpose, since_utc: since, expires_ms: clock.now() + ttl });

  for (let attempt = 0; attempt < 5; attempt++) {
    const holder = record();
    writeFileSync(own, JSON.stringify(holder) + '\n');
    try {
      linkSync(own, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const current = readLease(path);
      if (current === 'gone') continue;
      if (current !== 'legacy' && current !== 'corrupt' && !freeFor(current, me, clock)) return { heldBy: current };
      if (current === 'legacy' && !legacyExpired(path, ttl, clock)) return { heldBy: null };
      evict(path, current, `${path}.evict-${me.nonce}`);
      continue;
    } finally {
      rmSync(own, { force: true });
    }
    return { lease: holdLease(path, holder, ttl, clock, options) };
  }
  return { heldBy: null };
}

function holdLease(path: string, first: LeaseRecord, ttl: number, clock: Pick<Clock, 'now'>, options: LeaseOptions): Lease {
  let holder = first;
  let lost: LeaseLostError | null = null;
  let released = false;
  const check = (): void => {
    if (lost) throw lost;
    let reason: string | null = null;
    if (clock.now() >= holder.expires_ms) reason = `it expired at ${new Date(holder.expires_ms).toISOString()} before this holder renewed it (stalled)`;
    else {
      const current = readLease(path);
      if (typeof current === 'string' || current.nonce !== holder.nonce) reason = 'another holder took it over';
    }
    if (reason) {
      lost = new LeaseLostError(path, reason);
      if (timer) clearInterval(timer);
      throw lost;
    }
  };
  const lease: Lease = {
    get holder() {
      return holder;
    },
    renew() {
      if (released || lost) return;
      try {
        check();
        // Checked and renewed back to back, without yielding: a renewal never revives a lease another holder took.
        const next = { ...holder, expires_ms: clock.now() + ttl };
        const own = `${path}.${holder.nonce}`;
        writeFileSync(own, JSON.stringify(next) + '\n');
        renameSync(own, path);
        holder = next;
      } catch (error) {
        if (error instanceof LeaseLostError) options.onLost(error);
        // Any other failure (a full disk) is retried at the next renewal; expiry decides.
      }
    },
    assertHeld: check,
    async release() {
      if (released) return;
      released = true;
      if (timer) clearInterval(timer);
      if (lost) return;
      const current = readLease(path);
      if (typeof current !== 'string' && current.nonce === holder.nonce) evict(path, current, `${path}.release-${holder.nonce}`);
    },
  };
  const timer = options.autoRenew === false ? null : setInterval(() => lease.renew(), Math.max(10, Math.floor(ttl / 3)));
  timer?.unref();
  return lease;
}

/** Whether `current` may be taken: expired on this clock, or held by a dead process on this host. */
function freeFor(current: LeaseRecord, me: { host: string; pid: number }, clock: Pick<Clock, 'now'>): boolean {
  if (clock.now() >= current.expires_ms) return true;
  return current.host === me.host && current.pid !== me.pid && !alive(current.pid);
}

/**
 * Removes the lease `observed` at `path`: renamed aside (one contender wins), then dropped if it
 * is still what was observed, or put back if it changed meanwhile (renewed, or a new holder).
 */
function evict(path: string, observed: LeaseRecord | 'legacy' | 'corrupt', aside: string): void {
  if (observed === 'legacy') {
    rmSync(path, { recursive: true, force: true });
    return;
  }
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another contender was first
    throw error;
  }
  const moved = readLease(aside);
  const same = observed === 'corrupt' ? moved === 'corrupt' : typeof moved !== 'string' && moved.nonce === observed.nonce && moved.expires_ms === observed.expires_ms;
  if (!same) {
    try {
      linkSync(aside, path);
    } catch {
      // someone took the free path meanwhile: the restored holder learns it at its next check
    }
  }
  unlinkSync(aside);
}

/**
 * The lease at `path`: 'gone' when there is none, 'legacy' for a lock directory left by the
 * proper-lockfile lease of earlier versions, 'corrupt' when unreadable.
 */
function readLease(path: string): LeaseRecord | 'gone' | 'legacy' | 'corrupt' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'gone';
    if (code === 'EISDIR') return 'legacy';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as LeaseRecord;
    return typeof parsed.nonce === 'string' && typeof parsed.expires_ms === 'number' ? parsed : 'corrupt';
  } catch {
    return 'corrupt';
  }
}

/** An earlier version's lock directory is refreshed through its mtime: expired when not touched for a time to live. */
function legacyExpired(path: string, ttl: number, clock: Pick<Clock, 'now'>): boolean {
  try {
    return statSync(path).mtimeMs + ttl <= clock.now();
  } catch {
    return true;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
