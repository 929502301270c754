import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('simulator > keep-alive', () => {
  it('a client using fetch() reuses its connection for requests one after the other', async () => {
    // Node's fetch (undici) drops a connection whose Keep-Alive timeout is under 2 s: with the
    // 1 s the simulator once sent, every request opened a new TCP connection, and the scale
    // bench measured connection set-up rather than the pipeline.
    sim = await startSimulator({ seed: 1, users: 1, exercisesPerUser: 1 });
    let connections = 0;
    const onConnected = () => void connections++;
    subscribe('undici:client:connected', onConnected);
    try {
      for (let i = 0; i < 10; i++) {
        const response = await fetch(`${sim.apiBaseUrl}/v3/notifications`);
        expect(response.status).toBe(401);
        await response.arrayBuffer();
      }
    } finally {
      unsubscribe('undici:client:connected', onConnected);
    }
    // One, or two when a request is sent before undici has put the previous socket back; never one each.
    expect(connections).toBeGreaterThanOrEqual(1);
    expect(connections).toBeLessThanOrEqual(2);
  });
});
