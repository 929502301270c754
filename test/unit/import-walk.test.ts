import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { escapingName, walkImport, type ImportLimits, type WalkItem } from '../../src/import/walk.ts';
import { zipBytes } from '../helpers/zip-writer.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

async function walk(zip: Buffer, limits: ImportLimits = {}): Promise<{ files: Record<string, string>; problems: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'polar-lake-walk-'));
  dirs.push(dir);
  const path = join(dir, 'in.zip');
  writeFileSync(path, zip);
  const files: Record<string, string> = {};
  const problems: Record<string, string> = {};
  for await (const item of walkImport(path, limits) as AsyncGenerator<WalkItem>) {
    if (item.kind === 'problem') {
      problems[item.path.slice(dir.length + 1)] = item.error.code;
      continue;
    }
    for (const f of item.files) {
      try {
        const parts: Buffer[] = [];
        for await (const c of await f.open()) parts.push(c as Buffer);
        files[f.path.slice(dir.length + 1)] = Buffer.concat(parts).toString('utf8').slice(0, 20);
      } catch (error) {
        problems[f.path.slice(dir.length + 1)] = (error as { code: string }).code;
      }
    }
  }
  return { files, problems };
}

describe('import > walk', () => {
  it('walk > zip-slip names are refused, the other entries read', async () => {
    expect(escapingName('a/../../b')).toMatch(/climbs/);
    expect(escapingName('..\\evil.tcx')).toMatch(/climbs/);
    expect(escapingName('C:/x.tcx')).toMatch(/absolute/);
    expect(escapingName('dir/a..b.tcx')).toBeNull();
    const r = await walk(zipBytes([{ name: 'ok/a.tcx', data: 'hello' }, { name: 'ok/../../x.tcx', data: 'evil' }]));
    expect(r).toEqual({ files: { 'in.zip!ok/a.tcx': 'hello' }, problems: { 'in.zip!ok/../../x.tcx': 'PL_IMPORT_PATH_ESCAPES' } });
  });

  it('walk > zips in zips, up to the depth cap', async () => {
    const inner = zipBytes([{ name: 'deep.gpx', data: 'deep' }]);
    const middle = zipBytes([{ name: 'inner.zip', data: inner }, { name: 'mid.tcx', data: 'mid' }]);
    const outer = zipBytes([{ name: 'middle.zip', data: middle }]);
    expect(await walk(outer)).toEqual({ files: { 'in.zip!middle.zip!mid.tcx': 'mid', 'in.zip!middle.zip!inner.zip!deep.gpx': 'deep' }, problems: {} });
    expect((await walk(outer, { maxZipDepth: 2 })).problems).toEqual({ 'in.zip!middle.zip!inner.zip': 'PL_IMPORT_ZIP_BOMB' });
  });

  it('walk > size, ratio and total caps; headers that lie are caught on the bytes', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'a');
    expect((await walk(zipBytes([{ name: 'big.tcx', data: big }]))).problems).toEqual({ 'in.zip!big.tcx': 'PL_IMPORT_ZIP_BOMB' }); // ratio
    expect((await walk(zipBytes([{ name: 'big.tcx', data: big, deflate: false }]), { maxEntryBytes: 1024 * 1024 })).problems).toEqual({ 'in.zip!big.tcx': 'PL_IMPORT_ZIP_BOMB' });
    const two = zipBytes([{ name: 'a.tcx', data: Buffer.alloc(600_000, 1), deflate: false }, { name: 'b.tcx', data: Buffer.alloc(600_000, 2), deflate: false }]);
    expect((await walk(two, { maxTotalBytes: 1_000_000 })).problems).toEqual({ 'in.zip!b.tcx': 'PL_IMPORT_ZIP_BOMB' });
    // A header that claims 10 bytes for an entry that inflates to 2 MiB.
    const liar = zipBytes([{ name: 'liar.tcx', data: Buffer.alloc(2 * 1024 * 1024, 'z') }]);
    const at = liar.indexOf(Buffer.from('liar.tcx'), 60) - 46; // the central directory record
    liar.writeUInt32LE(10, at + 24);
    expect(Object.values((await walk(liar)).problems)).toEqual([expect.stringMatching(/PL_IMPORT_ZIP_(BOMB|CORRUPT)/)]);
  });

  it('walk > a corrupt zip is reported, not thrown', async () => {
    expect((await walk(Buffer.from('PK\u0003\u0004 truncated'))).problems).toEqual({ 'in.zip': 'PL_IMPORT_ZIP_CORRUPT' });
  });
});
