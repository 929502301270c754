/**
 * How a long-running command stops: the first SIGTERM or SIGINT asks it to drain (stop taking
 * work, flush, acknowledge what is durable, close); if that has not finished within the bound,
 * or a second signal comes, the process exits at once. Exiting mid-write is safe by design
 * (nothing is acknowledged or committed before it is durable), so the bound only protects
 * orchestrators (compose, Kubernetes) from a process that lingers.
 */
import { EXIT } from './exit-codes.ts';
import type { Logger } from '../telemetry/log.ts';

export interface Shutdown {
  /** Aborted when a stop was requested (signal or `stop()`). */
  readonly signal: AbortSignal;
  /** Resolves when a stop was requested. */
  readonly requested: Promise<void>;
  stop(reason: string): void;
  /** Removes the signal handlers (when the command ends by itself). */
  dispose(): void;
}

export function onShutdownSignals(logger: Logger, boundMs = Number(process.env['POLAR_LAKE_SHUTDOWN_TIMEOUT_MS']) || 25_000): Shutdown {
  const controller = new AbortController();
  let resolveRequested!: () => void;
  const requested = new Promise<void>((r) => (resolveRequested = r));
  const stop = (reason: string) => {
    if (controller.signal.aborted) {
      logger.warn('pipeline.stop.forced', { reason });
      process.exit(EXIT.tempFail);
    }
    logger.info('pipeline.stopping', { reason, bound_ms: boundMs });
    controller.abort(new Error(reason));
    resolveRequested();
    setTimeout(() => {
      logger.error('pipeline.stop.timed_out', { bound_ms: boundMs });
      process.exit(EXIT.tempFail);
    }, boundMs).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    signal: controller.signal,
    requested,
    stop,
    dispose() {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}
