/**
 * The in-process bus: the default when no Kafka is configured. It keeps Kafka's semantics
 * so that stage code behaves the same on both buses:
 *
 * - N partitions per topic, chosen by a hash of the key, so one user's messages stay in order;
 * - committed offsets per consumer group; a new group starts from `startFrom`;
 * - at-least-once: `onBatch` resolving commits the batch; throwing redelivers the same batch
 *   after a back-off, and the committed offset never moves past a failed message.
 *
 * With `dir` it is durable: each topic-partition is an append-only log on disk (fsync on
 * publish) and each group's offsets a small file, so after a crash nothing published is lost
 * and consumers resume at their committed offsets. Without `dir` everything lives in memory
 * for the life of the process (fine for tests and one-shot demos, not for long runs).
 *
 * One difference from Kafka: there is no group rebalancing, so two live subscriptions of the
 * same group may not share a topic (it is a usage error rather than a silent split).
 */
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { writeFileDurable } from '../fs/durable.ts';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../telemetry/log.ts';
import type { Batch, Bus, BusMessage, ConsumeOptions, OutgoingMessage, PartitionLag, Subscription, Topic } from './bus.ts';
import { BusClosedError, BusUsageError } from './errors.ts';
import { FilePartitionLog, MemoryPartitionLog, type PartitionLog } from './embedded-log.ts';
import { FileOffsetStore, MemoryOffsetStore, type OffsetStore } from './embedded-offsets.ts';
import { partitionForKey, validateTopicName } from './partitioning.ts';

export interface EmbeddedBusOptions {
  /** Folder for the durable variant (logs and offsets). Memory only when absent. */
  readonly dir?: string;
  /** Partitions of a topic created by this bus. An existing durable topic keeps its count. @default 1 */
  readonly partitions?: number;
  /** Most messages handed to one `onBatch` call. @default 500 */
  readonly maxBatchMessages?: number;
  /** A batch stops growing past this many value bytes (it always holds at least one message). @default 1 MiB */
  readonly maxBatchBytes?: number;
  /** First wait after a failed batch; doubles per consecutive failure. @default 200 */
  readonly retryBackoffMs?: number;
  /** Longest wait between redeliveries of a failing batch. @default 10000 */
  readonly maxRetryBackoffMs?: number;
  /** Segment size of the durable log. @default 64 MiB */
  readonly segmentBytes?: number;
  /**
   * Durable variant: a segment every group has acknowledged is deleted once its last append
   * is this old (Kafka's log.retention.hours, 168 by default). Until then a new group can
   * replay it; after, a full replay comes from the raw zone. @default 604800000 (7 days)
   */
  readonly retentionMs?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

interface TopicState {
  readonly partitions: PartitionLog[];
  /** Woken on every publish to this topic. */
  readonly listeners: Set<() => void>;
}

export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;
  private readonly topics = new Map<Topic, Promise<TopicState>>();
  private readonly offsets: OffsetStore;
  private readonly subscriptions = new Set<EmbeddedSubscription>();
  private readonly logger: Logger;
  private closed = false;

