/**
 * The Kafka bus (kafkajs). This is the only file in the project that imports kafkajs: with no
 * kafkajs release since 2.2.4, swapping the client should touch this file alone.
 *
 * - Producer: idempotent, acks from all in-sync replicas, messages keyed by user id and
 *   partitioned with Kafka's default murmur2 partitioner (same as `partitioning.ts`).
 * - Topics are created on first use through the admin client with `partitions` partitions.
 * - Each `consume` call is one kafkajs consumer. Offsets move only after `onBatch` resolves
 *   (`eachBatchAutoResolve: false`, then `resolveOffset` + `commitOffsetsIfNecessary`). When
 *   `onBatch` throws, nothing is resolved and the consumer seeks back to the batch's first
 *   offset, so the same batch is fetched again after a back-off.
 * - `drained()` polls the group's committed offsets against the topics' high watermarks.
 */
import {
  Kafka,
  Partitioners,
  logLevel as KafkaLogLevel,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { silentLogger, type Logger } from '../telemetry/log.ts';
import type { Batch, Bus, BusMessage, ConsumeOptions, OutgoingMessage, PartitionLag, Subscription, Topic } from './bus.ts';
import { BusClosedError, BusUnavailableError, BusUsageError } from './errors.ts';
import { validateTopicName } from './partitioning.ts';

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port`. Prefer 127.0.0.1 to localhost for a local broker. */
  readonly brokers: readonly string[];
  /** @default 'polar-lake' */
  readonly clientId?: string;
  /** Partitions of topics this bus creates (existing topics are left as they are). @default 3 */
  readonly partitions?: number;
  /** Replication factor of created topics. @default min(3, number of brokers in the cluster) */
  readonly replicationFactor?: number;
  /** First wait after a failed batch; doubles per consecutive failure. @default 200 */
  readonly retryBackoffMs?: number;
  /** Longest wait between redeliveries of a failing batch. @default 10000 */
  readonly maxRetryBackoffMs?: number;
  /** How long a fetch waits on the broker for new data (latency of an idle consumer). @default 500 */
  readonly maxWaitTimeMs?: number;
  /** How often `drained()` compares committed offsets with high watermarks. @default 200 */
  readonly drainPollMs?: number;
  /** How long `consume` waits for the consumer to join its group. @default 60000 */
  readonly groupJoinTimeoutMs?: number;
  /** Consumer session timeout: a consumer silent this long is removed from its group. @default 30000 */
  readonly sessionTimeoutMs?: number;
  /** @default silentLogger */
  readonly logger?: Logger;
}

/** Connects the producer and the admin client; throws BusUnavailableError when no broker answers. */
export async function createKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const bus = new KafkaBus(options);
  await bus.connect();
  return bus;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One line per distinct kafkajs message per window: a broker outage must not become 15,000 log lines. */
const LOG_REPEAT_WINDOW_MS = 30_000;

/** kafkajs log lines we route into our logger (warn and above; normal operation is quiet). */
function kafkaLogCreator(logger: Logger, now: () => number = Date.now) {
  const lastSeen = new Map<string, { at: number; suppressed: number }>();
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _origin, ...fields } = log;
      // We cap the idempotent producer's retries on purpose (a dead broker must fail a
      // publish, so fetch leaves the AccessLink transaction uncommitted); kafkajs warns on
      // every producer about the duplicate it may cause, which the idempotent sink absorbs.
      if (typeof message === 'string' && message.startsWith('Limiting retries for the idempotent producer')) return;
      const key = `${level}:${namespace}:${String(message)}`;
      const seen = lastSeen.get(key);
      if (seen && now() - seen.at < LOG_REPEAT_WINDOW_MS) {
        seen.suppressed++;
        return;
      }
      lastSeen.set(key, { at: now(), suppressed: 0 });
      if (lastSeen.size > 1000) lastSeen.clear();
      const entry = { namespace, kafkajs_message: message, ...fields, ...(seen?.suppressed ? { repeated_since_last_line: seen.suppressed } : {}) };
      if (level === KafkaLogLevel.ERROR) logger.error('bus.kafka.client_error', entry);
      else if (level === KafkaLogLevel.WARN) logger.warn('bus.kafka.client_warning', entry);
    };
}

/** Every topic of a creation request existed already (a race with another process creating them). */
function alreadyExists(error: unknown): boolean {
  const e = error as { type?: unknown; errors?: unknown[]; cause?: unknown } | undefined;
  if (!e) return false;
  if (e.type === 'TOPIC_ALREADY_EXISTS') return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every(alreadyExists);
  return e.cause !== undefined && alreadyExists(e.cause);
}

/** The broker says it has no such topic or partition: it came back without the data it had. */
function isUnknownTopic(error: unknown): boolean {
  for (let e = error as { type?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 6; e = e.cause as typeof e, depth++) {
    if (e.type === 'UNKNOWN_TOPIC_OR_PARTITION' || (typeof e.message === 'string' && /does not host this topic-partition|unknown topic/i.test(e.message))) return true;
  }
  return false;
}

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly logger: Logger;
  private readonly topicsReady = new Map<Topic, Promise<void>>();
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly topicCreatedListeners = new Set<(topic: Topic) => void>();
  private replicationFactor: number | undefined;
  private closed = false;

  constructor(private readonly options: KafkaBusOptions) {
    if (options.brokers.length === 0) throw new BusUsageError('the Kafka bus needs at least one broker');
    const partitions = options.partitions ?? 3;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new BusUsageError(`Expected \`partitions\` to be an integer from 1 and up, got ${String(partitions)}`);
    }
    this.logger = (options.logger ?? silentLogger).child({ component: 'bus', bus: 'kafka' });
    this.replicationFactor = options.replicationFactor;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'polar-lake',
      brokers: [...options.brokers],
      logLevel: KafkaLogLevel.WARN,
      logCreator: kafkaLogCreator(this.logger),
      connectionTimeout: 3_000,
      retry: { initialRetryTime: 100, retries: 8 },
    });
    this.producer = this.kafka.producer({
      idempotent: true,
      // One request in flight per broker keeps a key's order even across retries.
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, retries: 8 },
    });
    this.admin = this.kafka.admin();
  }

  async connect(): Promise<void> {
    try {
      await this.admin.connect();
      await this.producer.connect();
      if (this.replicationFactor === undefined) {
        const cluster = await this.admin.describeCluster();
        this.replicationFactor = Math.min(3, Math.max(1, cluster.brokers.length));
      }
    } catch (error) {
      await this.disconnectQuietly();
      throw new BusUnavailableError(`no Kafka broker answered at ${this.options.brokers.join(',')}`, undefined, { cause: error });
    }
  }

  /**
   * Told whenever this bus creates a topic (first use, or a broker that came back empty): the
   * fetch process then re-announces the raw zone, because whatever was on the lost topics and
   * not yet in the lake would otherwise be missing (docs/operating.md).
   */
  onTopicCreated(listener: (topic: Topic) => void): () => void {
    this.topicCreatedListeners.add(listener);
    return () => this.topicCreatedListeners.delete(listener);
  }

  async publish(topic: Topic, messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const send = () =>
      this.producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value, ...(m.headers ? { headers: { ...m.headers } } : {}) })),
      });
    await this.ensureTopic(topic);
    try {
      await send();
    } catch (error) {
      if (!isUnknownTopic(error)) throw new BusUnavailableError(`publish of ${messages.length} message(s) failed`, topic, { cause: error });
      // The broker lost the topic (it came back empty): create it again and send once more.
      try {
        await this.recreateTopics([topic]);
        await send();
      } catch (retryError) {
        throw new BusUnavailableError(`publish of ${messages.length} message(s) failed`, topic, { cause: retryError });
      }
    }
  }

  /** Forgets that these topics exist and creates them again where the broker lost them. */
  async recreateTopics(topics: readonly Topic[]): Promise<void> {
    for (const topic of topics) this.topicsReady.delete(topic);
    await this.ensureTopics(topics);
  }

  async consume(options: ConsumeOptions, onBatch: (batch: Batch) => Promise<void>): Promise<Subscription> {
    this.assertOpen();
    if (options.topics.length === 0) throw new BusUsageError('consume needs at least one topic');
    await this.ensureTopics(options.topics);
    await this.awaitLeaders(options.topics);
    const subscription = new KafkaSubscription(
      this.kafka,
      this.admin,
      options,
      onBatch,
      this.logger.child({ group: options.group }),
      {
        retryBackoffMs: this.options.retryBackoffMs ?? 200,
        maxRetryBackoffMs: this.options.maxRetryBackoffMs ?? 10_000,
        maxWaitTimeMs: this.options.maxWaitTimeMs ?? 500,
        drainPollMs: this.options.drainPollMs ?? 200,
        groupJoinTimeoutMs: this.options.groupJoinTimeoutMs ?? 60_000,
        sessionTimeoutMs: this.options.sessionTimeoutMs ?? 30_000,
      },
      () => this.subscriptions.delete(subscription),
      (topics) => this.recreateTopics(topics),
    );
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.stop().catch(() => undefined);
      throw error;
    }
    return subscription;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop().catch(() => undefined)));
    await this.disconnectQuietly();
  }

  private async disconnectQuietly(): Promise<void> {
    await this.producer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError('the Kafka bus is closed');
  }

  private ensureTopic(topic: Topic): Promise<void> {
    return this.ensureTopics([topic]);
  }

  /**
   * Creates the topics not known yet in one admin request: a consumer of many topics (the
   * sink reads one per table) would otherwise wait for one creation round trip per topic.
   */
  private ensureTopics(topics: readonly Topic[]): Promise<void> {
    const missing = [...new Set(topics)].filter((t) => !this.topicsReady.has(t));
    if (missing.length > 0) {
      for (const t of missing) validateTopicName(t);
      const ready = this.createTopics(missing);
      for (const t of missing) this.topicsReady.set(t, ready);
      ready.catch(() => {
        for (const t of missing) this.topicsReady.delete(t);
      });
    }
    return Promise.all(topics.map((t) => this.topicsReady.get(t))).then(() => undefined);
  }

  /**
   * Waits until every partition of these topics has a leader. A sibling process may have just
   * created them: a consumer subscribing before the leaders are elected fails to start ("does not
   * host this topic-partition"), so stages started together on a fresh broker would not all come up.
   */
  private async awaitLeaders(topics: readonly Topic[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { topics: meta } = await this.admin.fetchTopicMetadata({ topics: [...topics] });
        if (meta.length === topics.length && meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0))) return;
      } catch (error) {
        if (attempt >= 10) throw new BusUnavailableError('topic leaders not elected', topics.join(','), { cause: error });
      }
      if (attempt >= 10) throw new BusUnavailableError('topic leaders not elected', topics.join(','));
      await sleep(200 * attempt);
    }
  }

  private async createTopics(topics: readonly Topic[]): Promise<void> {
    let created: Topic[] = [];
    // A few tries: a sibling process creating the same topics at the same moment makes the
    // broker answer "already exists" or, while leaders are elected, "does not host this
    // topic-partition"; both settle within moments.
    for (let attempt = 1; ; attempt++) {
      try {
        // Which of them the broker lacks: a topic created here that this bus had used before
        // means the broker lost it (see onTopicCreated).
        const existing = new Set(await this.admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t));
        if (missing.length === 0) break;
        await this.admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: this.options.partitions ?? 3, replicationFactor: this.replicationFactor ?? 1 })),
        });
        created = missing;
        break;
      } catch (error) {
        if (alreadyExists(error)) break;
        if (attempt >= 5) throw new BusUnavailableError('could not create the topic', topics.join(','), { cause: error });
        await sleep(200 * attempt);
      }
    }
    for (const topic of created) {
      this.logger.info('bus.kafka.topic_created', { topic });
      for (const listener of this.topicCreatedListeners) listener(topic);
    }
  }
}

