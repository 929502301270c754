/**
 * A view of a bus whose topic names carry a prefix (`<prefix>polar.samples`). Two pipelines,
 * or two test runs, on one Kafka cluster then never read each other's messages, while the
 * stages keep using the plain names from TOPICS.
 */
import type { Bus } from './bus.ts';

export function namespacedBus(bus: Bus, prefix: string): Bus {
  if (prefix === '') return bus;
  const strip = (topic: string) => (topic.startsWith(prefix) ? topic.slice(prefix.length) : topic);
  return {
    kind: bus.kind,
    publish: (topic, messages) => bus.publish(prefix + topic, messages),
    consume: (options, onBatch) =>
      bus.consume({ ...options, topics: options.topics.map((t) => prefix + t) }, (batch) =>
        onBatch({ ...batch, topic: strip(batch.topic), messages: batch.messages.map((m) => ({ ...m, topic: strip(m.topic) })) }),
      ),
    close: () => bus.close(),
    ...(bus.onTopicCreated
      ? { onTopicCreated: (listener: (topic: string) => void) => bus.onTopicCreated!((topic) => topic.startsWith(prefix) && listener(strip(topic))) }
      : {}),
  };
}
