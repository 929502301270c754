import { createKafkaBus } from '../../src/bus/kafka.ts';
import { namespacedBus } from '../../src/bus/namespace.ts';
import { uniqueName } from '../contract/bus.contract.ts';
import { kafkaBrokers } from '../helpers/kafka.ts';
import { allOrNothingSuite } from './all-or-nothing.ts';

const brokers = kafkaBrokers();

allOrNothingSuite('kafka', async () =>
  namespacedBus(await createKafkaBus({ brokers, partitions: 1, retryBackoffMs: 50, maxWaitTimeMs: 100, drainPollMs: 50 }), `${uniqueName('aon')}.`),
);