  constructor(private readonly options: EmbeddedBusOptions = {}) {
    const partitions = options.partitions ?? 1;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new BusUsageError(`Expected \`partitions\` to be an integer from 1 and up, got ${String(partitions)}`);
    }
    this.logger = (options.logger ?? silentLogger).child({ component: 'bus', bus: 'embedded' });
    this.offsets = options.dir ? new FileOffsetStore(join(options.dir, 'offsets')) : new MemoryOffsetStore();
  }

  async publish(topic: Topic, messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    const state = await this.topic(topic);
    const byPartition = new Map<number, OutgoingMessage[]>();
    for (const m of messages) {
      const p = partitionForKey(m.key, state.partitions.length);
      const list = byPartition.get(p) ?? [];
      list.push(m);
      byPartition.set(p, list);
    }
    await Promise.all(
      [...byPartition].map(([p, list]) =>
        state.partitions[p]!.append(list.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} }))),
      ),
    );
    for (const wake of state.listeners) wake();
  }

  /**
   * The lowest offset some group may still need: every committed offset, and the position of
   * every live subscription (a group whose first batch keeps failing has committed nothing).
   */
  private async retentionFloor(topic: Topic, partition: number): Promise<number | undefined> {
    let floor = await this.offsets.minCommitted(topic, partition);
    for (const s of this.subscriptions) {
      const position = s.positionOf(topic, partition);
      if (position !== undefined && (floor === undefined || position < floor)) floor = position;
    }
    return floor;
  }

  async consume(options: ConsumeOptions, onBatch: (batch: Batch) => Promise<void>): Promise<Subscription> {
    this.assertOpen();
    if (options.topics.length === 0) throw new BusUsageError('consume needs at least one topic');
    for (const s of this.subscriptions) {
      const shared = s.group === options.group ? options.topics.find((t) => s.topics.includes(t)) : undefined;
      if (shared !== undefined) {
        throw new BusUsageError(
          `group "${options.group}" already has a live subscription on topic "${shared}" (the embedded bus does not split partitions between consumers)`,
        );
      }
    }
    const partitions: PartitionCursor[] = [];
    const states: TopicState[] = [];
    for (const topic of options.topics) {
      const state = await this.topic(topic);
      states.push(state);
      for (const [partition, log] of state.partitions.entries()) {
        const committed = await this.offsets.get(options.group, topic, partition);
        // Below the log start (retention deleted it): start at the oldest message kept, as
        // Kafka's auto.offset.reset=earliest does. A full history comes from the raw zone.
        const start = Math.max(committed ?? (options.startFrom === 'latest' ? log.endOffset : 0), log.startOffset);
        partitions.push({ topic, partition, log, position: start });
      }
    }
    const subscription = new EmbeddedSubscription(
      options.group,
      options.topics,
      partitions,
      onBatch,
      this.offsets,
      this.logger.child({ group: options.group }),
      {
        maxBatchMessages: this.options.maxBatchMessages ?? 500,
        maxBatchBytes: this.options.maxBatchBytes ?? 1024 * 1024,
        retryBackoffMs: this.options.retryBackoffMs ?? 200,
        maxRetryBackoffMs: this.options.maxRetryBackoffMs ?? 10_000,
        retentionMs: this.options.retentionMs ?? 7 * 24 * 3600 * 1000,
      },
      () => {
        this.subscriptions.delete(subscription);
        for (const state of states) state.listeners.delete(subscription.wake);
      },
      (topic, partition) => this.retentionFloor(topic, partition),
    );
    this.subscriptions.add(subscription);
    for (const state of states) state.listeners.add(subscription.wake);
    subscription.start();
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    for (const pending of this.topics.values()) {
      const state = await pending.catch(() => undefined);
      if (state) for (const log of state.partitions) await log.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError('the embedded bus is closed');
  }

  private topic(topic: Topic): Promise<TopicState> {
    let pending = this.topics.get(topic);
    if (!pending) {
      validateTopicName(topic);
      pending = this.openTopic(topic);
      this.topics.set(topic, pending);
      // A failed open must not poison the topic forever: the next call tries again.
      pending.catch(() => this.topics.delete(topic));
    }
    return pending;
  }

  private async openTopic(topic: Topic): Promise<TopicState> {
    const wanted = this.options.partitions ?? 1;
    if (!this.options.dir) {
      return { partitions: Array.from({ length: wanted }, () => new MemoryPartitionLog()), listeners: new Set() };
    }
    const topicDir = join(this.options.dir, 'topics', topic);
    const count = await readPartitionCount(topicDir, wanted);
    const partitions: PartitionLog[] = [];
    for (let p = 0; p < count; p++) {
      partitions.push(
        await FilePartitionLog.open(join(topicDir, String(p)), {
          ...(this.options.segmentBytes !== undefined ? { segmentBytes: this.options.segmentBytes } : {}),
          onTornTail: (file, keptBytes, droppedBytes) =>
            this.logger.warn('bus.log.torn_tail_dropped', { topic, partition: p, file, kept_bytes: keptBytes, dropped_bytes: droppedBytes }),
        }),
      );
    }
    return { partitions, listeners: new Set() };
  }
}

