/**
 * Picks the bus: Kafka when brokers are given, else the embedded bus (durable when given a
 * directory). Stages receive a `Bus` and never know which one they got.
 */
import type { Logger } from '../telemetry/log.ts';
import type { Bus } from './bus.ts';
import { EmbeddedBus } from './embedded.ts';
import { createKafkaBus } from './kafka.ts';

export type { Batch, Bus, BusMessage, ConsumeOptions, OutgoingMessage, Subscription, Topic } from './bus.ts';
export { TOPICS } from './bus.ts';
export { BusClosedError, BusLogCorruptError, BusUnavailableError, BusUsageError } from './errors.ts';

export interface CreateBusOptions {
  /** Kafka bootstrap brokers (`host:port`); the embedded bus when absent or empty. */
  readonly kafkaBrokers?: readonly string[];
  /** Folder that makes the embedded bus durable; memory only when absent. Ignored with Kafka. */
  readonly embeddedDir?: string;
  /** Partitions of topics the bus creates. @default 3 on Kafka, 1 embedded */
  readonly partitions?: number;
  /** Kafka client id. @default 'polar-lake' */
  readonly clientId?: string;
  /** Kafka consumer session timeout. @default 30000 */
  readonly sessionTimeoutMs?: number;
  readonly logger: Logger;
}

export async function createBus(options: CreateBusOptions): Promise<Bus> {
  const brokers = options.kafkaBrokers?.filter((b) => b.trim() !== '') ?? [];
  if (brokers.length > 0) {
    return createKafkaBus({
      brokers,
      logger: options.logger,
      ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
      ...(options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: options.sessionTimeoutMs } : {}),
    });
  }
  return new EmbeddedBus({
    logger: options.logger,
    ...(options.embeddedDir !== undefined ? { dir: options.embeddedDir } : {}),
    ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
  });
}
