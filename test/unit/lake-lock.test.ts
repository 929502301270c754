import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createVirtualClock, type VirtualClock } from '../../src/clock.ts';
import { LEASE_FILE, partitionLayout } from '../../src/lake/layout.ts';
import { createPartitionLocker, withPartitionLock, type HeldPartitionLock } from '../../src/lake/lock.ts';
import { readManifest, writeManifest, type Manifest } from '../../src/lake/manifest.ts';

const TTL = 30_000;
let dir: string;
let clock: VirtualClock;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-lock-'));
  clock = createVirtualClock();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A process in its own container: same PID 1 everywhere, its own host name, leases renewed only when the test says so. */
const container = (host: string) => createPartitionLocker({ clock, ttlMs: TTL, host, pid: 1, autoRenew: false });

/** Resolves when `fn` runs holding the lock; `finish` lets it return. */
function hold(locker: ReturnType<typeof container>, lockDir: string, body: (lock: HeldPartitionLock) => Promise<void> | void = () => undefined) {
  let entered!: (lock: HeldPartitionLock) => void;
  let finish!: () => void;
  const inside = new Promise<HeldPartitionLock>((r) => (entered = r));
  const done = locker.withLock(lockDir, async (lock) => {
    entered(lock);
    await new Promise<void>((r) => (finish = r));
    await body(lock);
  });
  return { inside, done, finish: () => finish() };
}

describe('lake > partition lock', () => {
  it('lake > partition lock > serialises holders in one process and leaves no lease behind', async () => {
    const order: string[] = [];
    const slow = withPartitionLock(dir, async () => {
      order.push('a-in');
      await new Promise((r) => setTimeout(r, 30));
      order.push('a-out');
    });
    const fast = withPartitionLock(dir, async () => {
      order.push('b-in');
    });
    await Promise.all([slow, fast]);
    expect(order).toEqual(['a-in', 'a-out', 'b-in']);
    expect(existsSync(join(dir, LEASE_FILE))).toBe(false);
  });

  it('lake > partition lock > two holders with the same PID on different hosts exclude each other', async () => {
    const a = hold(container('container-a'), dir);
    await a.inside;
    const lease = JSON.parse(readFileSync(join(dir, LEASE_FILE), 'utf8'));
    expect(lease).toMatchObject({ host: 'container-a', pid: 1, nonce: expect.stringMatching(/^[0-9a-f]{24}$/), expires_ms: clock.now() + TTL });
    // B waits 20 s of clock time (under the lease's 30 s) and gives up, naming the holder.
    await expect(container('container-b').withLock(dir, async () => 'got it', 20_000)).rejects.toMatchObject({
      code: 'PL_LAKE_LOCK_TIMEOUT',
      message: expect.stringContaining('pid 1 on container-a'),
    });
    a.finish();
    await a.done;
    expect(await container('container-b').withLock(dir, async () => 'got it', 1000)).toBe('got it');
  });

  it('lake > partition lock > a renewed lease is never taken over, however long it is held', async () => {
    const a = hold(container('container-a'), dir);
    const lock = await a.inside;
    const b = container('container-b');
    for (let i = 0; i < 5; i++) {
      clock.advance(TTL / 2);
      lock.renew(); // what A's renewal timer does every third of the lease
      lock.assertHeld();
      await expect(b.withLock(dir, async () => 'got it', 0)).rejects.toMatchObject({ code: 'PL_LAKE_LOCK_TIMEOUT' });
    }
    a.finish();
    await a.done;
  });

  it('lake > partition lock > a dead holder (killed container) is taken over once its lease expires, not before', async () => {
    // What a killed container leaves on the shared volume: a lease by PID 1 on another host, never renewed again.
    writeFileSync(join(dir, LEASE_FILE), JSON.stringify({ host: 'container-a', pid: 1, nonce: 'dead', purpose: 'sink', since_utc: '2026-01-05T08:00:00Z', expires_ms: clock.now() + TTL }));
    const b = container('container-b');
    await expect(b.withLock(dir, async () => 'got it', TTL / 2)).rejects.toMatchObject({ code: 'PL_LAKE_LOCK_TIMEOUT' });
    const started = clock.now();
    // Waiting on the clock: taken over the moment the lease has expired.
    expect(await b.withLock(dir, async () => 'got it', TTL * 2)).toBe('got it');
    expect(clock.now() - started).toBeLessThanOrEqual(TTL / 2 + 25);
  });

  it('lake > partition lock > a dead holder on this host (SIGKILL) is taken over at once', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, LEASE_FILE), JSON.stringify({ host: hostname(), pid: deadPid, nonce: 'dead', purpose: 'sink', since_utc: '2026-01-05T08:00:00Z', expires_ms: clock.now() + TTL }));
    const started = clock.now();
    expect(await createPartitionLocker({ clock, ttlMs: TTL }).withLock(dir, async () => 'got it', 0)).toBe('got it');
    expect(clock.now()).toBe(started);
  });

  it('lake > partition lock > a holder paused past expiry does not commit over the new holder (checked before the commit rename)', async () => {
    const lake = join(dir, 'lake');
    const layout = partitionLayout(lake, 'samples', 'year=2026/month=02');
    mkdirSync(layout.lock, { recursive: true });
    const manifest = (name: string): Manifest => ({ format: 1, table: 'samples', partition: 'year=2026/month=02', generation: 1, files: [{ name, rows: 1, bytes: 1, schema_version: 1, sources: {} }] });

    const a = hold(container('container-a'), layout.lock, (lock) => writeManifest(layout, manifest('part-from-a.parquet'), lock));
    await a.inside;
    // A stalls (a paused container) past its lease; B takes the partition over and commits.
    clock.advance(TTL + 1);
    await container('container-b').withLock(layout.lock, async (lock) => writeManifest(layout, manifest('part-from-b.parquet'), lock), 0);
    // A wakes up and reaches its commit: refused, B's commit stands.
    a.finish();
    await expect(a.done).rejects.toMatchObject({ code: 'PL_LAKE_LOCK_LOST' });
    expect(readManifest(layout, 'samples', 'year=2026/month=02').files.map((f) => f.name)).toEqual(['part-from-b.parquet']);
  });

  it('lake > partition lock > a holder paused past expiry does not commit even when nobody took over yet', async () => {
    const lake = join(dir, 'lake');
    const layout = partitionLayout(lake, 'samples', 'year=2026/month=02');
    const committed = container('container-a').withLock(layout.lock, async (lock) => {
      clock.advance(TTL);
      await writeManifest(layout, { format: 1, table: 'samples', partition: 'year=2026/month=02', generation: 1, files: [] }, lock);
    });
    await expect(committed).rejects.toMatchObject({ code: 'PL_LAKE_LOCK_LOST' });
    expect(existsSync(layout.manifest)).toBe(false);
  });
});
