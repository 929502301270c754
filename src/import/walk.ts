/**
 * Walks what `polar-lake import` was given, a folder or a zip (zips inside either, zips
 * inside zips), and yields its files one folder at a time, so a caller can pair files of
 * the same name (an HRM and its GPX). Problems are yielded too, each with its path, and the
 * walk goes on.
 *
 * Zips are read with yauzl from their central directory, entry by entry (nothing is
 * extracted to disk but a nested zip, spooled to a temp file under the byte caps). Limits:
 * - an entry's name must stay inside the import: no absolute path, no `..`, no drive letter
 *   (zip-slip; names are ours to check, yauzl's own check would end the whole zip);
 * - an entry may inflate to at most `maxEntryBytes`, at most `maxRatio` times its compressed
 *   size (both checked from the header and again on the bytes as they come: headers lie),
 *   and all entries of the import together to at most `maxTotalBytes`;
 * - zips nest at most `maxZipDepth` deep.
 * Folders: symbolic links are followed, and one that leads back into a folder being walked
 * (or to itself) is reported as a loop rather than walked forever.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdtemp, readdir, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import type { PolarLakeError } from '../errors.ts';
import { ImportPathEscapesError, ImportSymlinkLoopError, ImportUnreadableError, ImportZipBombError, ImportZipCorruptError } from './errors.ts';

export interface ImportLimits {
  /** Largest a single file or zip entry may be once inflated. @default 2 GiB */
  readonly maxEntryBytes?: number;
  /** Largest inflated / compressed ratio of a zip entry over 1 MiB. @default 200 */
  readonly maxRatio?: number;
  /** Bytes all zip entries of one import may inflate to together. @default 64 GiB */
  readonly maxTotalBytes?: number;
  /** Zips inside zips, at most this deep. @default 4 */
  readonly maxZipDepth?: number;
}

const DEFAULTS: Required<ImportLimits> = { maxEntryBytes: 2 * 1024 ** 3, maxRatio: 200, maxTotalBytes: 64 * 1024 ** 3, maxZipDepth: 4 };
/** Small entries may compress better than any ratio cap (a 1 KB run of zeros): only larger ones are judged. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

/** One file of the import. */
export interface ImportFile {
  /** Where it is, for people: `export.zip!dir/a.tcx`, nested `a.zip!b.zip!c.fit`. */
  readonly path: string;
  readonly name: string;
  /** The file's bytes (a zip entry inflated, under the caps). */
  open(): Promise<Readable>;
}

export type WalkItem = { readonly kind: 'folder'; readonly path: string; readonly files: readonly ImportFile[] } | { readonly kind: 'problem'; readonly path: string; readonly error: PolarLakeError };

/** True for bytes that start a zip (a local file header, or an empty archive's end record). */
export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6));
}

/** Why a zip entry name would escape the import, or null when it stays inside. */
export function escapingName(name: string): string | null {
  if (name.includes('\0')) return 'the name holds a NUL byte';
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) return 'the name is an absolute path';
  if (n.split('/').includes('..')) return 'the name climbs out of the import with ..';
  return null;
}

/** Counts the bytes that pass and fails past the caps (headers can lie about sizes). */
class ByteCap extends Transform {
  bytes = 0;
  constructor(private readonly path: string, private readonly cap: number, private readonly why: string, private readonly total: { bytes: number; cap: number }) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.total.bytes += chunk.length;
    if (this.bytes > this.cap) return callback(new ImportZipBombError(this.path, `${this.why} (inflated past ${this.cap} bytes)`));
    if (this.total.bytes > this.total.cap) return callback(new ImportZipBombError(this.path, `the import inflates past maxTotalBytes (${this.total.cap} bytes)`));
    callback(null, chunk);
  }
}

const fsProblem = (path: string, error: unknown): PolarLakeError => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return new ImportSymlinkLoopError(path, 'a symbolic link loop', { cause: error });
  return new ImportUnreadableError(path, `cannot be read (${code ?? (error as Error).message})`, { cause: error });
};

