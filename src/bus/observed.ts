/**
 * A view of a bus that tells an observer what is published (telemetry counts messages per
 * topic and keeps the recent dead letters), after the publish is durable. Like
 * namespace.ts, it wraps any bus, so the stages stay unaware of it.
 */
import type { Bus, Topic } from './bus.ts';

export function observedBus(bus: Bus, onPublished: (topic: Topic, values: readonly Buffer[]) => void): Bus {
  return {
    kind: bus.kind,
    async publish(topic, messages) {
      await bus.publish(topic, messages);
      onPublished(topic, messages.map((m) => m.value));
    },
    consume: (options, onBatch) => bus.consume(options, onBatch),
    close: () => bus.close(),
    ...(bus.onTopicCreated ? { onTopicCreated: bus.onTopicCreated.bind(bus) } : {}),
  };
}
