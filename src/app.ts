/**
 * Assembles the stages from configuration: one bus, one raw zone, the user registry and
 * ledger, an AccessLink client, and the fetch / parse / sink stages written against the
 * bus. `run`, `demo`, `replay` and the end-to-end tests all go through here, so the embedded
 * and Kafka deployments differ only in the bus that `createBus` returns.
 */
import { join } from 'node:path';
import { createAccessLinkClient, type AccessLinkClient } from './accesslink/client.ts';
import { createOAuth, type OAuth } from './accesslink/oauth.ts';
import { createBus } from './bus/index.ts';
import { namespacedBus } from './bus/namespace.ts';
import { withBoundedRedelivery } from './bus/redelivery.ts';
import { TOPICS, type Bus, type Subscription } from './bus/bus.ts';
import type { AccessLinkSettings } from './config.ts';
import { ensureLake } from './lake/lake-root.ts';
import { createRawZone, type RawZone } from './lake/raw-zone.ts';
import { dailySweepConfig } from './pipeline/data-types.ts';
import type { Pipeline } from './pipeline/load.ts';
import { createFetchStage, type FetchReport, type FetchStage } from './stages/fetch.ts';
import { createParseStage, type ParseStage } from './stages/parse.ts';
import { replayRawZone, type ReplayFilter } from './stages/replay.ts';
import { createSinkStage, type SinkStage } from './stages/sink.ts';
import { ConfigError } from './errors.ts';
import { openLedger, type Ledger } from './state/ledger.ts';
import { openIdentityRegistry, type IdentityRegistry } from './jobs/exercise-identity.ts';
import { lockExerciseChannel } from './state/channel-lock.ts';
import { openUserRegistry, type UserRegistry } from './state/users.ts';
import type { Logger } from './telemetry/log.ts';
import { createPipelineObserver, type PipelineObserver } from './telemetry/observer.ts';
import { createRateLimitGate, type RateLimitGate } from './accesslink/rate-limit.ts';
import { observedBus } from './bus/observed.ts';

export type StageName = 'fetch' | 'parse' | 'sink';

export interface AppOptions {
  readonly lakeDir: string;
  readonly stateDir: string;
  readonly kafkaBrokers?: readonly string[] | null;
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  /** Needed by the fetch stage and enrolment only. */
  readonly accesslink?: AccessLinkSettings | null;
  /** Consumer group prefix, so two pipelines (or tests) on one broker never share offsets. @default `<topicPrefix>polar-lake-<pipeline name>` */
  readonly groupPrefix?: string;
  /** Prefix of every topic name, so pipelines sharing a Kafka cluster stay apart. @default '' */
  readonly topicPrefix?: string;
  /** Test hook passed to the sink: runs between rename and acknowledgement. */
  readonly sinkBeforeAck?: () => void | Promise<void>;
  /** Clock of the telemetry (status page history, unfetched ages). @default Date.now */
  readonly now?: () => number;
  /** Waits between redeliveries of a failing message (tests inject one that does not wait). */
  readonly redeliverySleep?: (ms: number) => Promise<void>;
}

export interface App {
  readonly bus: Bus;
  readonly rawZone: RawZone;
  readonly users: UserRegistry;
  readonly ledger: Ledger;
  /** One exercise, once: which arrivals of a workout are the same (src/jobs/exercise-identity.ts). */
  readonly identities: IdentityRegistry;
  readonly client: AccessLinkClient | null;
  readonly oauth: OAuth | null;
  readonly fetch: FetchStage | null;
  readonly parse: ParseStage;
  readonly sink: SinkStage;
  readonly lakeDir: string;
  readonly stateDir: string;
  /** What the stages report as they work (metrics, status page). */
  readonly observer: PipelineObserver;
  /** The AccessLink rate-limit gate (budget use), when there is a client. */
  readonly rateLimitGate: RateLimitGate | null;
  /** The consuming stages started so far, for metrics (lag per stage). */
  consumers(): readonly { readonly stage: StageName; readonly subscription: Subscription }[];
  /** Starts consuming stages (parse, sink, or both); the fetch stage is driven by runOnce or a schedule. */
  startConsumers(stages?: readonly StageName[]): Promise<Subscription[]>;
  /** One sweep: fetch, then wait until parse and sink have acknowledged everything it produced. */
  runOnce(): Promise<FetchReport>;
  /** Publishes a `fetched` event for every raw object, so parse and sink rebuild the tables. */
  replayRawZone(filter?: ReplayFilter): Promise<number>;
  /** Waits until the consumers have acknowledged everything published so far. */
  drain(): Promise<void>;
  close(): Promise<void>;
}


