/**
 * One measurement in its own process (so peak RSS is its own):
 * node bin/run-ts.mjs bench/parse-worker.ts MODE FILE → prints {"seconds","points","max_rss_mb"}.
 * MODE:
 * - saxes-bare | sax-bare: the tokenizer alone with no-op open / close / text handlers (the
 *   events a parser needs; the definition of "bare"), fed exactly as the driver
 *   feeds it: 64 KiB chunks, all-ASCII chunks as latin1 strings, others through TextDecoder.
 * - fast-bare: the fast tokenizer with no-op handlers that want no text (it then scans text
 *   without decoding it: the least work it can do), fed 64 KiB Buffers as the driver feeds it.
 * - fast-bare-text: the same with handlers that want every text (every text node decoded).
 * - parse-fast | parse-saxes | parse-sax: polar-lake's parseFile on that tokenizer (default options).
 * - parse-saxes-b512: parse-saxes with batchRows 512 (peak RSS against batch size).
 * - empty: loads the same modules and reads nothing: the baseline RSS of a node + tsx worker.
 */
import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import sax from 'sax';
import { SaxesParser } from 'saxes';
import { type ParseOptions, parseFile } from '../src/parse/index.ts';
import { createFastTokenizer } from '../src/parse/xml/fast.ts';

const [mode, file] = process.argv.slice(2) as [string, string];
const started = performance.now();
let points = 0;
let events = 0;

async function bare(write: (s: string) => void, close: () => void): Promise<void> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of createReadStream(file, { highWaterMark: 65536 }) as AsyncIterable<Buffer>) {
    write(isAscii(chunk) ? chunk.toString('latin1') : decoder.decode(chunk, { stream: true }));
  }
  close();
}

if (mode === 'saxes-bare') {
  const p = new SaxesParser({ xmlns: false, position: true });
  p.on('opentag', () => void events++);
  p.on('closetag', () => void events++);
  p.on('text', () => void events++);
  await bare((s) => p.write(s), () => p.close());
} else if (mode === 'sax-bare') {
  const p = sax.parser(true, { position: true });
  p.onopentag = () => void events++;
  p.onclosetag = () => void events++;
  p.ontext = () => void events++;
  await bare((s) => p.write(s), () => p.close());
} else if (mode === 'fast-bare' || mode === 'fast-bare-text') {
  const wantsText = mode === 'fast-bare-text';
  const handler = { wantsText, open: () => void events++, close: () => void events++, text: () => void events++ };
  const t = createFastTokenizer(handler, () => undefined);
  for await (const chunk of createReadStream(file, { highWaterMark: 65536 }) as AsyncIterable<Buffer>) t.writeBytes(chunk);
  t.end();
} else if (mode.startsWith('parse-')) {
  const tokenizer = mode === 'parse-sax' ? 'sax' : mode === 'parse-fast' ? 'fast' : 'saxes';
  const ctx = { userId: 'u', exerciseId: 'e', file, utcOffsetMin: null };
  const options: ParseOptions = mode === 'parse-saxes-b512' ? { tokenizer, batchRows: 512 } : { tokenizer };
  for await (const out of parseFile(createReadStream(file, { highWaterMark: 65536 }), 'auto', ctx, options)) {
    if (out.table === 'samples') points += out.rows.length;
  }
} else if (mode !== 'empty') {
  throw new Error(`unknown mode ${mode}`);
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, points, max_rss_mb: process.resourceUsage().maxRSS / 1024 }));
