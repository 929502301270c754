/**
 * Runtime configuration from the environment (twelve-factor): where the lake and the state
 * live, which bus, which AccessLink. Pipeline knobs (batch sizes, schedules) live in
 * pipelines/*.yaml instead. Read once, validated, frozen.
 *
 * | variable               | meaning                                            | default                         |
 * |------------------------|----------------------------------------------------|---------------------------------|
 * | POLAR_LAKE_DIR         | lake root (raw zone under raw/, tables beside it)  | ./lake                          |
 * | POLAR_LAKE_STATE_DIR   | users, encrypted tokens, ledger, embedded bus log  | ./state                         |
 * | KAFKA_BROKERS          | comma-separated brokers; unset = embedded bus      | (unset)                         |
 * | POLAR_LAKE_TOPIC_PREFIX | prefix of topic and group names (shared clusters) | (none)                          |
 * | POLAR_CLIENT_ID        | AccessLink client id                               | (required for real AccessLink)  |
 * | POLAR_CLIENT_SECRET    | AccessLink client secret (never logged)            | (required for real AccessLink)  |
 * | POLAR_API_BASE_URL     | AccessLink API origin                              | https://www.polaraccesslink.com |
 * | POLAR_AUTHORIZE_URL    | OAuth2 authorization endpoint                      | https://flow.polar.com/oauth2/authorization |
 * | POLAR_TOKEN_URL        | OAuth2 token endpoint                              | https://polarremote.com/v2/oauth2/token |
 * | POLAR_REDIRECT_URI     | OAuth2 redirect URI registered for the client      | http://127.0.0.1:8765/callback  |
 * | POLAR_LAKE_PIPELINE    | pipeline file                                      | pipelines/default.yaml          |
 * | POLAR_WEBHOOK_LISTEN   | host:port for the webhook receiver (fetch process) | (unset: no receiver)            |
 * | POLAR_LAKE_METRICS_LISTEN | host:port serving /metrics, /health, /ready, /status (docs/operating.md) | (unset: none) |
 * | POLAR_LAKE_CALLBACK_LISTEN | host:port where `run` serves the OAuth redirect URI's path (behind a reverse proxy) | (unset) |
 * | POLAR_WEBHOOK_MAX_AGE_SECS | a signed event sent longer ago (or later) than this is a replay: dropped | 600 |
 * | POLAR_LAKE_METRICS_LISTEN | host:port serving /metrics (Prometheus text)    | (unset: no endpoint)            |
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { DEFAULT_PIPELINE_FILE } from './pipeline/load.ts';

export interface AccessLinkSettings {
  readonly apiBaseUrl: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly redirectUri: string;
  readonly clientId: string;
  /** Kept out of logs: the logger redacts `*secret*` fields, and nothing prints this object. */
  readonly clientSecret: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

function hostPort(env: NodeJS.ProcessEnv, name: string): HostPort | null {
  const value = env[name];
  if (!value) return null;
  const m = /^([\w.-]+):(\d{1,5})$/.exec(value);
  if (!m) throw new ConfigError(`expected host:port, got ${JSON.stringify(value)}`, name);
  return Object.freeze({ host: m[1] as string, port: Number(m[2]) });
}

export interface RuntimeConfig {
  readonly lakeDir: string;
  readonly stateDir: string;
  readonly kafkaBrokers: readonly string[] | null;
  /** Prefix of every topic and consumer group name, so deployments can share a Kafka cluster. */
  readonly topicPrefix: string;
  readonly pipelineFile: string;
  readonly accesslink: AccessLinkSettings | null;
  /** Where the webhook receiver listens, or null when webhooks are off. */
  readonly webhookListen: HostPort | null;
  /** Replay window of the webhook receiver: events whose `timestamp` is further from now are dropped without a fetch. */
  readonly webhookMaxEventAgeMs: number;
  /** Where /metrics is served, or null. */
  readonly metricsListen: HostPort | null;
  /** Where `run` serves the OAuth redirect URI's path (headless enrolment), or null. */
  readonly callbackListen: HostPort | null;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const value = env[name] ?? fallback;
  try {
    return new URL(value).toString().replace(/\/$/, '');
  } catch (cause) {
    throw new ConfigError(`not a URL: ${JSON.stringify(value)}`, name, { cause });
  }
}

function webhookMaxAgeMs(env: NodeJS.ProcessEnv): number {
  const value = env['POLAR_WEBHOOK_MAX_AGE_SECS'];
  if (value === undefined || value === '') return 600_000;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new ConfigError(`expected whole seconds from 1 to 999999, got ${JSON.stringify(value)}`, 'POLAR_WEBHOOK_MAX_AGE_SECS');
  return Number(value) * 1000;
}

function topicPrefix(env: NodeJS.ProcessEnv): string {
  const value = env['POLAR_LAKE_TOPIC_PREFIX'] ?? '';
  if (!/^[A-Za-z0-9._-]{0,100}$/.test(value)) throw new ConfigError('only letters, digits, ".", "_" and "-" (Kafka topic name characters)', 'POLAR_LAKE_TOPIC_PREFIX');
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const brokers = env['KAFKA_BROKERS']?.split(',').map((b) => b.trim()).filter(Boolean) ?? [];
  for (const b of brokers) {
    if (!/^[\w.-]+:\d{1,5}$/.test(b)) throw new ConfigError(`expected host:port, got ${JSON.stringify(b)}`, 'KAFKA_BROKERS');
  }
  const clientId = env['POLAR_CLIENT_ID'];
  const clientSecret = env['POLAR_CLIENT_SECRET'];
  if (Boolean(clientId) !== Boolean(clientSecret)) {
    throw new ConfigError('set both POLAR_CLIENT_ID and POLAR_CLIENT_SECRET, or neither', 'POLAR_CLIENT_ID');
  }
  return Object.freeze({
    webhookListen: hostPort(env, 'POLAR_WEBHOOK_LISTEN'),
    webhookMaxEventAgeMs: webhookMaxAgeMs(env),
    metricsListen: hostPort(env, 'POLAR_LAKE_METRICS_LISTEN'),
    callbackListen: hostPort(env, 'POLAR_LAKE_CALLBACK_LISTEN'),
    lakeDir: resolve(env['POLAR_LAKE_DIR'] ?? 'lake'),
    stateDir: resolve(env['POLAR_LAKE_STATE_DIR'] ?? 'state'),
    kafkaBrokers: brokers.length > 0 ? Object.freeze(brokers) : null,
    topicPrefix: topicPrefix(env),
    pipelineFile: env['POLAR_LAKE_PIPELINE'] ? resolve(env['POLAR_LAKE_PIPELINE']) : DEFAULT_PIPELINE_FILE,
    accesslink:
      clientId && clientSecret
        ? Object.freeze({
            apiBaseUrl: url(env, 'POLAR_API_BASE_URL', 'https://www.polaraccesslink.com'),
            authorizeUrl: url(env, 'POLAR_AUTHORIZE_URL', 'https://flow.polar.com/oauth2/authorization'),
            tokenUrl: url(env, 'POLAR_TOKEN_URL', 'https://polarremote.com/v2/oauth2/token'),
            redirectUri: env['POLAR_REDIRECT_URI'] ?? 'http://127.0.0.1:8765/callback',
            clientId,
            clientSecret,
          })
        : null,
  });
}
