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
import { TOPICS, type Bus, type Subscription } from './bus/bus.ts';
import type { AccessLinkSettings } from './config.ts';
import { createRawZone, type RawZone } from './lake/raw-zone.ts';
import type { Pipeline } from './pipeline/load.ts';
import { encodeEnvelope, type DailyKind, type FetchedEvent, type PayloadKind } from './records/envelope.ts';
import { createFetchStage, type FetchReport, type FetchStage } from './stages/fetch.ts';
import { createParseStage, type ParseStage } from './stages/parse.ts';
import { createSinkStage, type SinkStage } from './stages/sink.ts';
import { openLedger, type Ledger } from './state/ledger.ts';
import { openUserRegistry, type UserRegistry } from './state/users.ts';
import type { Logger } from './telemetry/log.ts';

export type StageName = 'fetch' | 'parse' | 'sink';

export interface AppOptions {
  readonly lakeDir: string;
  readonly stateDir: string;
  readonly kafkaBrokers?: readonly string[] | null;
  readonly pipeline: Pipeline;
  readonly logger: Logger;
  /** Needed by the fetch stage and enrolment only. */
  readonly accesslink?: AccessLinkSettings | null;
  /** Consumer group prefix, so two pipelines (or tests) on one broker never share offsets. @default pipeline name */
  readonly groupPrefix?: string;
  /** Prefix of every topic name, so pipelines sharing a Kafka cluster stay apart. @default '' */
  readonly topicPrefix?: string;
  /** Test hook passed to the sink: runs between rename and acknowledgement. */
  readonly sinkBeforeAck?: () => void | Promise<void>;
}

