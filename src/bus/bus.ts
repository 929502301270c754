/**
 * The bus: the one interface every stage is written against. Two implementations:
 * `embedded.ts` (in-process, the default) and `kafka.ts` (kafkajs, when KAFKA_BROKERS is set).
 * Stages never import kafkajs.
 *
 * Delivery is at-least-once. A consumer's `onBatch` resolving acknowledges every message of
 * the batch (its offsets may be committed); throwing means nothing of the batch is
 * acknowledged and the batch is delivered again. Consumers must therefore be idempotent,
 * which the sink is through deterministic file names.
 */

export const TOPICS = {
  fetched: 'polar.fetched',
  exercises: 'polar.exercises',
  samples: 'polar.samples',
  laps: 'polar.laps',
  routes: 'polar.routes',
  source_files: 'polar.source_files',
  activity: 'polar.activity',
  sleep: 'polar.sleep',
  exerciseSeries: 'polar.exercise_series',
  rrIntervals: 'polar.rr_intervals',
  hrZones: 'polar.hr_zones',
  activitySteps: 'polar.activity_steps',
  activityZones: 'polar.activity_zones',
  activityInactivity: 'polar.activity_inactivity',
  physical: 'polar.physical',
  deadletter: 'polar.deadletter',
  /** AccessLink webhook events, accepted by the receiver; the fetch process acts on them. */
  webhooks: 'polar.webhooks',
} as const;

export type Topic = string;

export interface OutgoingMessage {
  /** Partitioning key: always the Polar user id, so one user's events stay in order. */
  readonly key: string;
  readonly value: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface BusMessage {
  readonly topic: Topic;
  readonly partition: number;
  /** Offsets are decimal strings, as in Kafka (int64 does not fit a JS number). */
  readonly offset: string;
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Batch {
  readonly topic: Topic;
  readonly partition: number;
  readonly messages: readonly BusMessage[];
}

export interface ConsumeOptions {
  readonly topics: readonly Topic[];
  /** Consumer group: one per stage. Offsets are tracked per group. */
  readonly group: string;
  /** Where a group with no committed offset starts. @default 'earliest' */
  readonly startFrom?: 'earliest' | 'latest';
}

export interface Subscription {
  /** Stops consuming after the batch in flight; resolves when stopped. */
  stop(): Promise<void>;
  /**
   * Resolves once every message published so far to the subscribed topics has been
   * acknowledged by this group. Used by one-shot runs (demo, backfill) and tests.
   */
  drained(): Promise<void>;
  /** Messages published to the subscribed topics and not yet acknowledged by this group (consumer lag). */
  lag(): Promise<number>;
  /** The same, per topic and partition (metrics). Rejects when the offsets cannot be read: a failed read is not lag 0. */
  lagByPartition(): Promise<PartitionLag[]>;
}

export interface PartitionLag {
  readonly topic: Topic;
  readonly partition: number;
  readonly lag: number;
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  /** Resolves once every message is durably accepted (Kafka: acks from all in-sync replicas). */
  publish(topic: Topic, messages: readonly OutgoingMessage[]): Promise<void>;
  consume(options: ConsumeOptions, onBatch: (batch: Batch) => Promise<void>): Promise<Subscription>;
  close(): Promise<void>;
  /**
   * Told when the bus had to create a topic (Kafka: first use, or a broker that came back
   * without its data). The embedded log never loses a topic and has no such hook.
   */
  onTopicCreated?(listener: (topic: Topic) => void): () => void;
}
