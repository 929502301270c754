/**
 * The client's body reading against a real local server: caps, stalls, resets, short bodies.
 * Regression tests of issue 7 are named after the defect they caught.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccessLinkClient } from '../../src/accesslink/client.ts';
import { AccessLinkIncompleteBodyError, AccessLinkNetworkError, AccessLinkPayloadTooLargeError } from '../../src/accesslink/errors.ts';
import { createVirtualClock } from '../../src/clock.ts';
import { createLogger } from '../../src/telemetry/log.ts';

let server: Server | undefined;
afterEach(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((r) => server!.close(r));
  }
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<string> {
  let n = 0;
  server = createServer((req, res) => handler(req, res, n++));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const TOKEN = 'bearer-token-value';
const EXERCISE = (base: string) => `${base}/v3/users/1/exercise-transactions/2/exercises/3`;
const TCX = '<?xml version="1.0"?><TrainingCenterDatabase><Activities><Activity><Id>x</Id></Activity></Activities></TrainingCenterDatabase>';
const clientFor = (base: string, extra: Parameters<typeof createAccessLinkClient>[0] extends infer O ? Partial<O> : never = {}) =>
  createAccessLinkClient({ apiBaseUrl: base, clientId: 'c', clientSecret: 's', retry: { retries: 2, initialRetryTimeMs: 1, maxRetryTimeMs: 2 }, clock: createVirtualClock(), ...extra });
/** Drains a body into a string, as the raw zone would store it. */
const collect = async (body: NodeJS.ReadableStream) => {
  const chunks: Buffer[] = [];
  await pipeline(body, new Writable({ write: (c: Buffer, _e, cb) => { chunks.push(c); cb(); } }));
  return Buffer.concat(chunks).toString();
};

describe('accesslink > body > issue 7: a reset in the middle of a JSON body surfaced as PL_UNEXPECTED ("terminated")', () => {
  it('is PL_ACCESSLINK_NETWORK (transient), and the retry gets the whole body', async () => {
    const base = await serve((_req, res, n) => {
      const body = JSON.stringify({ id: 3, pad: 'x'.repeat(20_000) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      if (n === 0) {
        res.write(body.slice(0, 5000));
        setImmediate(() => res.socket?.resetAndDestroy());
        return;
      }
      res.end(body);
    });
    const summary = await clientFor(base).getExerciseSummary(EXERCISE(base), TOKEN);
    expect(summary?.json['id']).toBe(3);

    const always = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id": 3, "pad": "');
      setImmediate(() => res.socket?.resetAndDestroy());
    });
    const error = await clientFor(always).getExerciseSummary(EXERCISE(always), TOKEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessLinkNetworkError);
    expect((error as AccessLinkNetworkError).kind).toBe('transient');
  });
});

describe('accesslink > body > incomplete bodies are transient errors', () => {
  it('a JSON body cut cleanly mid-value (chunked, no Content-Length) is PL_ACCESSLINK_INCOMPLETE_BODY, retried', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": 3, "sport": "RUNN');
    });
    const error = await clientFor(base).getExerciseSummary(EXERCISE(base), TOKEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessLinkIncompleteBodyError);
    expect(calls).toBe(3);
  });

  it('a body shorter than its Content-Length never reaches the consumer whole', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.garmin.tcx+xml', 'content-length': TCX.length + 50 });
      res.write(TCX);
      setImmediate(() => res.socket?.end());
    });
    let ended = 0;
    const error = await clientFor(base).getExerciseFile(EXERCISE(base), 'tcx', TOKEN, async (body) => {
      await collect(body);
      ended++;
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'transient' });
    expect(ended).toBe(0);
  });

  it('a chunked TCX that ends cleanly before its root closes fails before its last chunk; the retry stores it whole', async () => {
    const base = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/vnd.garmin.tcx+xml' });
      res.end(n === 0 ? TCX.slice(0, 70) : TCX);
    });
    const seen: string[] = [];
    const stored = await clientFor(base).getExerciseFile(EXERCISE(base), 'tcx', TOKEN, async (body) => {
      const text = await collect(body);
      seen.push(text);
      return text;
    });
    expect(stored).toBe(TCX);
    // The first attempt's consumer saw an error, never an end: it committed nothing.
    expect(seen).toEqual([TCX]);
  });
});

describe('accesslink > body > issue 7: a 750 MB JSON body took the process to 2.4 GB', () => {
  it('a body past the cap is cut off there with PL_ACCESSLINK_PAYLOAD_TOO_LARGE, not read whole', async () => {
    let written = 0;
    let serverClosed: (early: boolean) => void = () => {};
    const closed = new Promise<boolean>((r) => (serverClosed = r));
    const total = 32 * 1024 * 1024;
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('close', () => serverClosed(written < total));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.write('[');
      pump();
    });
    const client = clientFor(base, { maxResponseBytes: { json: 1024 * 1024 } });
    const error = await client.getExerciseSummary(EXERCISE(base), TOKEN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessLinkPayloadTooLargeError);
    expect((error as AccessLinkPayloadTooLargeError).message).toMatch(/max_response_bytes\.json \(1048576\)/);
    expect(await closed).toBe(true); // the client hung up mid-body
    expect(written).toBeLessThan(total);
  });

  it('a declared Content-Length over the cap is refused before the body is read; a file too', async () => {
    let requests = 0;
    const base = await serve((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 10 * 1024 * 1024 });
      res.write(Buffer.alloc(1024));
    });
    const client = clientFor(base, { maxResponseBytes: { fit: 1024 * 1024 } });
    const received: string[] = [];
    const error = await client.getExerciseFile(EXERCISE(base), 'fit', TOKEN, async (body) => received.push(await collect(body))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessLinkPayloadTooLargeError);
    expect(received).toEqual([]); // the stream failed before its first byte
    expect(requests).toBe(1); // not retried: it would be as large again
  });
});

describe('accesslink > body > a stalled body', () => {
  it('times out as PL_ACCESSLINK_NETWORK ETIMEDOUT and is retried', async () => {
    const base = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/vnd.garmin.tcx+xml' });
      if (n === 0) res.write(TCX.slice(0, 40)); // then nothing, until the client gives up
      else res.end(TCX);
    });
    const lines: string[] = [];
    const client = clientFor(base, { bodyIdleTimeoutMs: 150, logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
    const stored = await client.getExerciseFile(EXERCISE(base), 'tcx', TOKEN, collect);
    expect(stored).toBe(TCX);
    const retried = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['event'] === 'accesslink.request.retried');
    expect(retried).toMatchObject({ reason: 'PL_ACCESSLINK_NETWORK', window: 'back_off' });
  });
});
