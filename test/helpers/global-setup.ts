/**
 * vitest globalSetup: one real Kafka broker for the whole run, chosen in this order:
 *
 * 1. `KAFKA_BROKERS` when set (CI starts one with scripts/kafka-local.sh and exports it);
 * 2. testcontainers, when a Docker engine answers (apache/kafka, fixed host port);
 * 3. scripts/kafka-local.sh on free ports (Java 17 + Maven; stopped at teardown, and by a
 *    watchdog if this process is killed before teardown);
 * 4. otherwise the run fails, saying how to get a broker.
 *
 * `POLAR_LAKE_TEST_NO_KAFKA=1` skips all of it (for engineers running their own non-Kafka
 * files); Kafka test files then fail loudly through `kafkaBrokers()`. CI never sets it.
 * The broker list reaches test files through `provide('kafkaBrokers')` and `KAFKA_BROKERS`.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { createKafkaBus } from '../../src/bus/kafka.ts';
import { NO_BROKER_HELP } from './kafka.ts';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KAFKA_IMAGE = 'apache/kafka:4.1.1';

interface Broker {
  readonly brokers: string[];
  readonly source: string;
  stop(): Promise<void>;
}

function note(line: string): void {
  process.stderr.write(`[kafka test setup] ${line}\n`);
}


async function fromTestcontainers(): Promise<Broker | undefined> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no Docker engine: try the next option
  }
  // Advertised listeners cannot follow a random mapped port, so the host port is fixed first.
  const port = await freePort();
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS: '9223372036854775807',
      CLUSTER_ID: '4L6g3nShT-eMCtK--X86sw',
    })
    .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
    .withStartupTimeout(120_000)
    .start();
  return {
    brokers: [`127.0.0.1:${port}`],
    source: `testcontainers (${KAFKA_IMAGE})`,
    stop: async () => {
      await container.stop();
    },
  };
}

async function fromLocalJars(): Promise<Broker> {
  const script = join(repoRoot, 'scripts', 'kafka-local.sh');
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_OWNER_PID: String(process.pid),
  };
  try {
    await run('bash', [script, 'start'], { cwd: repoRoot, env, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    const output = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`scripts/kafka-local.sh could not start a broker:\n${output || e.message}\n\n${NO_BROKER_HELP}`);
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    source: 'scripts/kafka-local.sh',
    stop: async () => {
      await run('bash', [script, 'stop'], { cwd: repoRoot, env, timeout: 60_000 }).catch((error: Error) =>
        note(`stopping the local broker failed: ${error.message}`),
      );
    },
  };
}

async function selectBroker(): Promise<Broker> {
  const fromEnv = process.env['KAFKA_BROKERS']?.trim();
  if (fromEnv) return { brokers: fromEnv.split(','), source: 'KAFKA_BROKERS', stop: async () => {} };
  const container = await fromTestcontainers();
  if (container) return container;
  return fromLocalJars();
}

/** One throwaway group join creates __consumer_offsets, so the first test does not pay for it. */
async function prewarm(brokers: string[]): Promise<void> {
  const bus = await createKafkaBus({ brokers, partitions: 1, maxWaitTimeMs: 100, drainPollMs: 50 });
  try {
    const topic = `test-warmup-${process.pid}-${Date.now()}`;
    await bus.publish(topic, [{ key: 'warmup', value: Buffer.from('warmup') }]);
    const sub = await bus.consume({ topics: [topic], group: `${topic}-group` }, async () => {});
    await sub.drained();
    await sub.stop();
  } finally {
    await bus.close();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env['POLAR_LAKE_TEST_NO_KAFKA'] === '1') {
    project.provide('kafkaBrokers', '');
    return async () => {};
  }
  const started = Date.now();
  const broker = await selectBroker();
  try {
    await prewarm(broker.brokers);
  } catch (error) {
    await broker.stop();
    throw new Error(`the Kafka broker from ${broker.source} (${broker.brokers.join(',')}) did not accept a warm-up group join`, {
      cause: error,
    });
  }
  note(`${broker.brokers.join(',')} from ${broker.source}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('kafkaBrokers', broker.brokers.join(','));
  // Workers forked after this point inherit it; a fallback for helpers that cannot inject.
  process.env['KAFKA_BROKERS'] = broker.brokers.join(',');
  return () => broker.stop();
}
