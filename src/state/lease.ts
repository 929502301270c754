/**
 * A lease on a folder, held by one process at a time, that also works across containers sharing
 * a volume (where every process may be PID 1, so a PID says nothing): proper-lockfile creates a
 * lock directory atomically and the holder refreshes its mtime; a lock not refreshed for
 * `staleMs` belongs to a dead or frozen holder and may be taken over. The holder is told when its
 * lease was lost (it stalled past `staleMs` and someone took over) and must stop at once. On
 * the holder's own host a dead PID frees the lease at once (see tryLease).
 */
import { hostname } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import lockfile from 'proper-lockfile';

export interface LeaseOwner {
  readonly host: string;
  readonly pid: number;
  readonly purpose: string;
  readonly since_utc: string;
}

export interface Lease {
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** The lock directory (`<lockPath>` is created, and `<lockPath>.owner.json` beside it). */
  readonly lockPath: string;
  /** What the holder does, for the message another process gets. */
  readonly purpose: string;
  /** @default 30000 */
  readonly staleMs?: number;
  /** Called when the lease was lost while held. */
  readonly onLost: (error: Error) => void;
}

/** The lease, or null when another live process holds it (with who that is). */
export async function tryLease(folder: string, options: LeaseOptions): Promise<{ lease: Lease } | { heldBy: LeaseOwner | null }> {
  await mkdir(folder, { recursive: true });
  const stale = Math.max(2000, options.staleMs ?? 30_000);
  try {
    const release = await lockfile.lock(folder, {
      lockfilePath: options.lockPath,
      stale,
      update: Math.floor(stale / 3),
      retries: 0,
      realpath: false,
      onCompromised: options.onLost,
    });
    const owner: LeaseOwner = { host: hostname(), pid: process.pid, purpose: options.purpose, since_utc: new Date().toISOString() };
    await writeFile(`${options.lockPath}.owner.json`, JSON.stringify(owner) + '\n');
    return { lease: { release: () => release().catch(() => undefined) } };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    const heldBy = await readFile(`${options.lockPath}.owner.json`, 'utf8').then((t) => JSON.parse(t) as LeaseOwner).catch(() => null);
    // A holder on this same host whose process is gone (a SIGKILL) cannot refresh its lease:
    // take it over now rather than after `staleMs`. On another host (another container) a PID
    // says nothing, and only staleness counts.
    if (heldBy && heldBy.host === hostname() && heldBy.pid !== process.pid && !alive(heldBy.pid)) {
      await rm(options.lockPath, { recursive: true, force: true });
      return tryLease(folder, options);
    }
    return { heldBy };
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
