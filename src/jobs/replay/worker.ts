/**
 * A replay parse worker (node:worker_threads): parses raw objects with the parse stage's own
 * code (createParseStage().parseEvent: same parsers, normalisers, identity rules and dead
 * letters as the live pipeline) and hands each record batch to the main thread as an Arrow IPC
 * buffer, transferred rather than copied. The main thread writes them through the sink.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { TOPICS, type Bus, type OutgoingMessage } from '../../bus/bus.ts';
import { errorMessage } from '../../errors.ts';
import { createRawZone } from '../../lake/raw-zone.ts';
import { createParseStage } from '../../stages/parse.ts';
import { silentLogger } from '../../telemetry/log.ts';
import { openIdentityRegistry } from '../exercise-identity.ts';
import type { FromWorker, ItemOutcome, ParseItem, WorkerSetup } from './protocol.ts';

const setup = workerData as WorkerSetup;
if (!parentPort) throw new Error('src/jobs/replay/worker.ts runs as a worker thread');
const port = parentPort;

/** The buffer itself when it spans its whole ArrayBuffer (Arrow's output does), else a copy. */
function ownBuffer(value: Buffer): ArrayBuffer {
  const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer;
  return whole ? (value.buffer as ArrayBuffer) : (value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer);
}

let current: { id: number; deadLetters: Map<string, { code: string; reason: string }> } | undefined;

/** The parse stage's output, sent to the main thread instead of a topic. */
const toMain: Bus = {
  kind: 'embedded',
  async publish(topic: string, messages: readonly OutgoingMessage[]) {
    if (!current) throw new Error('publish outside an item');
    for (const m of messages) {
      if (topic === TOPICS.deadletter) {
        const letter = JSON.parse(m.value.toString('utf8')) as { raw_key: string; error: { code?: string; message?: string } };
        const message = letter.error.message ?? 'unknown';
        // The summary lists the raw key beside the reason: not twice.
        const reason = message.startsWith(`${letter.raw_key}:`) ? message.slice(letter.raw_key.length + 1).trim() : message;
        current.deadLetters.set(letter.raw_key, { code: letter.error.code ?? 'none', reason });
        continue;
      }
      const value = ownBuffer(m.value);
      const out: FromWorker = { type: 'records', id: current.id, topic, key: m.key, value };
      port.postMessage(out, [value]);
    }
  },
  consume() {
    throw new Error('the replay worker only publishes');
  },
  async close() {},
};

const rawZone = createRawZone(setup.lakeDir);
const identities = await openIdentityRegistry({ stateDir: setup.stateDir });
const parse = createParseStage({ bus: toMain, rawZone, logger: silentLogger, options: setup.parseOptions, identities });

async function run(item: ParseItem): Promise<void> {
  current = { id: item.id, deadLetters: new Map() };
  const outcomes: ItemOutcome[] = [];
  const before = { ...parse.counters.rows };
  for (const event of item.events) {
    const bytes = await stat(join(rawZone.rootDir, ...event.raw_key.split('/'))).then((s) => s.size, () => 0);
    try {
      await parse.parseEvent(event);
      const deadLetter = current.deadLetters.get(event.raw_key);
      outcomes.push({ rawKey: event.raw_key, bytes, ...(deadLetter ? { deadLetter } : {}) });
    } catch (error) {
      outcomes.push({ rawKey: event.raw_key, bytes, error: errorMessage(error) });
    }
  }
  const rows = Object.fromEntries(Object.entries(parse.counters.rows).map(([table, n]) => [table, n - before[table as keyof typeof before]]));
  const done: FromWorker = { type: 'done', id: item.id, outcomes, rows };
  current = undefined;
  port.postMessage(done);
}

// One item at a time: an exercise's summary registers its identity before its files parse.
let queue: Promise<void> = Promise.resolve();
port.on('message', (item: ParseItem) => {
  queue = queue.then(() => run(item));
});
