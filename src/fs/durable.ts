/**
 * Durable file writes: the one module that knows the order a crash-safe write needs. Every
 * file polar-lake must not lose or tear (raw objects, Parquet files, manifests, staging
 * records, users, offsets, the ledger...) is written through here.
 *
 * - Replace a whole file: write a temporary beside it, fsync it, rename it over the target,
 *   fsync the folder. A reader, or a restart after a crash, sees the old file or the new one.
 * - Place a file another writer produced (DuckDB's COPY, a gzip stream): fsync it, rename it,
 *   fsync the folder(s). A rename is durable only once the folder holding the name is synced.
 * - Append a record: write, fsync; the first append also syncs the folder (the new name).
 * - Create a file only if absent, whole or not at all (a key that must never be replaced).
 *
 * A crash point (src/crash-points.ts) can be passed: it is reached after the data is synced
 * and before the rename, the moment the crash suite kills at.
 *
 * Failures are typed: DurableWriteError names the step, the path and the disk's cause
 * (src/lake/disk-cause.ts), or the caller's `error` turns the OS error into its own typed
 * error (the raw zone's PL_RAW_*, the lake's PL_LAKE_WRITE_FAILED) so codes stay as documented.
 *
 * Why not write-file-atomic: it covers only the first case, and without the folder fsync; its
 * temporaries are named in a way the raw zone's sweep of dead writers' leftovers does not
 * recognise; it cannot place a file DuckDB wrote, has no hook for crash points, no append.
 * What is needed is a handful of node:fs calls in a fixed order, kept here.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PolarLakeError, errorMessage, type ErrorKind } from '../errors.ts';
import { crashPoint, type CrashPointName } from '../crash-points.ts';
import { diskCauseOf, type DiskCauseCode } from '../lake/disk-cause.ts';

export type DurableStep = 'write' | 'fsync' | 'rename' | 'fsync folder' | 'append' | 'create';

export type DurableWriteCode = 'PL_FS_WRITE_FAILED' | 'PL_FS_DISK_FULL' | 'PL_FS_READ_ONLY' | 'PL_FS_PERMISSION_DENIED';

const BY_CAUSE: Readonly<Record<DiskCauseCode, readonly [DurableWriteCode, ErrorKind]>> = {
  ENOSPC: ['PL_FS_DISK_FULL', 'transient'],
  EROFS: ['PL_FS_READ_ONLY', 'config'],
  EACCES: ['PL_FS_PERMISSION_DENIED', 'config'],
};

/** A file could not be written durably; nothing half-written is left under its name. */
export class DurableWriteError extends PolarLakeError {
  readonly code: DurableWriteCode;
  readonly kind: ErrorKind;
  /** ENOSPC, EROFS or EACCES when the disk said so. */
  readonly errno: DiskCauseCode | undefined;
  constructor(
    readonly path: string,
    readonly step: DurableStep,
    options: { cause: unknown },
  ) {
    const disk = diskCauseOf(options.cause);
    super(`cannot ${step} ${path}${disk ? `: ${disk.what} (${disk.errno})` : ''}: ${errorMessage(options.cause)}`, options);
    this.errno = disk?.errno;
    [this.code, this.kind] = disk ? BY_CAUSE[disk.errno] : ['PL_FS_WRITE_FAILED', 'transient'];
  }
}

export interface DurableOptions {
  /** Reached once the data is synced, before the rename (see src/crash-points.ts). */
  readonly crashPoint?: CrashPointName;
  /**
   * Called right before the rename (after the crash point): a commit that may only happen
   * while a condition still holds (a partition lease) checks it here; throwing cancels the
   * rename and leaves the target as it was.
   */
  readonly beforeRename?: () => void;
  /**
   * For renameDurable: when `from` sits on another file system than `to` (EXDEV: the target
   * folder is a mount of its own), copy it here first (a temporary on the target's file
   * system), then rename that. `from` is left for its owner to remove.
   */
  readonly acrossFileSystemsVia?: string;
  /**
   * The caller's typed error for a failure (`cause` is the OS error). Errors that are already
   * a PolarLakeError pass through. @default a DurableWriteError
   */
  readonly error?: (cause: unknown, path: string, step: DurableStep) => Error;
}

export interface WriteOptions extends DurableOptions {
  /** Permission bits of a new file (the umask applies). @default 0o600: private unless asked */
  readonly mode?: number;
  /**
   * The temporary to write first. Given, it is overwritten if a crash left it (callers whose
   * sweeps know that name; two writers must not share it), and may sit in another folder of
   * the same file system (both folders are synced). By default a unique name beside the
   * target (`tempPathFor`).
   */
  readonly tempPath?: string;
}

const TMP_MARK = '.tmp-';

/** Tells this process's temporaries from an earlier one's with the same pid (a container's process is pid 1 on every start). */
const PROCESS_NONCE = randomBytes(4).toString('hex');

/** A unique temporary beside `path`: `<path>.tmp-<pid>-<process nonce><random>`. */
export function tempPathFor(path: string): string {
  return `${path}${TMP_MARK}${process.pid}-${PROCESS_NONCE}${randomBytes(6).toString('hex')}`;
}

