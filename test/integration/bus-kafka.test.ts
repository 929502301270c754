import { describe, expect, it } from 'vitest';
import { createBus } from '../../src/bus/index.ts';
import { createKafkaBus } from '../../src/bus/kafka.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { busContract, message, uniqueName } from '../contract/bus.contract.ts';
import { kafkaBrokers } from '../helpers/kafka.ts';

const brokers = kafkaBrokers();

busContract('kafka', (o) =>
  createKafkaBus({
    brokers,
    partitions: o?.partitions ?? 1,
    retryBackoffMs: 50,
    maxWaitTimeMs: 100,
    drainPollMs: 50,
  }),
);

describe('bus > kafka > broker', () => {
  it('bus > kafka > topics are created with the configured partition count', async () => {
    const bus = await createKafkaBus({ brokers, partitions: 4 });
    const topic = uniqueName();
    // Eight users spread over four partitions: proves the topic really has more than one.
    await bus.publish(topic, Array.from({ length: 64 }, (_, i) => message(`user-${i % 8}`, `m${i}`)));
    const partitions = new Set<number>();
    const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async (b) => {
      partitions.add(b.partition);
    });
    await sub.drained();
    await sub.stop();
    await bus.close();
    expect(partitions.size).toBeGreaterThan(1);
    expect(Math.max(...partitions)).toBeLessThan(4);
  });

  it('bus > kafka > createBus with brokers gives the Kafka bus', async () => {
    const bus = await createBus({ kafkaBrokers: brokers, embeddedDir: '/nonexistent-ignored', partitions: 1, logger: silentLogger });
    expect(bus.kind).toBe('kafka');
    await bus.close();
  });

  it('bus > kafka > no broker at the address is a transient PL_BUS_UNAVAILABLE error', async () => {
    await expect(createKafkaBus({ brokers: ['127.0.0.1:1'] })).rejects.toMatchObject({ code: 'PL_BUS_UNAVAILABLE', kind: 'transient' });
  });
});
