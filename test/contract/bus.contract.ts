/**
 * The behaviour every Bus implementation promises, run over each one (embedded, Kafka), as
 * Benthos runs one named connector suite over every connector. Topic and group names are
 * unique per test, so a shared broker never leaks state between tests.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Batch, Bus, BusMessage, OutgoingMessage, Subscription } from '../../src/bus/bus.ts';
import { withBoundedRedelivery } from '../../src/bus/redelivery.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

export interface BusFactoryOptions {
  /** Partitions for topics the bus creates. */
  readonly partitions?: number;
}

export type MakeBus = (options?: BusFactoryOptions) => Promise<Bus>;

export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export function message(key: string, value: string, headers?: Record<string, string>): OutgoingMessage {
  return headers ? { key, value: Buffer.from(value), headers } : { key, value: Buffer.from(value) };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const text = (m: BusMessage) => m.value.toString();

export function busContract(name: string, makeBus: MakeBus): void {
  describe(`bus > ${name}`, () => {
    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const fn of cleanup.reverse()) await fn();
      cleanup.length = 0;
    });

    async function openBus(options?: BusFactoryOptions): Promise<Bus> {
      const bus = await makeBus(options);
      cleanup.push(() => bus.close());
      return bus;
    }

    async function collect(bus: Bus, topic: string, group: string, received: BusMessage[]): Promise<Subscription> {
      const sub = await bus.consume({ topics: [topic], group }, async (batch) => {
        received.push(...batch.messages);
      });
      cleanup.push(() => sub.stop());
      return sub;
    }

    it(`bus > ${name} > round trip keeps key, value, headers and topic`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      await bus.publish(topic, [message('user-1', 'hello', { 'content-type': 'application/json', trace: 'abc' }), message('user-2', 'world')]);
      const received: BusMessage[] = [];
      const sub = await collect(bus, topic, uniqueName('group'), received);
      await sub.drained();
      expect(received.map((m) => [m.topic, m.key, text(m)])).toEqual([
        [topic, 'user-1', 'hello'],
        [topic, 'user-2', 'world'],
      ]);
      expect(received[0]!.headers).toEqual({ 'content-type': 'application/json', trace: 'abc' });
      expect(received[1]!.headers).toEqual({});
      expect(received[0]!.offset).toMatch(/^\d+$/);
    });

    it(`bus > ${name} > order per key across partitions and publish calls`, async () => {
      const bus = await openBus({ partitions: 3 });
      const topic = uniqueName();
      const users = ['user-a', 'user-b', 'user-c', 'user-d', 'user-e'];
      for (let round = 0; round < 4; round++) {
        const batch: OutgoingMessage[] = [];
        for (let i = 0; i < 10; i++) for (const u of users) batch.push(message(u, `${u}:${round * 10 + i}`));
        await bus.publish(topic, batch);
      }
      const received: BusMessage[] = [];
      const sub = await collect(bus, topic, uniqueName('group'), received);
      await sub.drained();
      expect(received).toHaveLength(users.length * 40);
      for (const u of users) {
        const mine = received.filter((m) => m.key === u);
        expect(mine.map(text)).toEqual(Array.from({ length: 40 }, (_, i) => `${u}:${i}`));
        // One key, one partition: that is what keeps a user's events in order.
        expect(new Set(mine.map((m) => m.partition)).size).toBe(1);
      }
      // Offsets grow within each partition, and no offset is delivered twice.
      const seen = new Set(received.map((m) => `${m.partition}:${m.offset}`));
      expect(seen.size).toBe(received.length);
    });

    it(`bus > ${name} > a failed batch comes back, the same messages, before anything after it`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      await bus.publish(topic, [message('u', 'A'), message('u', 'B')]);
      const calls: string[][] = [];
      let failuresLeft = 2;
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async (batch) => {
        calls.push(batch.messages.map(text));
        if (failuresLeft > 0) {
          failuresLeft--;
          throw new Error('sink not ready');
        }
      });
      cleanup.push(() => sub.stop());
      await sub.drained();
      expect(calls.length).toBe(3);
      expect(calls[0]).toEqual(['A', 'B']);
      expect(calls[1]).toEqual(['A', 'B']);
      expect(calls[2]).toEqual(['A', 'B']);
    });

    it(`bus > ${name} > checkpoint: ack A and B, fail C; after a restart C and D come back, nothing before C`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      const group = uniqueName('group');
      await bus.publish(topic, [message('u', 'A'), message('u', 'B')]);
      const firstRun: string[] = [];
      let sawC = false;
      const first = await bus.consume({ topics: [topic], group }, async (batch) => {
        const values = batch.messages.map(text);
        if (values.includes('C')) {
          sawC = true;
          throw new Error('cannot handle C yet');
        }
        firstRun.push(...values);
      });
      await first.drained();
      expect(firstRun).toEqual(['A', 'B']);
      await bus.publish(topic, [message('u', 'C'), message('u', 'D')]);
      await waitFor('the batch holding C to fail once', () => sawC);
      await first.stop();

      const secondRun: string[] = [];
      const second = await bus.consume({ topics: [topic], group }, async (batch) => {
        secondRun.push(...batch.messages.map(text));
      });
      cleanup.push(() => second.stop());
      await second.drained();
      expect(secondRun).toEqual(['C', 'D']);
    });

    it(`bus > ${name} > a new group replays the topic from offset 0, no duplicates, no gaps`, async () => {
      const bus = await openBus({ partitions: 2 });
      const topic = uniqueName();
      const sent = Array.from({ length: 50 }, (_, i) => message(`user-${i % 7}`, `m${i}`));
      await bus.publish(topic, sent.slice(0, 25));
      await bus.publish(topic, sent.slice(25));
      const firstGroup: BusMessage[] = [];
      await (await collect(bus, topic, uniqueName('group'), firstGroup)).drained();
      const replay: BusMessage[] = [];
      await (await collect(bus, topic, uniqueName('replay'), replay)).drained();

      const ids = (list: BusMessage[]) => list.map((m) => `${m.partition}:${m.offset}:${text(m)}`).sort();
      expect(replay).toHaveLength(50);
      expect(ids(replay)).toEqual(ids(firstGroup));
      expect(new Set(replay.map(text))).toEqual(new Set(sent.map((m) => m.value.toString())));
      // No gaps: each partition's offsets are consecutive from its first one.
      for (const p of new Set(replay.map((m) => m.partition))) {
        const offsets = replay.filter((m) => m.partition === p).map((m) => Number(m.offset));
        expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => offsets[0]! + i));
        expect(offsets[0]).toBe(0);
      }
    });

    it(`bus > ${name} > drained() resolves only after every message is acknowledged`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      await bus.publish(topic, Array.from({ length: 5 }, (_, i) => message('u', `m${i}`)));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let acked = 0;
      let handling = false;
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async (batch: Batch) => {
        handling = true;
        await gate;
        acked += batch.messages.length;
      });
      cleanup.push(() => sub.stop());
      let drained = false;
      let ackedWhenDrained = -1;
      const done = sub.drained().then(() => {
        drained = true;
        ackedWhenDrained = acked;
      });
      await waitFor('the first batch to be in the handler', () => handling);
      await new Promise((r) => setTimeout(r, 300));
      expect(drained).toBe(false);
      release();
      await done;
      expect(ackedWhenDrained).toBe(5);
    });

    it(`bus > ${name} > lag() counts what is published and not yet acknowledged`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      await bus.publish(topic, Array.from({ length: 4 }, (_, i) => message('u', `m${i}`)));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let handling = false;
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async () => {
        handling = true;
        await gate;
      });
      cleanup.push(() => sub.stop());
      await waitFor('the first batch to be in the handler', () => handling);
      expect(await sub.lag()).toBe(4); // in flight is not acknowledged
      await bus.publish(topic, [message('u', 'm4')]);
      expect(await sub.lag()).toBe(5);
      // Per partition: every partition of the topic, all the lag on the one key 'u' maps to.
      const byPartition = await sub.lagByPartition();
      expect(byPartition.reduce((n, p) => n + p.lag, 0)).toBe(5);
      expect(byPartition.filter((p) => p.lag > 0)).toEqual([{ topic: expect.stringContaining(topic), partition: expect.any(Number), lag: 5 }]);
      release();
      await sub.drained();
      expect(await sub.lag()).toBe(0);
    });

    it(`bus > ${name} > stop() then a new consume in the same group resumes at the committed offset`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      const group = uniqueName('group');
      await bus.publish(topic, [message('u', 'one'), message('u', 'two')]);
      const firstRun: BusMessage[] = [];
      const first = await collect(bus, topic, group, firstRun);
      await first.drained();
      await first.stop();
      await bus.publish(topic, [message('u', 'three'), message('u', 'four')]);

      const secondRun: BusMessage[] = [];
      const second = await collect(bus, topic, group, secondRun);
      await second.drained();
      expect(firstRun.map(text)).toEqual(['one', 'two']);
      expect(secondRun.map(text)).toEqual(['three', 'four']);
      expect(secondRun.map((m) => m.offset)).toEqual(['2', '3']);
    });

    it(`bus > ${name} > startFrom latest skips what was published before the group existed`, async () => {
      const bus = await openBus();
      const topic = uniqueName();
      await bus.publish(topic, [message('u', 'old')]);
      const received: BusMessage[] = [];
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group'), startFrom: 'latest' }, async (batch) => {
        received.push(...batch.messages);
      });
      cleanup.push(() => sub.stop());
      await bus.publish(topic, [message('u', 'new')]);
      await waitFor('the new message', () => received.length >= 1);
      await sub.drained();
      expect(received.map(text)).toEqual(['new']);
    });

    it(`bus > ${name} > publish after close is refused`, async () => {
      const bus = await makeBus();
      await bus.close();
      await expect(bus.publish(uniqueName(), [message('u', 'x')])).rejects.toMatchObject({ code: 'PL_BUS_CLOSED' });
    });

    // issue 7: "redelivers forever a message whose handling throws an error that is not a PolarLakeError".
    it(`bus > ${name} > issue-7 redelivered forever: a message that always throws a TypeError is tried max_attempts times with back-off, dead-lettered with its code, and the partition moves on`, async () => {
      const inner = await openBus();
      const topic = uniqueName();
      const deadLetterTopic = uniqueName('dlq');
      const waits: number[] = [];
      const bus = withBoundedRedelivery(inner, {
        options: { max_attempts: 4, backoff_ms: 100, max_backoff_ms: 250 },
        deadLetterTopic,
        logger: silentLogger,
        sleep: async (ms) => void waits.push(ms),
      });
      await bus.publish(topic, [message('user-1', 'ok-1'), message('user-1', 'poison'), message('user-1', 'ok-2')]);
      const deliveries = new Map<string, number>();
      const handled: string[] = [];
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async (batch) => {
        for (const m of batch.messages) {
          deliveries.set(text(m), (deliveries.get(text(m)) ?? 0) + 1);
          if (text(m) === 'poison') (null as unknown as { boom(): void }).boom(); // a parser bug
        }
        handled.push(...batch.messages.map(text));
      });
      cleanup.push(() => sub.stop());
      await sub.drained();
      expect(deliveries.get('poison')).toBe(4);
      expect(handled).toContain('ok-2'); // the partition moved on
      // The failed batch of three is split at once (ok-1 and ok-2 never wait); then back-off doubles, capped.
      expect(waits).toEqual([200, 250]);
      const letters: BusMessage[] = [];
      const dlq = await collect(inner, deadLetterTopic, uniqueName('group'), letters);
      await dlq.drained();
      expect(letters).toHaveLength(1);
      const letter = JSON.parse(text(letters[0]!)) as { user_id: string; error: Record<string, unknown> };
      expect(letter.user_id).toBe('user-1');
      expect(letter.error).toMatchObject({ code: 'PL_BUS_REDELIVERY_EXHAUSTED', cause_code: 'PL_UNEXPECTED', cause_name: 'TypeError', attempts: 4, topic, offset: '1' });
    });

    it(`bus > ${name} > bounded redelivery: a lone failing message waits backoff_ms, doubled, capped at max_backoff_ms; one that recovers is not dead-lettered`, async () => {
      const inner = await openBus();
      const topic = uniqueName();
      const waits: number[] = [];
      const bus = withBoundedRedelivery(inner, { options: { max_attempts: 5, backoff_ms: 100, max_backoff_ms: 250 }, deadLetterTopic: uniqueName('dlq'), logger: silentLogger, sleep: async (ms) => void waits.push(ms) });
      await bus.publish(topic, [message('user-1', 'flaky')]);
      let deliveries = 0;
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async () => {
        if (++deliveries < 4) throw new Error('not yet');
      });
      cleanup.push(() => sub.stop());
      await sub.drained();
      expect(deliveries).toBe(4);
      expect(waits).toEqual([100, 200, 250]);
    });

    it(`bus > ${name} > bounded redelivery does not count a disk or broker outage: the message waits, nothing is dead-lettered`, async () => {
      const inner = await openBus();
      const topic = uniqueName();
      const deadLetterTopic = uniqueName('dlq');
      const bus = withBoundedRedelivery(inner, { options: { max_attempts: 2, backoff_ms: 0, max_backoff_ms: 0 }, deadLetterTopic, logger: silentLogger, sleep: async () => undefined });
      await bus.publish(topic, [message('user-1', 'needs-disk')]);
      let deliveries = 0;
      const sub = await bus.consume({ topics: [topic], group: uniqueName('group') }, async () => {
        deliveries++;
        if (deliveries <= 3) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      });
      cleanup.push(() => sub.stop());
      await sub.drained();
      expect(deliveries).toBe(4);
      const letters: BusMessage[] = [];
      await inner.publish(deadLetterTopic, [message('marker', 'end')]);
      const dlq = await collect(inner, deadLetterTopic, uniqueName('group'), letters);
      await dlq.drained();
      expect(letters.map(text)).toEqual(['end']);
    });
  });
}
