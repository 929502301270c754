/**
 * `polar-lake replay` as a job: rebuilds tables from the raw zone (the source of truth) in
 * parallel, resumably, with progress and a summary.
 *
 * - Which objects: `planReplay` (src/stages/replay.ts), by table, user and date.
 * - Parsing: N worker threads (./worker.ts) run the parse stage's own code and send record
 *   batches back as transferred Arrow IPC buffers.
 * - Writing: this thread publishes the batches to a private in-memory bus consumed by the sink
 *   stage, unchanged (manifests, exactly-once per source and row offset): the sink is written
 *   against the Bus interface, so it needs no second entry point. The bus is only a conduit;
 *   durability comes from the sink's commits and the journal.
 * - Resuming: every `checkpointItems` items, once the sink has acknowledged (committed)
 *   everything published so far, the finished raw keys are appended to the journal
 *   (./journal.ts). A rerun skips journaled objects; objects replayed twice (between the last
 *   checkpoint and a kill) are recognised by the sink's manifests: nothing doubles.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { EmbeddedBus } from '../../bus/embedded.ts';
import type { Subscription } from '../../bus/bus.ts';
import { createRawZone } from '../../lake/raw-zone.ts';
import type { Pipeline } from '../../pipeline/load.ts';
import { planReplay, type ReplayFilter, type ReplayItem } from '../../stages/replay.ts';
import { createSinkStage, type SinkStage } from '../../stages/sink.ts';
import type { Logger } from '../../telemetry/log.ts';
import type { JobProgress } from '../progress.ts';
import { ReplayItemFailedError } from './errors.ts';
import { openReplayJournal } from './journal.ts';
import { startParseWorker } from './pool.ts';
import type { FromWorker, ItemDone, ParseItem } from './protocol.ts';
import { crashPoint } from '../../crash-points.ts';

/** Batches waiting for the sink past this many bytes pause the workers. */
const MAX_QUEUED_BYTES = 128 * 1024 * 1024;
/** A fresh private bus after this many bytes, so the in-memory log never grows without bound. */
const ROTATE_BUS_BYTES = 256 * 1024 * 1024;

export interface ReplayJobOptions {
  readonly lakeDir: string;
  readonly stateDir: string;
  readonly pipeline: Pipeline;
  readonly filter?: ReplayFilter;
  /** Parse workers. @default os.availableParallelism() */
  readonly workers?: number;
  readonly progress: JobProgress;
  readonly logger: Logger;
  /** Ignore (and drop) the journal of an earlier, unfinished run with the same filter. */
  readonly restart?: boolean;
  /** Items (exercises or days) between two journal checkpoints. @default 64 */
  readonly checkpointItems?: number;
  /** Called after each checkpoint with the raw objects journaled so far (tests stop the process here). */
  readonly afterCheckpoint?: (journaled: number) => void | Promise<void>;
}

export interface ReplayReport {
  readonly workers: number;
  /** Raw objects parsed by this run (not those skipped as journaled). */
  readonly rawObjects: number;
  /** Their stored (gzip) bytes. */
  readonly rawBytes: number;
  readonly rows: Readonly<Record<string, number>>;
  readonly seconds: number;
}

interface Writer {
  readonly bus: EmbeddedBus;
  readonly sink: SinkStage;
  readonly subscription: Subscription;
}

