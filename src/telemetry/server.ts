/**
 * The HTTP endpoints of a running process (POLAR_LAKE_METRICS_LISTEN):
 *
 * | path          | answers                                                                    |
 * |---------------|----------------------------------------------------------------------------|
 * | /metrics      | Prometheus text (metrics.ts)                                                |
 * | /health       | 200 while the process serves (liveness)                                     |
 * | /ready        | 200 when the stages run and the bus answers, else 503 (readiness)           |
 * | /status       | the status page (HTML, status-html.ts)                                      |
 * | /status.json  | the same snapshot as JSON (what `polar-lake status` reads)                  |
 */
import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './log.ts';
import type { StatusSnapshot } from './status.ts';
import { renderStatusHtml } from './status-html.ts';
import { listen } from '../net/listen.ts';

export interface TelemetryServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly status: () => Promise<StatusSnapshot>;
  /** Readiness: resolves true when the process does its work. */
  readonly ready: () => Promise<boolean>;
  readonly logger: Logger;
}

export interface TelemetryServer {
  /** Origin, e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

export async function startTelemetryServer(options: TelemetryServerOptions): Promise<TelemetryServer> {
  const routes: Record<string, () => Promise<{ status: number; type: string; body: string }>> = {
    '/metrics': async () => ({ status: 200, type: options.registry.contentType, body: await options.registry.metrics() }),
    '/health': async () => ({ status: 200, type: 'text/plain', body: 'ok\n' }),
    '/ready': async () => ((await options.ready().catch(() => false)) ? { status: 200, type: 'text/plain', body: 'ready\n' } : { status: 503, type: 'text/plain', body: 'not ready\n' }),
    '/status': async () => ({ status: 200, type: 'text/html; charset=utf-8', body: renderStatusHtml(await options.status()) }),
    '/status.json': async () => ({ status: 200, type: 'application/json', body: JSON.stringify(await options.status(), null, 2) }),
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = req.method === 'GET' ? routes[path === '/' ? '/status' : path] : undefined;
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    route()
      .then(({ status, type, body }) => res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body))
      .catch((error: unknown) => {
        options.logger.error('telemetry.request.failed', { path, error });
        res.writeHead(500).end();
      });
  });
  const address = await listen(server, options.port, options.host, 'the metrics server');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
