/**
 * One lock per (table, partition), shared by the sink, compaction and replay, in-process and
 * across processes and containers on a shared volume: a lease (src/state/lease.ts) in the
 * partition's lock folder (src/lake/layout.ts), held by host + pid + nonce, renewed while held
 * and taken over only once expired (or at once when its holder was a dead process on this
 * host), so a crash never wedges a partition and a PID 1 in another container means nothing.
 *
 * The holder proves it still holds the lease just before it commits (`assertHeld` in
 * writeManifest): a holder that stalled past expiry, whose partition another took over, stops
 * with PL_LAKE_LOCK_LOST instead of committing over the new holder's work.
 */
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock.ts';
import { PolarLakeError } from '../errors.ts';
import { LeaseLostError, tryLease, type LeaseOwner } from '../state/lease.ts';
import { diskCauseOf } from './disk-cause.ts';
import { LEASE_FILE } from './layout.ts';
import { ParquetWriteError } from './parquet-writer.ts';

export class PartitionLockTimeoutError extends PolarLakeError {
  readonly code = 'PL_LAKE_LOCK_TIMEOUT';
  readonly kind = 'transient';
  constructor(readonly dir: string, readonly waited_ms: number, readonly heldBy: LeaseOwner | null = null) {
    super(`partition ${dir} stayed locked for ${waited_ms} ms` + (heldBy ? ` (by ${heldBy.purpose}, pid ${heldBy.pid} on ${heldBy.host})` : ''));
  }
}

export class PartitionLockLostError extends PolarLakeError {
  readonly code = 'PL_LAKE_LOCK_LOST';
  readonly kind = 'transient';
  constructor(readonly dir: string, options: { cause: unknown }) {
    super(`lost the partition lock ${dir} before committing (this process stalled past the lease and another holder took over): nothing committed`, options);
  }
}

/** The lock, as its holder sees it while holding it. */
export interface HeldPartitionLock {
  /** Throws PL_LAKE_LOCK_LOST unless the lease is still this holder's: called just before a commit's rename. */
  assertHeld(): void;
  /** Extends the lease (a timer does it every third of the lease unless autoRenew is off). */
  renew(): void;
}

export interface PartitionLockerOptions {
  /** @default systemClock */
  readonly clock?: Clock;
  /** Lease time to live. @default POLAR_LAKE_LEASE_STALE_MS or 30000 */
  readonly ttlMs?: number;
  /** The holder's identity (tests: two "containers" with the same PID). @default this host and process */
  readonly host?: string;
  readonly pid?: number;
  /** Renew on a timer while held (tests renew through the clock by hand). @default true */
  readonly autoRenew?: boolean;
}

export interface PartitionLocker {
  /**
   * Runs `fn` holding the partition lock of the lock folder `dir` (created if missing). A disk
   * failure on the way (the lease, a manifest, a Parquet file on a full or read-only disk)
   * comes out as PL_LAKE_WRITE_FAILED naming its cause, never as a bare fs error.
   */
  withLock<T>(dir: string, fn: (lock: HeldPartitionLock) => Promise<T>, timeoutMs?: number): Promise<T>;
}

/** Holders in one process (one locker) queue in memory; the lease orders them against other processes. */
export function createPartitionLocker(options: PartitionLockerOptions = {}): PartitionLocker {
  const clock = options.clock ?? systemClock;
  const local = new Map<string, Promise<void>>();

  async function locked<T>(dir: string, fn: (lock: HeldPartitionLock) => Promise<T>, timeoutMs: number): Promise<T> {
    const previous = local.get(dir) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    local.set(dir, tail);
    await previous;
    try {
      const started = clock.now();
      const ttl = options.ttlMs ?? (Number(process.env['POLAR_LAKE_LEASE_STALE_MS']) || 30_000);
      for (;;) {
        const got = await tryLease(dir, {
          lockPath: join(dir, LEASE_FILE),
          purpose: `partition lock (pid ${process.pid})`,
          staleMs: ttl,
          clock,
          autoRenew: options.autoRenew ?? true,
          ...(options.host ? { host: options.host } : {}),
          ...(options.pid ? { pid: options.pid } : {}),
          // A lost lease is found by assertHeld before the commit: nothing to do here.
          onLost: () => undefined,
        });
        if ('lease' in got) {
          const held: HeldPartitionLock = {
            assertHeld() {
              try {
                got.lease.assertHeld();
              } catch (cause) {
                if (cause instanceof LeaseLostError) throw new PartitionLockLostError(dir, { cause });
                throw cause;
              }
            },
            renew: () => got.lease.renew(),
          };
          try {
            return await fn(held);
          } finally {
            await got.lease.release();
          }
        }
        const waited = clock.now() - started;
        if (waited > timeoutMs) throw new PartitionLockTimeoutError(dir, waited, got.heldBy);
        await clock.sleep(25);
      }
    } finally {
      release();
      if (local.get(dir) === tail) local.delete(dir);
    }
  }

  return {
    async withLock(dir, fn, timeoutMs = 120_000) {
      try {
        return await locked(dir, fn, timeoutMs);
      } catch (error) {
        if (error instanceof PolarLakeError || !diskCauseOf(error)) throw error;
        throw new ParquetWriteError(`cannot write in partition ${dir}: ${disk(error)}: ${(error as Error).message}`, dir, { cause: error });
      }
    },
  };
}

function disk(error: unknown): string {
  const cause = diskCauseOf(error)!;
  return `${cause.what} (${cause.errno})`;
}

const processLocker = createPartitionLocker();

/** The process's partition locks (createPartitionLocker with the defaults). */
export function withPartitionLock<T>(dir: string, fn: (lock: HeldPartitionLock) => Promise<T>, timeoutMs?: number): Promise<T> {
  return processLocker.withLock(dir, fn, timeoutMs);
}
