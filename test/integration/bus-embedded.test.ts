import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '../../src/bus/bus.ts';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { createBus } from '../../src/bus/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { busContract, message, uniqueName } from '../contract/bus.contract.ts';

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'polar-lake-bus-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

busContract('embedded (memory)', async (o) => new EmbeddedBus({ retryBackoffMs: 20, ...(o?.partitions ? { partitions: o.partitions } : {}) }));

busContract('embedded (durable)', async (o) =>
  new EmbeddedBus({
    dir: await tempDir(),
    retryBackoffMs: 20,
    // Tiny segments so the contract also crosses segment boundaries.
    segmentBytes: 200,
    ...(o?.partitions ? { partitions: o.partitions } : {}),
  }),
);

async function consumeAll(bus: EmbeddedBus, topic: string, group: string): Promise<BusMessage[]> {
  const received: BusMessage[] = [];
  const sub = await bus.consume({ topics: [topic], group }, async (b) => {
    received.push(...b.messages);
  });
  await sub.drained();
  await sub.stop();
  return received;
}

describe('bus > embedded (durable) > crash recovery', () => {
  it('bus > embedded (durable) > crash: reopened directory keeps every published message and committed offset', async () => {
    const dir = await tempDir();
    const topic = uniqueName();
    const crashed = new EmbeddedBus({ dir, partitions: 2, segmentBytes: 300 });
    const sent = Array.from({ length: 40 }, (_, i) => message(`user-${i % 3}`, `payload-${i}`, { n: String(i) }));
    await crashed.publish(topic, sent.slice(0, 20));
    // The group acknowledges the first 20, then the process "dies": no stop(), no close().
    await consumeAll(crashed, topic, 'sink');
    await crashed.publish(topic, sent.slice(20));

    const reopened = new EmbeddedBus({ dir, partitions: 5 });
    const resumed = await consumeAll(reopened, topic, 'sink');
    expect(resumed.map((m) => m.value.toString()).sort()).toEqual(sent.slice(20).map((m) => m.value.toString()).sort());
    // The topic kept its 2 partitions (asking for 5 does not move keys to other partitions).
    expect(new Set(resumed.map((m) => m.partition))).toEqual(new Set([0, 1]));

    const replay = await consumeAll(reopened, topic, 'new-group');
    expect(replay).toHaveLength(40);
    const byValue = new Map(replay.map((m) => [m.value.toString(), m]));
    for (const s of sent) {
      const got = byValue.get(s.value.toString())!;
      expect(got.key).toBe(s.key);
      expect(got.headers).toEqual(s.headers);
    }
    const segments = await readdir(join(dir, 'topics', topic, '0'));
    expect(segments.filter((n) => n.endsWith('.log')).length).toBeGreaterThan(1);
    await reopened.close();
  });

  it('bus > embedded (durable) > crash mid-write: a torn tail is cut off, earlier messages survive, new ones append', async () => {
    const dir = await tempDir();
    const topic = uniqueName();
    const first = new EmbeddedBus({ dir });
    await first.publish(topic, [message('u', 'A'), message('u', 'B')]);
    await first.close();
    const segmentDir = join(dir, 'topics', topic, '0');
    const [segment] = (await readdir(segmentDir)).filter((n) => n.endsWith('.log'));
    // Half a frame: a length prefix promising 100 bytes, followed by only 3.
    await appendFile(join(segmentDir, segment!), Buffer.from([0, 0, 0, 100, 1, 2, 3, 4, 9, 9, 9]));

    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn(event: string) {
        warnings.push(event);
      },
      error() {},
      child() {
        return logger;
      },
    };
    const second = new EmbeddedBus({ dir, logger });
    await second.publish(topic, [message('u', 'C')]);
    const all = await consumeAll(second, topic, 'g');
    expect(all.map((m) => [m.offset, m.value.toString()])).toEqual([
      ['0', 'A'],
      ['1', 'B'],
      ['2', 'C'],
    ]);
    expect(warnings).toContain('bus.log.torn_tail_dropped');
    await second.close();
  });

  it('bus > embedded (durable) > a corrupt frame before the tail is an error, not silent loss', async () => {
    const dir = await tempDir();
    const topic = uniqueName();
    const first = new EmbeddedBus({ dir, segmentBytes: 10 });
    await first.publish(topic, [message('u', 'A')]);
    await first.publish(topic, [message('u', 'B')]);
    await first.close();
    const segmentDir = join(dir, 'topics', topic, '0');
    const [oldest] = (await readdir(segmentDir)).filter((n) => n.endsWith('.log')).sort();
    await appendFile(join(segmentDir, oldest!), Buffer.from('garbage!!'));
    const second = new EmbeddedBus({ dir });
    await expect(second.publish(topic, [message('u', 'C')])).rejects.toMatchObject({ code: 'PL_BUS_LOG_CORRUPT' });
    await second.close();
  });
});

