import { Readable } from 'node:stream';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskCauseOf } from '../../src/lake/disk-cause.ts';
import { createRawZone, rawZoneWriteError, RawZoneWriteError } from '../../src/lake/raw-zone.ts';

const errno = (code: string, message: string) => Object.assign(new Error(`${code}: ${message}, write`), { code });

describe('raw zone > issue 7: ENOSPC and EROFS were the same PL_RAW_WRITE_FAILED with no cause', () => {
  it.each([
    ['ENOSPC', 'no space left on device', 'PL_RAW_DISK_FULL', 'transient', 'disk full (ENOSPC)'],
    ['EDQUOT', 'disk quota exceeded', 'PL_RAW_DISK_FULL', 'transient', 'disk full (quota) (ENOSPC)'],
    ['EROFS', 'read-only file system', 'PL_RAW_READ_ONLY', 'config', 'read-only file system (EROFS)'],
    ['EACCES', 'permission denied', 'PL_RAW_PERMISSION_DENIED', 'config', 'permission denied (EACCES)'],
    ['EPERM', 'operation not permitted', 'PL_RAW_PERMISSION_DENIED', 'config', 'permission denied (EACCES)'],
    ['EIO', 'i/o error', 'PL_RAW_WRITE_FAILED', 'transient', 'EIO: i/o error'],
  ])('%s → %s (%s), the cause in the message', (code, text, plCode, kind, inMessage) => {
    const error = rawZoneWriteError('raw/exercises/user_id=1/exercise_id=2/tcx.tcx.gz', errno(code, text));
    expect(error).toBeInstanceOf(RawZoneWriteError);
    expect(error).toMatchObject({ code: plCode, kind });
    expect(error.message).toContain(inMessage);
  });

  it('reads the cause from DuckDB-style messages and from a cause chain', () => {
    expect(diskCauseOf(new Error('IO Error: Could not write file "x": No space left on device'))?.errno).toBe('ENOSPC');
    expect(diskCauseOf(new Error('outer', { cause: errno('EROFS', 'read-only file system') }))?.errno).toBe('EROFS');
    expect(diskCauseOf(new Error('unrelated'))).toBeUndefined();
  });

  it('a body stream that breaks is still PL_RAW_WRITE_FAILED, and leaves no temp file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polar-lake-raw-'));
    try {
      const zone = createRawZone(dir);
      async function* broken() {
        yield Buffer.from('<TrainingCenterDatabase>');
        throw new Error('socket hang up');
      }
      await expect(zone.put('raw/exercises/user_id=1/exercise_id=2/tcx.tcx.gz', Readable.from(broken()))).rejects.toMatchObject({ code: 'PL_RAW_WRITE_FAILED' });
      const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
      expect(files).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
