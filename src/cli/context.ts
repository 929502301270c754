/** What every pipeline command needs: configuration, the pipeline file and a logger. */
import { loadConfig, type RuntimeConfig } from '../config.ts';
import { loadPipeline, type Pipeline } from '../pipeline/load.ts';
import { createLogger, type Logger } from '../telemetry/log.ts';

export interface CommandContext {
  readonly config: RuntimeConfig;
  readonly pipeline: Pipeline;
  readonly logger: Logger;
}

export function commandContext(overrides: { pipelineFile?: string } = {}): CommandContext {
  const config = loadConfig();
  return {
    config,
    pipeline: loadPipeline(overrides.pipelineFile ?? config.pipelineFile),
    logger: createLogger({ bindings: { app: 'polar-lake' } }),
  };
}