interface SubscriptionLimits {
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs: number;
  readonly maxWaitTimeMs: number;
  readonly drainPollMs: number;
  readonly groupJoinTimeoutMs: number;
  readonly sessionTimeoutMs: number;
}

class KafkaSubscription implements Subscription {
  private consumer: Consumer;
  private stopped = false;
  private restarting: Promise<void> | null = null;
  private consecutiveRestarts = 0;
  private stopping: Promise<void> | undefined;
  private readonly failures = new Map<string, number>();
  private readonly interruptSleep = new Set<() => void>();

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly options: ConsumeOptions,
    private readonly onBatch: (batch: Batch) => Promise<void>,
    private readonly logger: Logger,
    private readonly limits: SubscriptionLimits,
    private readonly onStopped: () => void,
    private readonly recreateTopics: (topics: readonly Topic[]) => Promise<void>,
  ) {
    this.consumer = this.newConsumer();
  }

  private newConsumer(): Consumer {
    return this.kafka.consumer({
      groupId: this.options.group,
      maxWaitTimeInMs: this.limits.maxWaitTimeMs,
      sessionTimeout: this.limits.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(this.limits.sessionTimeoutMs / 10)),
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, retries: 8 },
    });
  }

  /**
   * A consumer crash (broker gone, or back without its topics) must not end consumption for
   * good: the topics are created again where missing, and a consumer kafkajs gives up on is
   * replaced, with back-off, until the subscription is stopped.
   */
  private watchCrashes(consumer: Consumer): void {
    consumer.on(consumer.events.CRASH, (event) => {
      if (this.stopped || consumer !== this.consumer) return;
      this.logger.error('bus.kafka.consumer_crashed', { error: event.payload.error, restart: event.payload.restart });
      if (this.restarting) return;
      this.restarting = this.recover(event.payload.restart).finally(() => (this.restarting = null));
    });
  }

  private async recover(kafkajsRestarts: boolean): Promise<void> {
    while (!this.stopped) {
      const backoffMs = Math.min(this.limits.retryBackoffMs * 2 ** this.consecutiveRestarts, this.limits.maxRetryBackoffMs);
      this.consecutiveRestarts++;
      await this.sleep(backoffMs);
      if (this.stopped) return;
      try {
        await this.recreateTopics(this.options.topics);
        if (kafkajsRestarts) return; // kafkajs restarts this consumer itself, now that the topics exist
        const old = this.consumer;
        await old.disconnect().catch(() => undefined);
        this.consumer = this.newConsumer();
        this.watchCrashes(this.consumer);
        await this.connectAndRun();
        this.logger.info('bus.kafka.consumer_restarted', { restarts: this.consecutiveRestarts });
        return;
      } catch (error) {
        this.logger.warn('bus.kafka.consumer_restart_failed', { error, retry_in_ms: backoffMs * 2 });
      }
    }
  }

  private async connectAndRun(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.startFrom !== 'latest' });
    await this.consumer.run({
      eachBatchAutoResolve: false,
      // Commit on every commitOffsetsIfNecessary call, i.e. after every acknowledged batch.
      autoCommit: true,
      autoCommitInterval: null,
      autoCommitThreshold: null,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  async start(): Promise<void> {
    const pins = this.options.startFrom === 'latest' ? await this.latestPins() : [];
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new BusUnavailableError(`consumer group "${this.options.group}" not joined after ${this.limits.groupJoinTimeoutMs} ms`)),
        this.limits.groupJoinTimeoutMs,
      );
      const removeJoin = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        // Synchronous, inside the join: the seeks land before the first fetch.
        for (const pin of pins) this.consumer.seek(pin);
        clearTimeout(timer);
        removeJoin();
        removeCrash();
        resolve();
      });
      const removeCrash = this.consumer.on(this.consumer.events.CRASH, (event) => {
        // A retriable crash (e.g. "coordinator is loading" just after the broker starts) is
        // followed by kafkajs's own restart: keep waiting for the join until the timeout.
        if (event.payload.restart) {
          this.logger.warn('bus.kafka.join_retrying', { error: event.payload.error });
          return;
        }
        clearTimeout(timer);
        removeJoin();
        removeCrash();
        reject(new BusUnavailableError(`consumer of group "${this.options.group}" crashed while joining`, undefined, { cause: event.payload.error }));
      });
    });
    try {
      await this.connectAndRun();
    } catch (error) {
      throw new BusUnavailableError(`consumer of group "${this.options.group}" could not start`, undefined, { cause: error });
    }
    await joined;
    this.watchCrashes(this.consumer);
  }

  /**
   * kafkajs resolves "latest" lazily, at the first fetch after the join, so a message
   * published between `consume` resolving and that fetch would be skipped. So the high
   * watermarks are read now, for partitions this group never committed on, and applied with
   * `seek` when the group is joined (kafkajs applies queued seeks before the first fetch, and
   * with autoCommit a seek also commits, pinning the start point for the group).
   * (admin.setOffsets would do it too, but it joins the group with a throwaway consumer and
   * costs seconds.)
   */
  private async latestPins(): Promise<Array<{ topic: string; partition: number; offset: string }>> {
    const pins: Array<{ topic: string; partition: number; offset: string }> = [];
    for (const topic of this.options.topics) {
      const committed = await this.admin.fetchOffsets({ groupId: this.options.group, topics: [topic] });
      const known = new Set(committed.flatMap((t) => t.partitions.filter((p) => p.offset !== '-1').map((p) => p.partition)));
      for (const p of await this.topicOffsets(topic)) {
        if (!known.has(p.partition)) pins.push({ topic, partition: p.partition, offset: p.high });
      }
    }
    return pins;
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopped = true;
      for (const interrupt of this.interruptSleep) interrupt();
      // disconnect() waits for the batch in flight, then leaves the group.
      this.stopping = this.consumer.disconnect().finally(() => this.onStopped());
    }
    return this.stopping;
  }

  /** The topic's offsets; a leader election under way (just after creation, a broker restart) is waited out briefly. */
  private async topicOffsets(topic: string): Promise<Awaited<ReturnType<Admin['fetchTopicOffsets']>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.admin.fetchTopicOffsets(topic);
      } catch (error) {
        if (attempt >= 5 || this.stopped) throw error;
        await sleep(200 * attempt);
      }
    }
  }

  async drained(): Promise<void> {
    const { topics, group } = this.options;
    // "Everything published so far": the high watermarks now, not whatever arrives later.
    const targets = new Map<string, bigint>();
    for (const topic of topics) {
      for (const p of await this.topicOffsets(topic)) targets.set(`${topic}:${p.partition}`, BigInt(p.high));
    }
    for (;;) {
      if (this.stopped) throw new BusClosedError(`subscription of group "${group}" stopped before it drained`);
      const committed = await this.admin.fetchOffsets({ groupId: group, topics: [...topics] });
      const done = [...targets].every(([tp, high]) => {
        const [topic, partition] = [tp.slice(0, tp.lastIndexOf(':')), Number(tp.slice(tp.lastIndexOf(':') + 1))];
        const offset = committed.find((t) => t.topic === topic)?.partitions.find((p) => p.partition === partition)?.offset;
        // -1: the group never committed on this partition, fine only if it is empty.
        const next = offset === undefined || offset === '-1' ? 0n : BigInt(offset);
        return next >= high;
      });
      if (done) return;
      await sleep(this.limits.drainPollMs);
    }
  }

  async lag(): Promise<number> {
    return (await this.lagByPartition()).reduce((behind, p) => behind + p.lag, 0);
  }

  async lagByPartition(): Promise<PartitionLag[]> {
    const { topics, group } = this.options;
    const committed = await this.admin.fetchOffsets({ groupId: group, topics: [...topics] });
    const lags: PartitionLag[] = [];
    for (const topic of topics) {
      for (const p of await this.topicOffsets(topic)) {
        const offset = committed.find((t) => t.topic === topic)?.partitions.find((c) => c.partition === p.partition)?.offset;
        // -1: nothing committed yet, so everything still in the log is behind.
        const next = offset === undefined || offset === '-1' ? BigInt(p.low) : BigInt(offset);
        lags.push({ topic, partition: p.partition, lag: BigInt(p.high) > next ? Number(BigInt(p.high) - next) : 0 });
      }
    }
    return lags;
  }

  private async handleBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (batch.messages.length === 0 || !isRunning() || isStale() || this.stopped) return;
    const messages: BusMessage[] = batch.messages.map((m) => ({
      topic: batch.topic,
      partition: batch.partition,
      offset: m.offset,
      key: m.key ? m.key.toString('utf8') : '',
      value: m.value ?? Buffer.alloc(0),
      headers: Object.fromEntries(
        Object.entries(m.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.map(String).join(',') : v.toString()]])),
      ),
    }));
    const tp = `${batch.topic}:${batch.partition}`;
    // A long onBatch (a sink writing Parquet) must not get the consumer thrown out of its group.
    const beat = setInterval(() => void heartbeat().catch(() => undefined), Math.max(100, Math.floor(this.limits.sessionTimeoutMs / 10)));
    try {
      await this.onBatch({ topic: batch.topic, partition: batch.partition, messages });
    } catch (error) {
      clearInterval(beat);
      const failures = (this.failures.get(tp) ?? 0) + 1;
      this.failures.set(tp, failures);
      const backoffMs = Math.min(this.limits.retryBackoffMs * 2 ** (failures - 1), this.limits.maxRetryBackoffMs);
      const firstOffset = messages[0]!.offset;
      this.logger.warn('bus.batch.failed', {
        topic: batch.topic,
        partition: batch.partition,
        first_offset: firstOffset,
        message_count: messages.length,
        retry_in_ms: backoffMs,
        error,
      });
      // Nothing of this batch is resolved; seeking to its first offset makes the next fetch
      // return it again (and commits that offset, which is already the committed one).
      this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: firstOffset });
      await this.sleep(backoffMs);
      return;
    } finally {
      clearInterval(beat);
    }
    this.failures.delete(tp);
    this.consecutiveRestarts = 0;
    resolveOffset(messages[messages.length - 1]!.offset);
    await commitOffsetsIfNecessary();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.interruptSleep.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interruptSleep.add(done);
    });
  }
}