describe('bus > embedded > usage', () => {
  it('bus > embedded > two live subscriptions of one group on one topic are refused', async () => {
    const bus = new EmbeddedBus();
    const topic = uniqueName();
    const sub = await bus.consume({ topics: [topic], group: 'g' }, async () => {});
    await expect(bus.consume({ topics: [topic], group: 'g' }, async () => {})).rejects.toMatchObject({ code: 'PL_BUS_USAGE' });
    await sub.stop();
    const again = await bus.consume({ topics: [topic], group: 'g' }, async () => {});
    await again.stop();
    await bus.close();
  });

  it('bus > embedded > topic names that could escape the log folder are refused', async () => {
    const bus = new EmbeddedBus({ dir: await tempDir() });
    await expect(bus.publish('../etc', [message('u', 'x')])).rejects.toMatchObject({ code: 'PL_BUS_USAGE' });
    await expect(bus.publish('a/b', [message('u', 'x')])).rejects.toMatchObject({ code: 'PL_BUS_USAGE' });
    await bus.close();
  });

  it('bus > embedded > stop() interrupts the back-off of a failing batch', async () => {
    const bus = new EmbeddedBus({ retryBackoffMs: 60_000 });
    const topic = uniqueName();
    await bus.publish(topic, [message('u', 'x')]);
    let calls = 0;
    const sub = await bus.consume({ topics: [topic], group: 'g' }, async () => {
      calls++;
      throw new Error('always');
    });
    while (calls === 0) await new Promise((r) => setTimeout(r, 5));
    // A 60 s back-off is pending; stop must not wait for it (the test timeout would catch it).
    await sub.stop();
    expect(calls).toBe(1);
    await bus.close();
  }, 10_000);
});

describe('bus > createBus', () => {
  it('bus > createBus > no brokers gives the embedded bus, durable in embeddedDir', async () => {
    const dir = await tempDir();
    const topic = uniqueName();
    const bus = await createBus({ kafkaBrokers: [], embeddedDir: dir, logger: silentLogger });
    expect(bus.kind).toBe('embedded');
    await bus.publish(topic, [message('u', 'kept')]);
    await bus.close();
    const reopened = await createBus({ embeddedDir: dir, logger: silentLogger });
    const received: BusMessage[] = [];
    const sub = await reopened.consume({ topics: [topic], group: 'g' }, async (b) => {
      received.push(...b.messages);
    });
    await sub.drained();
    await reopened.close();
    expect(received.map((m) => m.value.toString())).toEqual(['kept']);
  });
});

describe('bus > embedded (durable) > retention', () => {
  const segmentFiles = async (dir: string, topic: string) => (await readdir(join(dir, 'topics', topic, '0'))).filter((n) => n.endsWith('.log'));

  it('bus > embedded (durable) > retention: segments every group acknowledged are deleted once old; the log resumes after a restart', async () => {
    const dir = await tempDir();
    const topic = uniqueName();
    const bus = new EmbeddedBus({ dir, segmentBytes: 300, retentionMs: 0 });
    // One publish per message: a segment rolls between appends.
    for (let i = 0; i < 30; i++) await bus.publish(topic, [message('u', `payload-${i}`)]);
    const before = (await segmentFiles(dir, topic)).length;
    expect(before).toBeGreaterThan(1);
    expect(await consumeAll(bus, topic, 'a')).toHaveLength(30);
    // Only the active segment is left: everything before it was acknowledged by the one group.
    expect(await segmentFiles(dir, topic)).toHaveLength(1);
    await bus.publish(topic, [message('u', 'after')]);
    await bus.close();

    const reopened = new EmbeddedBus({ dir, segmentBytes: 300, retentionMs: 0 });
    expect((await consumeAll(reopened, topic, 'a')).map((m) => m.value.toString())).toEqual(['after']);
    // A new group starts at the oldest message kept (Kafka's offset reset to earliest).
    const fresh = await consumeAll(reopened, topic, 'b');
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.at(-1)!.value.toString()).toBe('after');
    expect(Number(fresh[0]!.offset)).toBeGreaterThan(0);
    await reopened.close();
  });

  it('bus > embedded (durable) > retention: a group behind (or live with nothing committed) pins the log; young segments are kept', async () => {
    const dir = await tempDir();
    const topic = uniqueName();
    const bus = new EmbeddedBus({ dir, segmentBytes: 300, retentionMs: 0, retryBackoffMs: 10 });
    for (let i = 0; i < 30; i++) await bus.publish(topic, [message('u', `payload-${i}`)]);
    const before = (await segmentFiles(dir, topic)).length;
    expect(before).toBeGreaterThan(1);
    // Group "stuck" is live and fails every batch: it has committed nothing.
    const stuck = await bus.consume({ topics: [topic], group: 'stuck' }, async () => {
      throw new Error('not yet');
    });
    await consumeAll(bus, topic, 'fast');
    expect((await segmentFiles(dir, topic)).length).toBe(before);
    await stuck.stop();
    await bus.close();

    const young = new EmbeddedBus({ dir: await tempDir(), segmentBytes: 300 }); // default retention: 7 days
    for (let i = 0; i < 30; i++) await young.publish(topic, [message('u', `payload-${i}`)]);
    await consumeAll(young, topic, 'a');
    expect(await consumeAll(young, topic, 'replay')).toHaveLength(30);
    await young.close();
  });
});