export interface App {
  readonly bus: Bus;
  readonly rawZone: RawZone;
  readonly users: UserRegistry;
  readonly ledger: Ledger;
  readonly client: AccessLinkClient | null;
  readonly oauth: OAuth | null;
  readonly fetch: FetchStage | null;
  readonly parse: ParseStage;
  readonly sink: SinkStage;
  readonly lakeDir: string;
  /** Starts consuming stages (parse, sink, or both); the fetch stage is driven by runOnce or a schedule. */
  startConsumers(stages?: readonly StageName[]): Promise<Subscription[]>;
  /** One sweep: fetch, then wait until parse and sink have acknowledged everything it produced. */
  runOnce(): Promise<FetchReport>;
  /** Publishes a `fetched` event for every raw object, so parse and sink rebuild the tables. */
  replayRawZone(filter?: { payloads?: readonly PayloadKind[] }): Promise<number>;
  /** Waits until the consumers have acknowledged everything published so far. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Samples come from one payload per exercise: FIT, else TCX, else GPX (as the fetch stage decides). */
const SAMPLE_FEED_ORDER: readonly PayloadKind[] = ['fit', 'tcx', 'gpx'];

export async function createApp(options: AppOptions): Promise<App> {
  const { pipeline, logger } = options;
  const prefix = options.groupPrefix ?? `polar-lake-${pipeline.name}`;
  const sharedBus = await createBus({
    kafkaBrokers: options.kafkaBrokers ?? [],
    embeddedDir: join(options.stateDir, 'bus'),
    partitions: pipeline.bus.partitions,
    logger: logger.child({ component: 'bus' }),
  });
  const bus = namespacedBus(sharedBus, options.topicPrefix ?? '');
  const rawZone = createRawZone(options.lakeDir);
  const users = await openUserRegistry({ stateDir: options.stateDir, logger });
  const ledger = await openLedger({ stateDir: options.stateDir });
  const al = options.accesslink ?? null;
  const client = al
    ? createAccessLinkClient({ apiBaseUrl: al.apiBaseUrl, clientId: al.clientId, clientSecret: al.clientSecret, concurrency: pipeline.fetch.request_concurrency, logger })
    : null;
  const oauth = al
    ? createOAuth({ authorizeUrl: al.authorizeUrl, tokenUrl: al.tokenUrl, clientId: al.clientId, clientSecret: al.clientSecret, redirectUri: al.redirectUri, logger })
    : null;
  const fetch = client
    ? createFetchStage({
        client, users, rawZone, ledger, bus, logger, payloads: pipeline.fetch.payloads, daily: pipeline.fetch.daily, maxRoundsPerUser: pipeline.fetch.max_rounds_per_user,
        exerciseChannel: pipeline.fetch.exercise_channel,
      })
    : null;
  const parse = createParseStage({
    bus,
    rawZone,
    logger: logger.child({ stage: 'parse' }),
    group: `${prefix}-parse`,
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
    options: { ...pipeline.sink, group: `${prefix}-sink`, ...(options.sinkBeforeAck ? { beforeAck: options.sinkBeforeAck } : {}) },
  });

  const subscriptions: Subscription[] = [];

  async function startConsumers(stages: readonly StageName[] = ['parse', 'sink']): Promise<Subscription[]> {
    const started: Subscription[] = [];
    if (stages.includes('parse')) started.push(await parse.start());
    if (stages.includes('sink')) started.push(await sink.start());
    subscriptions.push(...started);
    return started;
  }

  async function drain(): Promise<void> {
    // Stage order matters: parse publishes what the sink consumes, so wait in flow order.
    for (const subscription of subscriptions) await subscription.drained();
  }

  async function replayRawZone(filter: { payloads?: readonly PayloadKind[] } = {}): Promise<number> {
    // Group the raw objects per exercise so the samples source follows the same rule as fetch.
    const exercises = new Map<string, { userId: string; exerciseId: string; keys: Map<PayloadKind, string> }>();
    for await (const key of rawZone.list('raw/exercises/')) {
      const m = /user_id=([^/]+)\/exercise_id=([^/]+)\/(summary|tcx|gpx|fit)\./.exec(key);
      if (!m) continue;
      const [, userId, exerciseId, payload] = m as unknown as [string, string, string, PayloadKind];
      const id = `${userId}/${exerciseId}`;
      const entry = exercises.get(id) ?? { userId, exerciseId, keys: new Map() };
      entry.keys.set(payload, key);
      exercises.set(id, entry);
    }
    let published = 0;
    // Daily payloads: one object per (kind, user, date), each its own event.
    for await (const key of rawZone.list('raw/daily/')) {
      const m = /^raw\/daily\/(activity|sleep)\/user_id=([^/]+)\/date=(\d{4}-\d{2}-\d{2})\/[a-z]+\.json\.gz$/.exec(key);
      if (!m) continue;
      const [, payload, userId, date] = m as unknown as [string, DailyKind, string, string];
      if (filter.payloads && !filter.payloads.includes(payload)) continue;
      const event: FetchedEvent = {
        type: 'fetched', user_id: userId, exercise_id: date, payload, date, raw_key: key, bytes: 0, sha256: '',
        fetched_at_utc: new Date().toISOString(), utc_offset_min: null, feeds_samples: false,
      };
      await bus.publish(TOPICS.fetched, [{ key: userId, value: encodeEnvelope(event) }]);
      published++;
    }
    for (const { userId, exerciseId, keys } of exercises.values()) {
      const feed = SAMPLE_FEED_ORDER.find((p) => keys.has(p));
      const offset = await summaryOffset(rawZone, keys.get('summary'));
      const events: FetchedEvent[] = [];
      for (const [payload, rawKey] of keys) {
        if (filter.payloads && !filter.payloads.includes(payload)) continue;
        events.push({
          type: 'fetched', user_id: userId, exercise_id: exerciseId, payload, raw_key: rawKey, bytes: 0, sha256: '',
          fetched_at_utc: new Date().toISOString(), utc_offset_min: offset, feeds_samples: payload === feed,
        });
      }
      await bus.publish(TOPICS.fetched, events.map((e) => ({ key: userId, value: encodeEnvelope(e) })));
      published += events.length;
    }
    return published;
  }

  return {
    bus, rawZone, users, ledger, client, oauth, fetch, parse, sink, lakeDir: options.lakeDir,
    startConsumers,
    drain,
    replayRawZone,
    async runOnce() {
      if (!fetch) throw new Error('runOnce needs AccessLink settings (POLAR_CLIENT_ID / POLAR_CLIENT_SECRET)');
      const report = await fetch.runOnce();
      await drain();
      return report;
    },
    async close() {
      for (const subscription of subscriptions.splice(0)) await subscription.stop();
      await sink.close();
      await bus.close();
    },
  };
}

/** The summary's local offset, so file parsers can give local times where the file has none. */
async function summaryOffset(rawZone: RawZone, key: string | undefined): Promise<number | null> {
  if (!key) return null;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of rawZone.open(key)) chunks.push(chunk as Buffer);
    const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const value = json['start-time-utc-offset'] ?? json['start_time_utc_offset'];
    return typeof value === 'number' ? value : null;
  } catch {
    return null; // a broken summary is dead-lettered by the parse stage; the files still parse
  }
}