export async function createApp(options: AppOptions): Promise<App> {
  const { pipeline, logger } = options;
  const prefix = options.groupPrefix ?? `${options.topicPrefix ?? ''}polar-lake-${pipeline.name}`;
  const sharedBus = await createBus({
    kafkaBrokers: options.kafkaBrokers ?? [],
    embeddedDir: join(options.stateDir, 'bus'),
    partitions: pipeline.bus.partitions,
    sessionTimeoutMs: pipeline.bus.session_timeout_ms,
    logger: logger.child({ component: 'bus' }),
  });
  const observer = createPipelineObserver({ logger, ...(options.now ? { now: options.now } : {}) });
  // Every consuming stage gets bounded redelivery: a message that keeps failing is dead-lettered, its partition moves on.
  const redelivering = withBoundedRedelivery(namespacedBus(sharedBus, options.topicPrefix ?? ''), {
    options: pipeline.bus.redelivery,
    deadLetterTopic: TOPICS.deadletter,
    logger: logger.child({ component: 'bus' }),
    ...(options.redeliverySleep ? { sleep: options.redeliverySleep } : {}),
  });
  const bus = observedBus(redelivering, observer.onPublished);
  await ensureLake(options.lakeDir);
  const rawZone = createRawZone(options.lakeDir);
  const users = await openUserRegistry({ stateDir: options.stateDir, logger });
  const ledger = await openLedger({ stateDir: options.stateDir });
  const identities = await openIdentityRegistry({ stateDir: options.stateDir });
  const al = options.accesslink ?? null;
  const rateLimitGate = al ? createRateLimitGate({ logger }) : null;
  const client = al && rateLimitGate
    ? createAccessLinkClient({
        apiBaseUrl: al.apiBaseUrl, clientId: al.clientId, clientSecret: al.clientSecret, concurrency: pipeline.fetch.request_concurrency, logger,
        rateLimitGate, onResponse: observer.onResponse,
        maxResponseBytes: pipeline.fetch.max_response_bytes, bodyIdleTimeoutMs: pipeline.fetch.body_idle_timeout_secs * 1000,
      })
    : null;
  const oauth = al
    ? createOAuth({ authorizeUrl: al.authorizeUrl, tokenUrl: al.tokenUrl, clientId: al.clientId, clientSecret: al.clientSecret, redirectUri: al.redirectUri, logger })
    : null;
  if (client) await lockExerciseChannel(options.stateDir, pipeline.fetch.exercise_channel);
  const dailySweep = dailySweepConfig(pipeline.fetch);
  const fetch = client
    ? createFetchStage({
        client, users, rawZone, ledger, bus, logger, payloads: pipeline.fetch.payloads, daily: dailySweep.kinds, dailySchedule: dailySweep.schedule, maxRoundsPerUser: pipeline.fetch.max_rounds_per_user,
        exerciseChannel: pipeline.fetch.exercise_channel, onUserSwept: observer.onUserSwept, transactional: pipeline.fetch.transactional,
        physicalInfo: pipeline.fetch.physical_info && dailySweep.kinds.length > 0,
        // Twice the requests in flight: while some users store, fsync and publish, others keep every request slot busy.
        userConcurrency: 2 * pipeline.fetch.request_concurrency,
      })
    : null;
  const parse = createParseStage({
    bus,
    rawZone,
    logger: logger.child({ stage: 'parse' }),
    group: `${prefix}-parse`,
    identities,
    options: {
      tokenizer: pipeline.parse.tokenizer,
      batchRows: pipeline.parse.batch_rows,
      timeOrder: pipeline.parse.time_order,
      limits: { maxTextChars: pipeline.parse.max_xml_text_chars, maxDepth: pipeline.parse.max_xml_depth, maxFitBytes: pipeline.parse.max_fit_bytes },
    },
  });
  const sink = createSinkStage({
    bus,
    lakeRoot: options.lakeDir,
    logger: logger.child({ stage: 'sink' }),
    onCommitted: observer.onCommitted,
    options: { ...pipeline.sink, group: `${prefix}-sink`, ...(options.sinkBeforeAck ? { beforeAck: options.sinkBeforeAck } : {}) },
  });

  const consumers: { stage: StageName; subscription: Subscription }[] = [];

  // A Kafka broker that comes back empty has lost whatever was on its topics and not yet in the
  // lake. The process that fetches (the raw zone's writer) notices when `polar.fetched` has to be
  // created while the raw zone already holds objects, and announces the raw zone again: the
  // sink's manifests skip what is already there, so this restores without doubling.
  let recovery: Promise<unknown> = Promise.resolve();
  if (fetch && bus.onTopicCreated) {
    bus.onTopicCreated((topic) => {
      if (topic !== TOPICS.fetched) return;
      recovery = recovery.then(async () => {
        const first = rawZone.list('raw/')[Symbol.asyncIterator]();
        const any = !(await first.next()).done;
        await first.return?.();
        if (!any) return;
        logger.warn('bus.recovery.replaying', { reason: `topic ${topic} had to be created while the raw zone holds objects: the broker lost its data` });
        const published = await replayRawZone(rawZone, bus);
        logger.info('bus.recovery.replayed', { raw_objects: published });
      }).catch((error: unknown) => logger.error('bus.recovery.failed', { error }));
    });
  }

  async function startConsumers(stages: readonly StageName[] = ['parse', 'sink']): Promise<Subscription[]> {
    const started: { stage: StageName; subscription: Subscription }[] = [];
    if (stages.includes('parse')) started.push({ stage: 'parse', subscription: await parse.start() });
    if (stages.includes('sink')) started.push({ stage: 'sink', subscription: await sink.start() });
    consumers.push(...started);
    return started.map((c) => c.subscription);
  }

  async function drain(): Promise<void> {
    // Stage order matters: parse publishes what the sink consumes, so wait in flow order.
    for (const { subscription } of consumers) await subscription.drained();
  }

  return {
    bus, rawZone, users, ledger, identities, client, oauth, fetch, parse, sink, lakeDir: options.lakeDir, stateDir: options.stateDir, observer, rateLimitGate,
    consumers: () => consumers,
    startConsumers,
    drain,
    replayRawZone: (filter) => replayRawZone(rawZone, bus, filter),
    async runOnce() {
      if (!fetch) throw new ConfigError('a fetch run needs AccessLink settings: set POLAR_CLIENT_ID and POLAR_CLIENT_SECRET', 'POLAR_CLIENT_ID');
      const report = await fetch.runOnce();
      await drain();
      return report;
    },
    async close() {
      await recovery;
      for (const { subscription } of consumers.splice(0)) await subscription.stop();
      await sink.close();
      await bus.close();
    },
  };
}