export async function runReplay(options: ReplayJobOptions): Promise<ReplayReport> {
  const started = performance.now();
  const { progress, logger } = options;
  const filter = options.filter ?? {};
  const journal = await openReplayJournal(options.stateDir, filter, { restart: options.restart ?? false });
  const rawZone = createRawZone(options.lakeDir);

  const todo: ReplayItem[] = [];
  for await (const item of planReplay(rawZone, filter)) {
    progress.addTotal(item.events.length);
    const left = item.events.filter((e) => !journal.has(e.raw_key));
    if (left.length < item.events.length) progress.done('already_present', item.events.length - left.length);
    if (left.length > 0) todo.push({ ...item, events: left });
  }

  const openWriter = async (): Promise<Writer> => {
    // One bus batch can hold everything published since the last commit: fewer, larger files.
    const bus = new EmbeddedBus({ partitions: 1, maxBatchMessages: 100_000, maxBatchBytes: 64 * 1024 * 1024 });
    const sink = createSinkStage({ bus, lakeRoot: options.lakeDir, logger, options: { ...options.pipeline.sink, group: 'polar-lake-replay-sink' } });
    return { bus, sink, subscription: await sink.start() };
  };
  let writer = await openWriter();
  const rows: Record<string, number> = {};
  let rawObjects = 0;
  let rawBytes = 0;
  let retryLater = 0;
  let pending: string[] = [];
  let itemsSinceCheckpoint = 0;
  let journaled = 0;
  let queuedBytes = 0;
  let publishedSinceRotate = 0;

  // Publishing, outcomes and checkpoints run in one chain: a checkpoint covers exactly what came before it.
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  const enqueue = (op: () => Promise<void>) => {
    chain = chain.then(op).catch((error: unknown) => {
      failure ??= error;
    });
  };

  async function checkpoint(): Promise<void> {
    const keys = pending;
    pending = [];
    itemsSinceCheckpoint = 0;
    await writer.subscription.drained(); // every batch published so far is committed by the sink
    await journal.markDone(keys);
    crashPoint('replay.publish');
    journaled += keys.length;
    if (publishedSinceRotate > ROTATE_BUS_BYTES) {
      await writer.sink.close();
      await writer.bus.close();
      writer = await openWriter();
      publishedSinceRotate = 0;
    }
    await options.afterCheckpoint?.(journaled);
  }

  function finished(done: ItemDone): void {
    for (const [table, n] of Object.entries(done.rows)) rows[table] = (rows[table] ?? 0) + n;
    for (const outcome of done.outcomes) {
      rawObjects++;
      rawBytes += outcome.bytes;
      if (outcome.error !== undefined) {
        retryLater++;
        const error = new ReplayItemFailedError(outcome.rawKey, outcome.error);
        progress.failed({ path: outcome.rawKey, code: error.code, reason: outcome.error });
        logger.warn('replay.object.failed', { raw_key: outcome.rawKey, error: outcome.error });
        continue; // not journaled: the next run tries it again
      }
      if (outcome.deadLetter) progress.failed({ path: outcome.rawKey, code: outcome.deadLetter.code, reason: outcome.deadLetter.reason });
      else progress.done('stored');
      pending.push(outcome.rawKey);
    }
  }

  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), Math.max(1, todo.length)));
  const workers: Worker[] = [];
  try {
    if (todo.length > 0) {
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        let inFlight = 0;
        const give = (worker: Worker): void => {
          if (failure) return reject(failure);
          if (queuedBytes > MAX_QUEUED_BYTES) {
            void chain.then(() => give(worker)); // let the sink catch up
            return;
          }
          if (next >= todo.length) {
            if (inFlight === 0) resolve();
            return;
          }
          const id = next++;
          inFlight++;
          const item: ParseItem = { type: 'item', id, events: (todo[id] as ReplayItem).events };
          worker.postMessage(item);
        };
        for (let i = 0; i < workerCount; i++) {
          const worker = startParseWorker({
            lakeDir: options.lakeDir,
            stateDir: options.stateDir,
            parseOptions: {
              tokenizer: options.pipeline.parse.tokenizer,
              batchRows: options.pipeline.parse.batch_rows,
              timeOrder: options.pipeline.parse.time_order,
              limits: { maxTextChars: options.pipeline.parse.max_xml_text_chars, maxDepth: options.pipeline.parse.max_xml_depth, maxFitBytes: options.pipeline.parse.max_fit_bytes },
            },
          });
          workers.push(worker);
          worker.on('message', (message: FromWorker) => {
            if (message.type === 'records') {
              const value = Buffer.from(message.value);
              queuedBytes += value.length;
              enqueue(async () => {
                await writer.bus.publish(message.topic, [{ key: message.key, value }]);
                queuedBytes -= value.length;
                publishedSinceRotate += value.length;
              });
              return;
            }
            enqueue(async () => {
              finished(message);
              if (++itemsSinceCheckpoint >= (options.checkpointItems ?? 64)) await checkpoint();
            });
            inFlight--;
            give(worker);
          });
          worker.on('error', reject);
          worker.on('exit', (code) => {
            if (code !== 0) reject(new Error(`a replay parse worker exited with code ${code}`));
          });
          // Two items per worker: the next is queued there while this thread is busy committing.
          give(worker);
          give(worker);
        }
      });
    }
    enqueue(checkpoint);
    await chain;
    if (failure) throw failure;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await writer.sink.close();
    await writer.bus.close();
  }
  // Everything done or dead-lettered: the next replay (after a parser fix) starts afresh.
  if (retryLater === 0) await journal.remove();
  return { workers: workerCount, rawObjects, rawBytes, rows, seconds: (performance.now() - started) / 1000 };
}