async function readHead(path: string): Promise<Buffer> {
  const stream = createReadStream(path, { start: 0, end: 3 });
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

export async function* walkImport(root: string, limitsIn: ImportLimits = {}): AsyncGenerator<WalkItem> {
  const limits = { ...DEFAULTS, ...limitsIn };
  const total = { bytes: 0, cap: limits.maxTotalBytes };
  const spool = await mkdtemp(join(tmpdir(), 'polar-lake-import-'));
  try {
    let info;
    try {
      info = await stat(root);
    } catch (error) {
      yield { kind: 'problem', path: root, error: fsProblem(root, error) };
      return;
    }
    if (info.isDirectory()) yield* walkFolder(root, root, new Set());
    else yield* walkFileAtTop(root);
  } finally {
    await rm(spool, { recursive: true, force: true });
  }

  async function* walkFileAtTop(path: string): AsyncGenerator<WalkItem> {
    let head: Buffer;
    try {
      head = await readHead(path);
    } catch (error) {
      yield { kind: 'problem', path, error: fsProblem(path, error) };
      return;
    }
    if (isZip(head) || /\.zip$/i.test(path)) yield* walkZip(path, path, 1);
    else yield { kind: 'folder', path: dirname(path), files: [diskFile(path, path)] };
  }

  function diskFile(path: string, shown: string): ImportFile {
    return { path: shown, name: basename(path), open: async () => createReadStream(path) };
  }

  async function* walkFolder(dir: string, shown: string, walking: Set<string>): AsyncGenerator<WalkItem> {
    let real: string;
    let names: string[];
    try {
      real = await realpath(dir);
      names = (await readdir(dir)).sort();
    } catch (error) {
      yield { kind: 'problem', path: shown, error: fsProblem(shown, error) };
      return;
    }
    if (walking.has(real)) {
      yield { kind: 'problem', path: shown, error: new ImportSymlinkLoopError(shown, `a symbolic link back to ${real}, already being walked`) };
      return;
    }
    const inside = new Set(walking).add(real);
    const files: ImportFile[] = [];
    const later: { path: string; shown: string; zip: boolean }[] = [];
    for (const name of names) {
      const path = join(dir, name);
      const shownPath = join(shown, name);
      let entry;
      try {
        entry = await lstat(path);
        if (entry.isSymbolicLink()) entry = await stat(path); // ELOOP for a link to itself, ENOENT when dangling
      } catch (error) {
        yield { kind: 'problem', path: shownPath, error: fsProblem(shownPath, error) };
        continue;
      }
      if (entry.isDirectory()) later.push({ path, shown: shownPath, zip: false });
      else if (!entry.isFile()) yield { kind: 'problem', path: shownPath, error: new ImportUnreadableError(shownPath, 'not a regular file (a device, socket or pipe)') };
      else {
        let head: Buffer;
        try {
          head = await readHead(path);
        } catch (error) {
          yield { kind: 'problem', path: shownPath, error: fsProblem(shownPath, error) };
          continue;
        }
        if (isZip(head) || /\.zip$/i.test(name)) later.push({ path, shown: shownPath, zip: true });
        else files.push(diskFile(path, shownPath));
      }
    }
    if (files.length > 0) yield { kind: 'folder', path: shown, files };
    for (const next of later) {
      if (next.zip) yield* walkZip(next.path, next.shown, 1);
      else yield* walkFolder(next.path, next.shown, inside);
    }
  }

  async function* walkZip(zipPath: string, shown: string, depth: number): AsyncGenerator<WalkItem> {
    if (depth > limits.maxZipDepth) {
      yield { kind: 'problem', path: shown, error: new ImportZipBombError(shown, `zips nested deeper than ${limits.maxZipDepth}`) };
      return;
    }
    let zip: yauzl.ZipFile;
    try {
      zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
    } catch (error) {
      yield { kind: 'problem', path: shown, error: new ImportZipCorruptError(shown, `not a readable zip: ${(error as Error).message}`, { cause: error }) };
      return;
    }
    try {
      const byFolder = new Map<string, ImportFile[]>();
      const nested: { entry: yauzl.Entry; shown: string }[] = [];
      try {
        for await (const entry of zip.eachEntry()) {
          const raw = entry.fileName as unknown as Buffer;
          // Bit 11: the name is UTF-8; otherwise CP437, whose printable ASCII part latin1 reads the same.
          const name = raw.toString((entry.generalPurposeBitFlag & 0x800) !== 0 ? 'utf8' : 'latin1');
          const entryShown = `${shown}!${name}`;
          if (name.endsWith('/')) continue; // a folder entry
          const escape = escapingName(name);
          if (escape) {
            yield { kind: 'problem', path: entryShown, error: new ImportPathEscapesError(entryShown, escape) };
            continue;
          }
          if (entry.uncompressedSize > limits.maxEntryBytes) {
            yield { kind: 'problem', path: entryShown, error: new ImportZipBombError(entryShown, `declares ${entry.uncompressedSize} bytes, over maxEntryBytes (${limits.maxEntryBytes})`) };
            continue;
          }
          if (entry.uncompressedSize > RATIO_FLOOR_BYTES && entry.uncompressedSize > limits.maxRatio * Math.max(1, entry.compressedSize)) {
            yield { kind: 'problem', path: entryShown, error: new ImportZipBombError(entryShown, `compression ratio ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))} over maxRatio (${limits.maxRatio})`) };
            continue;
          }
          if (entry.isEncrypted()) {
            yield { kind: 'problem', path: entryShown, error: new ImportUnreadableError(entryShown, 'the entry is encrypted') };
            continue;
          }
          const cap = Math.min(limits.maxEntryBytes, entry.uncompressedSize > RATIO_FLOOR_BYTES ? limits.maxRatio * Math.max(1, entry.compressedSize) : Math.max(RATIO_FLOOR_BYTES, limits.maxRatio * Math.max(1, entry.compressedSize)));
          const open = async (): Promise<Readable> => {
            let stream: Readable;
            try {
              stream = await zip.openReadStreamPromise(entry);
            } catch (error) {
              throw new ImportZipCorruptError(entryShown, `cannot be inflated: ${(error as Error).message}`, { cause: error });
            }
            const capped = new ByteCap(entryShown, cap, 'over its size or ratio cap', total);
            stream.on('error', (error) => capped.destroy(error instanceof Error && 'code' in error && String((error as { code: unknown }).code).startsWith('PL_') ? error : new ImportZipCorruptError(entryShown, `cannot be inflated: ${error.message}`, { cause: error })));
            return stream.pipe(capped);
          };
          if (/\.zip$/i.test(name)) {
            nested.push({ entry, shown: entryShown });
            continue;
          }
          const folder = posix.dirname(name.replace(/\\/g, '/'));
          const list = byFolder.get(folder) ?? [];
          list.push({ path: entryShown, name: posix.basename(name.replace(/\\/g, '/')), open });
          byFolder.set(folder, list);
        }
      } catch (error) {
        yield { kind: 'problem', path: shown, error: new ImportZipCorruptError(shown, `central directory unreadable: ${(error as Error).message}`, { cause: error }) };
      }
      for (const [folder, files] of byFolder) yield { kind: 'folder', path: `${shown}!${folder}`, files };
      for (const { entry, shown: innerShown } of nested) {
        const spooled = join(spool, `${depth}-${Math.random().toString(36).slice(2)}.zip`);
        try {
          const cap = Math.min(limits.maxEntryBytes, Math.max(RATIO_FLOOR_BYTES, limits.maxRatio * Math.max(1, entry.compressedSize)));
          const source = await zip.openReadStreamPromise(entry);
          await pipeline(source, new ByteCap(innerShown, cap, 'over its size or ratio cap', total), createWriteStream(spooled));
        } catch (error) {
          const problem = error instanceof ImportZipBombError ? error : new ImportZipCorruptError(innerShown, `cannot be inflated: ${(error as Error).message}`, { cause: error });
          yield { kind: 'problem', path: innerShown, error: problem };
          await rm(spooled, { force: true });
          continue;
        }
        yield* walkZip(spooled, innerShown, depth + 1);
        await rm(spooled, { force: true });
      }
    } finally {
      zip.close();
    }
  }
}

/** A whole readable into one buffer, under a cap (for classification and the small formats). */
export async function readCapped(stream: Readable | AsyncIterable<Buffer>, cap: number, path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) throw new ImportZipBombError(path, `larger than ${cap} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

export { Readable };
