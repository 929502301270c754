import type { Command } from 'commander';
import { createApp } from '../../app.ts';
import { ConfigError } from '../../errors.ts';
import type { PayloadKind } from '../../records/envelope.ts';
import { commandContext } from '../context.ts';

// Imported exercises (`polar-lake import`) have no summary: their file gives the exercise row too.
const TABLE_PAYLOADS: Record<string, PayloadKind[]> = {
  exercises: ['summary', 'flow', 'hrm', 'ppt', 'fit', 'tcx', 'gpx'],
  samples: ['fit', 'tcx', 'gpx', 'flow', 'hrm', 'ppt'],
  laps: ['fit', 'tcx', 'gpx', 'flow', 'hrm', 'ppt'],
};

/**
 * `polar-lake replay`: rebuilds tables from the raw zone, the source of truth (after a parser
 * fix or a schema change). Every raw object is announced on polar.fetched again; the parse
 * stage yields the same source ids, so the sink replaces each source's rows: nothing doubles.
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description('re-parse every raw object into the lake (idempotent: replaces, never doubles)')
    .option('--table <table>', `only the payloads feeding one table (${Object.keys(TABLE_PAYLOADS).join(', ')})`)
    .option('--pipeline <file>', 'pipeline file')
    .action(async (opts: { table?: string; pipeline?: string }) => {
      const { config, pipeline, logger } = commandContext(opts.pipeline ? { pipelineFile: opts.pipeline } : {});
      const payloads = opts.table ? TABLE_PAYLOADS[opts.table] : undefined;
      if (opts.table && !payloads) throw new ConfigError(`unknown table "${opts.table}" (allowed: ${Object.keys(TABLE_PAYLOADS).join(', ')})`, '--table');
      const app = await createApp({ lakeDir: config.lakeDir, stateDir: config.stateDir, kafkaBrokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, pipeline, logger });
      try {
        // With Kafka the parse and sink processes do the work; embedded, this process does.
        if (!config.kafkaBrokers) await app.startConsumers();
        const published = await app.replayRawZone(payloads ? { payloads } : {});
        if (!config.kafkaBrokers) await app.drain();
        console.log(JSON.stringify({ replayed_raw_objects: published, parse: app.parse.counters }, null, 2));
      } finally {
        await app.close();
      }
    });
}
