/** Format and text-encoding sniffing from the first bytes of a (gunzipped) payload. */

export type DetectedFormat = 'tcx' | 'gpx' | 'fit' | 'unknown';
export type XmlEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** FIT header: size 12 or 14, then ".FIT" at bytes 8-11. */
export function isFit(bytes: Buffer): boolean {
  return bytes.length >= 12 && (bytes[0] === 12 || bytes[0] === 14) && bytes.toString('latin1', 8, 12) === '.FIT';
}

/** Encoding by BOM or by the UTF-16 pattern of `<`; UTF-8 otherwise. BOM length in bytes. */
export function sniffEncoding(bytes: Buffer): { encoding: XmlEncoding; bomBytes: number } {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { encoding: 'utf-8', bomBytes: 3 };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', bomBytes: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', bomBytes: 2 };
  if (bytes.length >= 2 && bytes[0] === 0x3c && bytes[1] === 0x00) return { encoding: 'utf-16le', bomBytes: 0 };
  if (bytes.length >= 2 && bytes[0] === 0x00 && bytes[1] === 0x3c) return { encoding: 'utf-16be', bomBytes: 0 };
  return { encoding: 'utf-8', bomBytes: 0 };
}

/** Local name of the first element, skipping the XML declaration, PIs, comments and DOCTYPE. */
export function firstElementName(text: string): string | null {
  const re = /<(\?[\s\S]*?\?>|!--[\s\S]*?-->|!DOCTYPE[^>[]*(\[[\s\S]*?\])?\s*>|(?<name>[A-Za-z_][\w.:-]*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const name = m.groups?.['name'];
    if (name !== undefined) {
      const i = name.indexOf(':');
      return i < 0 ? name : name.slice(i + 1);
    }
  }
  return null;
}

export function formatFromName(fileName: string | undefined): DetectedFormat {
  const name = (fileName ?? '').toLowerCase().replace(/\.gz$/, '');
  if (name.endsWith('.tcx')) return 'tcx';
  if (name.endsWith('.gpx')) return 'gpx';
  if (name.endsWith('.fit')) return 'fit';
  return 'unknown';
}

/**
 * The format of a payload from its first bytes (give at least 4 KiB when you have them).
 * The bytes decide; the file name is used only when the bytes are inconclusive (no root
 * element within them). gzip bytes are not looked into: gunzip first.
 */
export function detectFormat(firstBytes: Buffer, fileName?: string): DetectedFormat {
  if (isFit(firstBytes)) return 'fit';
  if (isGzip(firstBytes)) return 'unknown';
  const { encoding, bomBytes } = sniffEncoding(firstBytes);
  let text: string;
  const head = firstBytes.subarray(bomBytes, Math.min(firstBytes.length, 16384));
  if (encoding === 'utf-16be') {
    const swapped = Buffer.from(head.subarray(0, head.length & ~1));
    swapped.swap16();
    text = swapped.toString('utf16le');
  } else {
    text = head.toString(encoding === 'utf-8' ? 'utf8' : 'utf16le');
  }
  const root = firstElementName(text);
  if (root === 'TrainingCenterDatabase') return 'tcx';
  if (root === 'gpx') return 'gpx';
  if (root !== null) return 'unknown';
  return /^\s*</.test(text) || text.trim() === '' ? formatFromName(fileName) : 'unknown';
}
