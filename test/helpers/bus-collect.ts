/** Everything published so far on one topic, decoded: a throwaway consumer group reads it to the end. */
import type { Bus } from '../../src/bus/bus.ts';
import { decodeEnvelope } from '../../src/records/envelope.ts';

export async function collect(bus: Bus, topic: string): Promise<unknown[]> {
  const out: unknown[] = [];
  const sub = await bus.consume({ topics: [topic], group: `reader-${topic}` }, async (b) => void out.push(...b.messages.map((m) => decodeEnvelope(m.value))));
  await sub.drained();
  await sub.stop();
  return out;
}
