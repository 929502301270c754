import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Faults the file system cannot be made to produce on demand (a failing fsync, a rename
 * refused after the write succeeded) are injected here; everything else is the real node:fs.
 * `events` records the order of the durability steps, crash points included.
 */
const faults = vi.hoisted(() => ({
  rename: null as NodeJS.ErrnoException | null,
  sync: null as NodeJS.ErrnoException | null,
  events: [] as string[],
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: async (...args: Parameters<typeof real.open>) => {
      const handle = await real.open(...args);
      const path = String(args[0]);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        faults.events.push(`sync ${path}`);
        if (faults.sync) throw faults.sync;
        return sync();
      };
      return handle;
    },
    rename: async (from: string, to: string) => {
      faults.events.push(`rename ${to}`);
      if (faults.rename) throw faults.rename;
      return real.rename(from, to);
    },
  };
});

vi.mock('../../src/crash-points.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/crash-points.ts')>()),
  crashPoint: (name: string) => faults.events.push(`crash ${name}`),
}));

const { appendDurable, createFileDurable, DurableWriteError, isStaleTemporary, renameDurable, syncFolder, tempPathFor, writeFileDurable } = await import('../../src/fs/durable.ts');
const { PolarLakeError } = await import('../../src/errors.ts');

const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${message}`), { code });

class CallerError extends PolarLakeError {
  readonly code = 'PL_TEST_CALLER';
  readonly kind = 'transient';
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'polar-lake-durable-'));
  faults.rename = null;
  faults.sync = null;
  faults.events = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = () => readdirSync(dir).sort();

describe('fs > durable: writeFileDurable', () => {
  it('replaces a file whole: temporary synced, renamed, folder synced; private by default; no temporary left', async () => {
    const path = join(dir, 'users.json');
    writeFileSync(path, 'v1');
    await writeFileDurable(path, 'v2');
    expect(readFileSync(path, 'utf8')).toBe('v2');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(files()).toEqual(['users.json']);
    expect(faults.events).toEqual([expect.stringMatching(/^sync .*users\.json\.tmp-\d+-[0-9a-f]+$/), `rename ${path}`, `sync ${dir}`]);
  });

  it('a rename that fails leaves the old file intact and no temporary behind, and names the step and path', async () => {
    const path = join(dir, 'offsets.json');
    writeFileSync(path, 'old');
    faults.rename = errno('EIO', 'i/o error, rename');
    const error = await writeFileDurable(path, 'new').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DurableWriteError);
    expect(error).toMatchObject({ code: 'PL_FS_WRITE_FAILED', kind: 'transient', step: 'rename', path });
    expect((error as Error).message).toBe(`cannot rename ${path}: EIO: i/o error, rename`);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(files()).toEqual(['offsets.json']);
  });

  it.each([
    ['ENOSPC', 'PL_FS_DISK_FULL', 'transient', 'disk full (ENOSPC)'],
    ['EDQUOT', 'PL_FS_DISK_FULL', 'transient', 'disk full (quota) (ENOSPC)'],
    ['EROFS', 'PL_FS_READ_ONLY', 'config', 'read-only file system (EROFS)'],
    ['EACCES', 'PL_FS_PERMISSION_DENIED', 'config', 'permission denied (EACCES)'],
    ['EPERM', 'PL_FS_PERMISSION_DENIED', 'config', 'permission denied (EACCES)'],
    ['EIO', 'PL_FS_WRITE_FAILED', 'transient', 'EIO'],
  ])('a failing fsync (%s) is %s (%s), the disk cause in the message; the old file stays', async (code, plCode, kind, words) => {
    const path = join(dir, 'state.json');
    writeFileSync(path, 'old');
    faults.sync = errno(code, 'from fsync');
    const error = await writeFileDurable(path, 'new').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: plCode, kind, step: 'write' });
    expect((error as Error).message).toContain(words);
    expect((error as Error).cause).toBe(faults.sync);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(files()).toEqual(['state.json']);
  });

  it("a failure becomes the caller's typed error when it gives one, with the OS error as cause", async () => {
    faults.sync = errno('ENOSPC', 'no space left on device');
    const error = await writeFileDurable(join(dir, 'm.json'), 'x', { error: (cause, path, step) => new CallerError(`${step} ${path}`, { cause }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallerError);
    expect((error as Error).message).toMatch(/^write .*m\.json\.tmp-\d+-[0-9a-f]+$/);
    expect((error as Error).cause).toBe(faults.sync);
  });

  it('concurrent writers to the same path each leave a whole file (the last rename wins) and no temporary', async () => {
    const path = join(dir, 'contended.json');
    const bodies = Array.from({ length: 16 }, (_, i) => String.fromCharCode(97 + i).repeat(256 * 1024 + i));
    await Promise.all(bodies.map((body) => writeFileDurable(path, body)));
    expect(bodies).toContain(readFileSync(path, 'utf8'));
    expect(files()).toEqual(['contended.json']);
  });

  it('writes through a temporary the caller names (its sweep knows it), overwriting one a crash left', async () => {
    const path = join(dir, '_manifest.json');
    writeFileSync(`${path}.tmp`, 'left by a crash');
    await writeFileDurable(path, '{"generation":2}', { tempPath: `${path}.tmp`, mode: 0o644 });
    expect(readFileSync(path, 'utf8')).toBe('{"generation":2}');
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(files()).toEqual(['_manifest.json']);
  });

  it('a temporary in another folder (a metadata folder) is renamed across, and both folders are synced', async () => {
    mkdirSync(join(dir, 'meta'));
    mkdirSync(join(dir, 'table'));
    const path = join(dir, 'table', '_manifest.json');
    await writeFileDurable(path, '{}', { tempPath: join(dir, 'meta', 'manifest.tmp') });
    expect(readFileSync(path, 'utf8')).toBe('{}');
    expect(readdirSync(join(dir, 'meta'))).toEqual([]);
    expect(faults.events.slice(-2)).toEqual([`sync ${join(dir, 'table')}`, `sync ${join(dir, 'meta')}`]);
  });

  it('reaches the crash point after the data is synced and before the rename', async () => {
    await writeFileDurable(join(dir, 'x'), 'x', { crashPoint: 'sink.stage' });
    expect(faults.events.map((e) => e.split(' ')[0])).toEqual(['sync', 'crash', 'rename', 'sync']);
  });
});

describe('fs > durable: renameDurable (a file another writer produced)', () => {
  it('fsyncs the file, reaches the crash point, renames, fsyncs both folders when they differ', async () => {
    const staging = join(dir, '_staging');
    const partition = join(dir, 'year=2026');
    for (const d of [staging, partition]) mkdirSync(d);
    writeFileSync(join(staging, 'a.staged'), 'rows');
    await renameDurable(join(staging, 'a.staged'), join(partition, 'stage-a.parquet'), { crashPoint: 'parquet.write' });
    expect(readFileSync(join(partition, 'stage-a.parquet'), 'utf8')).toBe('rows');
    expect(readdirSync(staging)).toEqual([]);
    expect(faults.events).toEqual([
      `sync ${join(staging, 'a.staged')}`,
      'crash parquet.write',
      `rename ${join(partition, 'stage-a.parquet')}`,
      `sync ${partition}`,
      `sync ${staging}`,
    ]);
  });

  it("a failed rename leaves the written file to its writer and the target untouched, as the caller's error", async () => {
    writeFileSync(join(dir, 'p.parquet.tmp'), 'new');
    writeFileSync(join(dir, 'p.parquet'), 'old');
    faults.rename = errno('EROFS', 'read-only file system, rename');
    const error = await renameDurable(join(dir, 'p.parquet.tmp'), join(dir, 'p.parquet'), { error: (cause) => new CallerError('lake', { cause }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallerError);
    expect(readFileSync(join(dir, 'p.parquet'), 'utf8')).toBe('old');
    expect(files()).toEqual(['p.parquet', 'p.parquet.tmp']);
  });

  it('a missing source is a typed error naming the fsync step', async () => {
    await expect(renameDurable(join(dir, 'gone'), join(dir, 'there'))).rejects.toMatchObject({ code: 'PL_FS_WRITE_FAILED', step: 'fsync', path: join(dir, 'gone') });
  });
});

describe('fs > durable: appendDurable, createFileDurable, syncFolder', () => {
  it('appends and fsyncs each record; only the append that created the file syncs the folder', async () => {
    const path = join(dir, 'ledger.jsonl');
    await appendDurable(path, '{"a":1}\n');
    await appendDurable(path, '{"a":2}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(faults.events).toEqual([`sync ${path}`, `sync ${dir}`, `sync ${path}`]);
  });

  it('an append whose fsync fails is a typed error', async () => {
    faults.sync = errno('ENOSPC', 'no space left on device');
    await expect(appendDurable(join(dir, 'ledger.jsonl'), 'x\n')).rejects.toMatchObject({ code: 'PL_FS_DISK_FULL', step: 'append', errno: 'ENOSPC' });
  });

  it('creates a file whole once, never replaces it, leaves no temporary', async () => {
    const path = join(dir, 'secret.key');
    expect(await createFileDurable(path, 'first\n')).toBe(true);
    expect(await createFileDurable(path, 'second\n')).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('first\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(files()).toEqual(['secret.key']);
  });

  it('of concurrent creators exactly one wins', async () => {
    const path = join(dir, 'x.claim');
    const won = await Promise.all(Array.from({ length: 8 }, (_, i) => createFileDurable(path, String(i))));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(readFileSync(path, 'utf8')).toBe(String(won.indexOf(true)));
    expect(files()).toEqual(['x.claim']);
  });

  it('a folder that cannot be synced is a typed error', async () => {
    await expect(syncFolder(join(dir, 'missing'))).rejects.toMatchObject({ code: 'PL_FS_WRITE_FAILED', step: 'fsync folder' });
  });
});

describe('fs > durable: temporaries', () => {
  it("this process's temporaries are live; a dead writer's, an earlier process's with this pid and the old naming are stale", () => {
    const own = tempPathFor('/lake/raw/x.gz');
    expect(own).toMatch(/^\/lake\/raw\/x\.gz\.tmp-\d+-[0-9a-f]{20}$/);
    expect(isStaleTemporary(own.split('/').pop()!)).toBe(false);
    // This pid with another process nonce: a container restarted as pid 1 (1 chance in 2^32 it is ours).
    expect(isStaleTemporary(`x.gz.tmp-${process.pid}-00000000aabbccddeeff`)).toBe(true);
    expect(isStaleTemporary('x.gz.tmp-a1b2c3d4e5f6')).toBe(true);
    expect(isStaleTemporary(`x.gz.tmp-${process.ppid}-0123456789abcdef0123`)).toBe(false);
    expect(isStaleTemporary('x.gz')).toBe(false);
  });
});
