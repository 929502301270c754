/**
 * One lock per (table, partition), shared by the sink and compaction, in-process and across
 * processes: a `_lock` file (in the partition's lock folder, src/lake/layout.ts) created with
 * O_EXCL holding the owner's pid. A lock whose owner
 * is dead (a crash) is taken over, so a crash never wedges a partition.
 */
import { openSync, closeSync, readFileSync, unlinkSync, writeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PolarLakeError } from '../errors.ts';
import { diskCauseOf } from './disk-cause.ts';
import { ParquetWriteError } from './parquet-writer.ts';
import { LOCK_FILE } from './layout.ts';

export class PartitionLockTimeoutError extends PolarLakeError {
  readonly code = 'PL_LAKE_LOCK_TIMEOUT';
  readonly kind = 'transient';
  constructor(readonly dir: string, readonly waited_ms: number) {
    super(`partition ${dir} stayed locked for ${waited_ms} ms`);
  }
}

const local = new Map<string, Promise<void>>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes a lock file whose owner process is dead (left by a crash); true when removed. */
export function removeStaleLock(file: string): boolean {
  let owner = NaN;
  try {
    owner = Number(readFileSync(file, 'utf8'));
  } catch {
    return false; // no lock there
  }
  if (owner === process.pid || (Number.isInteger(owner) && alive(owner))) return false;
  try {
    unlinkSync(file);
    return true;
  } catch {
    return false; // someone else removed it first
  }
}

function tryAcquire(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    try {
      writeSync(fd, String(process.pid));
    } catch (error) {
      // A full disk fails the write after the create: an ownerless lock would wedge the partition.
      closeSync(fd);
      unlinkSync(file);
      throw error;
    }
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    let owner = NaN;
    try {
      owner = Number(readFileSync(file, 'utf8'));
    } catch {
      return false; // released meanwhile: try again
    }
    if (Number.isInteger(owner) && owner !== process.pid && !alive(owner)) {
      try {
        unlinkSync(file);
      } catch {
        // someone else took it over first
      }
    }
    return false;
  }
}

/**
 * Runs `fn` holding the partition lock of `dir` (created if missing). A disk failure on the
 * way (the lock file, a manifest, a Parquet file on a full or read-only disk) comes out as
 * PL_LAKE_WRITE_FAILED naming its cause, never as a bare fs error.
 */
export async function withPartitionLock<T>(dir: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  try {
    return await lockedPartition(dir, fn, timeoutMs);
  } catch (error) {
    if (error instanceof PolarLakeError || !diskCauseOf(error)) throw error;
    throw new ParquetWriteError(`cannot write in partition ${dir}: ${disk(error)}: ${(error as Error).message}`, dir, { cause: error });
  }
}

function disk(error: unknown): string {
  const cause = diskCauseOf(error)!;
  return `${cause.what} (${cause.errno})`;
}

async function lockedPartition<T>(dir: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  mkdirSync(dir, { recursive: true });
  // In-process queue first: the lock file only says which process owns the partition.
  const previous = local.get(dir) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const tail = previous.then(() => mine);
  local.set(dir, tail);
  await previous;
  const file = join(dir, LOCK_FILE);
  const started = Date.now();
  try {
    while (!tryAcquire(file)) {
      if (Date.now() - started > timeoutMs) throw new PartitionLockTimeoutError(dir, Date.now() - started);
      await sleep(25);
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(file);
      } catch {
        // already gone: nothing to release
      }
    }
  } finally {
    release();
    if (local.get(dir) === tail) local.delete(dir);
  }
}