/** Whether a file name is a temporary `tempPathFor` made (listings skip them). */
export function isTemporaryName(name: string): boolean {
  return name.includes(TMP_MARK);
}

/**
 * A temporary whose writer is gone: its pid is not a live process, or it is this pid from an
 * earlier process (another nonce), or it has no pid (an older naming). A live writer's, another
 * process's included, is not stale.
 */
export function isStaleTemporary(name: string): boolean {
  const at = name.lastIndexOf(TMP_MARK);
  if (at < 0) return false;
  const owner = /^(\d+)-([0-9a-f]{8})[0-9a-f]+$/.exec(name.slice(at + TMP_MARK.length));
  if (!owner) return true;
  const pid = Number(owner[1]);
  if (pid === process.pid) return owner[2] !== PROCESS_NONCE;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'EPERM';
  }
}

/** Runs one step; its failure becomes the caller's typed error (or a DurableWriteError). */
async function step<T>(path: string, name: DurableStep, options: DurableOptions, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof PolarLakeError) throw cause;
    throw options.error ? options.error(cause, path, name) : new DurableWriteError(path, name, { cause });
  }
}

async function syncAndClose(handle: FileHandle): Promise<void> {
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a new file (`flag` w or wx) and fsyncs it. */
async function writeSynced(path: string, data: string | Uint8Array, flag: 'w' | 'wx', mode = 0o600): Promise<void> {
  const handle = await open(path, flag, mode);
  try {
    await handle.writeFile(data);
  } catch (error) {
    await handle.close();
    throw error;
  }
  await syncAndClose(handle);
}

async function syncFolderNow(dir: string): Promise<void> {
  await syncAndClose(await open(dir, 'r'));
}

/** Fsyncs a folder, so the names created, renamed or removed in it survive a crash. */
export async function syncFolder(dir: string, options: DurableOptions = {}): Promise<void> {
  await step(dir, 'fsync folder', options, () => syncFolderNow(dir));
}

/**
 * Puts an already written file `from` in place at `to`: fsync it, reach the crash point,
 * rename, fsync the folder of `to` (and of `from` when it is another). On failure `from` is
 * left as it was: the caller that wrote it removes it or its sweep does.
 */
export async function renameDurable(from: string, to: string, options: DurableOptions = {}): Promise<void> {
  await step(from, 'fsync', options, async () => syncAndClose(await open(from, 'r')));
  if (options.crashPoint) crashPoint(options.crashPoint);
  options.beforeRename?.();
  const moved = await step(to, 'rename', options, () =>
    rename(from, to).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV' || !options.acrossFileSystemsVia) throw error;
        return false;
      },
    ),
  );
  if (!moved) {
    const via = options.acrossFileSystemsVia as string;
    await step(via, 'write', options, () => copyFile(from, via));
    await renameDurable(via, to, options.error ? { error: options.error } : {});
    return;
  }
  await syncFolder(dirname(to), options);
  if (dirname(from) !== dirname(to)) await syncFolder(dirname(from), options);
}

/**
 * Replaces `path` with `data`, whole: temporary, fsync, rename, folder fsync. On failure the
 * old file is intact and the temporary is gone. Concurrent writers each leave a whole file
 * (the last rename wins).
 */
export async function writeFileDurable(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  const tmp = options.tempPath ?? tempPathFor(path);
  try {
    await step(tmp, 'write', options, () => writeSynced(tmp, data, options.tempPath ? 'w' : 'wx', options.mode));
    if (options.crashPoint) crashPoint(options.crashPoint);
    options.beforeRename?.();
    await step(path, 'rename', options, () => rename(tmp, path));
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncFolder(dirname(path), options);
  if (dirname(tmp) !== dirname(path)) await syncFolder(dirname(tmp), options);
}

/**
 * Appends `data` and fsyncs it: once this resolves the bytes survive a crash. A file that was
 * empty (just created) also has its folder synced. Appends are not atomic against a crash: a
 * reader of an append-only log must skip a torn last record.
 */
export async function appendDurable(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  const created = await step(path, 'append', options, async () => {
    const handle = await open(path, 'a', options.mode ?? 0o600);
    let empty: boolean;
    try {
      empty = (await handle.stat()).size === 0;
      await handle.appendFile(data);
    } catch (error) {
      await handle.close();
      throw error;
    }
    await syncAndClose(handle);
    return empty;
  });
  if (created) await syncFolder(dirname(path), options);
}

/**
 * Creates `path` holding `data` unless it exists: written and synced as a temporary, then
 * linked to its name (which fails if the name exists), so the file appears whole or not at
 * all and is never replaced. Resolves false when `path` already existed.
 */
export async function createFileDurable(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<boolean> {
  const tmp = tempPathFor(path);
  let created = true;
  try {
    await step(tmp, 'write', options, () => writeSynced(tmp, data, 'wx', options.mode));
    await step(path, 'create', options, () =>
      link(tmp, path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
        created = false;
      }),
    );
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  if (created) await syncFolder(dirname(path), options);
  return created;
}
