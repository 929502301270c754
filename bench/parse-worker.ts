/**
 * One measurement in its own process (so peak RSS is its own):
 * node bin/run-ts.mjs bench/parse-worker.ts MODE FILE → prints {"seconds","points","max_rss_mb"}.
 * MODE: saxes-bare | sax-bare (tokenizer with no handlers), parse-saxes | parse-sax (polar-lake).
 */
import { createReadStream } from 'node:fs';
import sax from 'sax';
import { SaxesParser } from 'saxes';
import { parseFile } from '../src/parse/index.ts';

const [mode, file] = process.argv.slice(2) as [string, string];
const started = performance.now();
let points = 0;

async function bare(write: (s: string) => void, close: () => void): Promise<void> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of createReadStream(file, { highWaterMark: 65536 })) write(decoder.decode(chunk as Buffer, { stream: true }));
  close();
}

if (mode === 'saxes-bare') {
  const p = new SaxesParser({ xmlns: false, position: true });
  await bare((s) => p.write(s), () => p.close());
} else if (mode === 'sax-bare') {
  const p = sax.parser(true, { position: true });
  await bare((s) => p.write(s), () => p.close());
} else {
  const tokenizer = mode === 'parse-sax' ? 'sax' : 'saxes';
  const ctx = { userId: 'u', exerciseId: 'e', file, utcOffsetMin: null };
  for await (const out of parseFile(createReadStream(file, { highWaterMark: 65536 }), 'auto', ctx, { tokenizer })) {
    if (out.table === 'samples') points += out.rows.length;
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, points, max_rss_mb: process.resourceUsage().maxRSS / 1024 }));
