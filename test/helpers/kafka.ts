/**
 * Test files get the Kafka broker chosen by `global-setup.ts` through `kafkaBrokers()`.
 * Kafka tests are never skipped silently: with no broker they fail and say how to get one.
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated `host:port` list; empty when the run was started without Kafka. */
    kafkaBrokers: string;
  }
}

export const NO_BROKER_HELP = [
  'Kafka tests need a broker. Any one of:',
  '  - export KAFKA_BROKERS=127.0.0.1:9092 (a broker you run, e.g. `bash scripts/kafka-local.sh start`);',
  '  - install Java 17+ and Maven 3.8+ with access to Maven Central (the test setup then starts a local broker itself);',
  '  - run a Docker engine (the test setup then uses testcontainers).',
  'POLAR_LAKE_TEST_NO_KAFKA=1 skips broker start-up, and with it every Kafka test fails.',
].join('\n');

export function kafkaBrokers(): string[] {
  const provided = inject('kafkaBrokers') as string | undefined;
  const list = (provided || process.env['KAFKA_BROKERS'] || '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (list.length === 0) throw new Error(NO_BROKER_HELP);
  return list;
}
