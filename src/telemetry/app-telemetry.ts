/**
 * Serves a running app's telemetry (metrics, health, readiness, status page) and samples
 * its history once a minute for the status charts.
 */
import type { App } from '../app.ts';
import { TABLE_NAMES } from '../lake/schema.ts';
import type { Logger } from './log.ts';
import { createMetricsRegistry } from './metrics.ts';
import { startTelemetryServer, type TelemetryServer } from './server.ts';
import { appStatus } from './status.ts';

/** Total consumer lag, or null when any stage's lag could not be read (a failed read is not 0). */
export async function totalLag(app: App): Promise<number | null> {
  let total = 0;
  for (const { subscription } of app.consumers()) {
    const lag = await subscription.lag().catch(() => null);
    if (lag === null) return null;
    total += lag;
  }
  return total;
}

/** One history point now (the status charts' minute). */
export async function sampleHistory(app: App): Promise<void> {
  app.observer.sample(await totalLag(app));
}

export interface AppTelemetryOptions {
  readonly host: string;
  readonly port: number;
  readonly stages: readonly string[];
  readonly logger: Logger;
  /** Whether the process has started its stages and not begun to stop. */
  readonly started: () => boolean;
  /** @default 60000; 0 samples only when told (tests) */
  readonly sampleEveryMs?: number;
}

export async function serveAppTelemetry(app: App, options: AppTelemetryOptions): Promise<TelemetryServer> {
  const server = await startTelemetryServer({
    host: options.host,
    port: options.port,
    registry: createMetricsRegistry(app),
    status: () => appStatus(app, TABLE_NAMES, { stages: options.stages }),
    // Ready: stages started, not stopping, and every consumer's offsets readable (the bus answers).
    ready: async () => options.started() && (await totalLag(app)) !== null,
    logger: options.logger,
  });
  const every = options.sampleEveryMs ?? 60_000;
  const timer = every > 0 ? setInterval(() => void sampleHistory(app), every) : null;
  timer?.unref();
  return {
    url: server.url,
    async close() {
      if (timer) clearInterval(timer);
      await server.close();
    },
  };
}