/** A durable topic keeps the partition count it was created with (key → partition must not move). */
async function readPartitionCount(topicDir: string, wanted: number): Promise<number> {
  const metaFile = join(topicDir, 'topic.json');
  try {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { partitions?: unknown };
    if (typeof meta.partitions === 'number' && meta.partitions >= 1) return meta.partitions;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(topicDir, { recursive: true });
  // Partition folders without a topic.json: written by a crash between mkdir and the meta file.
  const existing = (await readdir(topicDir)).filter((n) => /^\d+$/.test(n)).length;
  const count = Math.max(existing, wanted);
  await writeFileDurable(metaFile, JSON.stringify({ partitions: count }), { mode: 0o666 });
  return count;
}

interface PartitionCursor {
  readonly topic: Topic;
  readonly partition: number;
  readonly log: PartitionLog;
  /** Next offset to deliver; equal to the group's committed offset between batches. */
  position: number;
}

interface SubscriptionLimits {
  readonly maxBatchMessages: number;
  readonly maxBatchBytes: number;
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs: number;
  readonly retentionMs: number;
}

class EmbeddedSubscription implements Subscription {
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  private readonly drainWaiters = new Set<{ check: () => boolean; resolve: () => void; reject: (e: Error) => void }>();
  private next = 0;

  constructor(
    readonly group: string,
    readonly topics: readonly Topic[],
    private readonly cursors: PartitionCursor[],
    private readonly onBatch: (batch: Batch) => Promise<void>,
    private readonly offsets: OffsetStore,
    private readonly logger: Logger,
    private readonly limits: SubscriptionLimits,
    private readonly onStopped: () => void,
    private readonly retentionFloor: (topic: Topic, partition: number) => Promise<number | undefined>,
  ) {}

  positionOf(topic: Topic, partition: number): number | undefined {
    return this.cursors.find((c) => c.topic === topic && c.partition === partition)?.position;
  }

  readonly wake = (): void => {
    this.pendingWake = true;
    this.wakeUp?.();
  };

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.wake();
      for (const w of this.drainWaiters) w.reject(new BusClosedError(`subscription of group "${this.group}" stopped before it drained`));
      this.drainWaiters.clear();
    }
    await this.loop;
    this.onStopped();
  }

  drained(): Promise<void> {
    if (this.stopped) return Promise.reject(new BusClosedError(`subscription of group "${this.group}" is stopped`));
    // "Everything published so far": the end offsets now, not whatever arrives later.
    const targets = this.cursors.map((c) => ({ cursor: c, end: c.log.endOffset }));
    const check = () => targets.every((t) => t.cursor.position >= t.end);
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.drainWaiters.add({ check, resolve, reject });
    });
  }

  lag(): Promise<number> {
    return Promise.resolve(this.cursors.reduce((behind, c) => behind + Math.max(0, c.log.endOffset - c.position), 0));
  }

  lagByPartition(): Promise<PartitionLag[]> {
    return Promise.resolve(this.cursors.map((c) => ({ topic: c.topic, partition: c.partition, lag: Math.max(0, c.log.endOffset - c.position) })));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const cursor = this.nextReadyCursor();
      if (!cursor) {
        await this.waitForPublish();
        continue;
      }
      const stored = await cursor.log.read(cursor.position, this.limits.maxBatchMessages, this.limits.maxBatchBytes);
      const messages: BusMessage[] = stored.map((m, i) => ({
        topic: cursor.topic,
        partition: cursor.partition,
        offset: String(cursor.position + i),
        key: m.key,
        value: m.value,
        headers: m.headers,
      }));
      try {
        await this.onBatch({ topic: cursor.topic, partition: cursor.partition, messages });
      } catch (error) {
        failures++;
        const backoffMs = Math.min(this.limits.retryBackoffMs * 2 ** (failures - 1), this.limits.maxRetryBackoffMs);
        this.logger.warn('bus.batch.failed', {
          topic: cursor.topic,
          partition: cursor.partition,
          first_offset: messages[0]?.offset,
          message_count: messages.length,
          retry_in_ms: backoffMs,
          error,
        });
        // The cursor stays put: the same batch comes again, nothing after it is delivered first.
        this.next = this.cursors.indexOf(cursor);
        await this.sleep(backoffMs);
        continue;
      }
      failures = 0;
      const nextOffset = cursor.position + messages.length;
      await this.offsets.commit(this.group, cursor.topic, cursor.partition, nextOffset);
      cursor.position = nextOffset;
      await this.reclaim(cursor);
      for (const w of this.drainWaiters) {
        if (w.check()) {
          this.drainWaiters.delete(w);
          w.resolve();
        }
      }
    }
  }

  /** Round-robin over partitions with unread messages, so one busy partition cannot starve the rest. */
  /**
   * Retention: segments every group has acknowledged are deleted, so the durable log does not
   * grow without bound (the raw zone and the lake keep the data). A group that stops for good
   * pins the log until its offsets file is removed from `<dir>/offsets/`.
   */
  private async reclaim(cursor: PartitionCursor): Promise<void> {
    const floor = await this.retentionFloor(cursor.topic, cursor.partition);
    if (floor === undefined || floor <= cursor.log.startOffset) return;
    const deleted = await cursor.log.trimBefore(floor, Date.now() - this.limits.retentionMs);
    if (deleted > 0) this.logger.debug('bus.log.segments_reclaimed', { topic: cursor.topic, partition: cursor.partition, messages: deleted, start_offset: cursor.log.startOffset });
  }

  private nextReadyCursor(): PartitionCursor | undefined {
    for (let i = 0; i < this.cursors.length; i++) {
      const index = (this.next + i) % this.cursors.length;
      const c = this.cursors[index]!;
      if (c.log.endOffset > c.position) {
        this.next = (index + 1) % this.cursors.length;
        return c;
      }
    }
    return undefined;
  }

  private waitForPublish(): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wakeUp = () => {
        this.wakeUp = undefined;
        this.pendingWake = false;
        resolve();
      };
    });
  }

  private sleep(ms: number): Promise<void> {
    // stop() may have run while the failed batch was being logged: then there is no wait at all.
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      // stop() interrupts a back-off; a publish does not (the failing batch must wait its turn).
      this.wakeUp = () => {
        if (this.stopped) {
          this.wakeUp = undefined;
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }
}
