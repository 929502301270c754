import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockStateFolder } from '../../src/state/state-lock.ts';
import { createLogger } from '../../src/telemetry/log.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-state-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const quiet = createLogger({ level: 'silent' });
const fail = (e: Error) => {
  throw e;
};

describe('state > one owner per folder', () => {
  it('state > a second owner gets PL_STATE_LOCKED naming the holder; after release it may take it', async () => {
    const first = await lockStateFolder(dir, { purpose: 'run --stage fetch', logger: quiet, onLost: fail });
    await expect(lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail })).rejects.toMatchObject({
      code: 'PL_STATE_LOCKED',
      message: expect.stringMatching(new RegExp(`run --stage fetch, pid ${process.pid}`)),
    });
    await first.release();
    const second = await lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail });
    await second.release();
  });

  it('state > a lease nobody renews (a dead container whose process was PID 1) is taken over once expired', async () => {
    // What a killed container leaves on a shared volume: a lease by PID 1 on another host, expired.
    writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ host: 'container-a', pid: 1, nonce: 'dead', purpose: 'run', since_utc: '2026-01-01T00:00:00Z', expires_ms: Date.now() - 1 }));
    const lease = await lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail, staleMs: 10_000 });
    await lease.release();
  });

  it('state > a lock directory left by an earlier version (proper-lockfile), not refreshed for a lease, is taken over', async () => {
    mkdirSync(join(dir, 'owner.lock'));
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'owner.lock'), past, past);
    const lease = await lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail, staleMs: 10_000 });
    await lease.release();
  });

  it('state > a lease whose holder on this host is dead (SIGKILL) is taken over at once, fresh as it is', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ host: hostname(), pid: deadPid, nonce: 'dead', purpose: 'run', since_utc: '2026-01-01T00:00:00Z', expires_ms: Date.now() + 3_600_000 }));
    const lease = await lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail, staleMs: 60_000 });
    await lease.release();
  });

  it('state > a live lease is not taken over, even by a process that sees PID 1 alive', async () => {
    const held = await lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail, staleMs: 10_000 });
    // The same lease as another container's PID 1 would hold it.
    const lease = JSON.parse(readFileSync(join(dir, 'owner.lock'), 'utf8'));
    writeFileSync(join(dir, 'owner.lock'), JSON.stringify({ ...lease, host: 'container-b', pid: 1 }));
    await expect(lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail, staleMs: 10_000 })).rejects.toMatchObject({
      code: 'PL_STATE_LOCKED',
      message: expect.stringContaining('pid 1 on container-b'),
    });
    await held.release();
  });

  it('state > a standby waits and takes the lease when the holder lets go', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', write: (l) => lines.push(l) });
    const held = await lockStateFolder(dir, { purpose: 'run --stage fetch', logger: quiet, onLost: fail });
    let acquired = false;
    const standby = lockStateFolder(dir, { purpose: 'run --stage fetch', logger, onLost: fail, standby: true, retryMs: 20 }).then((l) => {
      acquired = true;
      return l;
    });
    for (let i = 0; i < 200 && !lines.some((l) => l.includes('state.lease.standby')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(lines.some((l) => l.includes('state.lease.standby'))).toBe(true);
    expect(acquired).toBe(false);
    await held.release();
    const lease = await standby;
    expect(lines.some((l) => l.includes('state.lease.acquired'))).toBe(true);
    await lease.release();
  });

  it('state > a standby stops waiting when asked to stop', async () => {
    const held = await lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail });
    const controller = new AbortController();
    const waiting = lockStateFolder(dir, { purpose: 'run', logger: quiet, onLost: fail, standby: true, retryMs: 20, signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toThrow();
    await held.release();
  });
});
