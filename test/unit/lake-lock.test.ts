import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withPartitionLock } from '../../src/lake/lock.ts';

describe('lake > partition lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polar-lake-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lake > partition lock > serialises holders in one process', async () => {
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
    expect(existsSync(join(dir, '_lock'))).toBe(false);
  });

  it('lake > partition lock > waits for a live process and takes over a dead one', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      writeFileSync(join(dir, '_lock'), String(child.pid));
      await expect(withPartitionLock(dir, async () => 'got it', 200)).rejects.toMatchObject({ code: 'PL_LAKE_LOCK_TIMEOUT' });
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // The owner is dead now: its lock is stale.
    expect(await withPartitionLock(dir, async () => 'got it', 2000)).toBe('got it');
  });
});
