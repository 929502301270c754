/**
 * A fetch-stage rig for tests: a simulator on 127.0.0.1, every simulated account enrolled
 * through the real OAuth flow, a temp state dir and raw zone, the embedded bus, and a logger
 * that keeps every line so tests can check no secret was written.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessLinkClient, type AccessLinkClient } from '../../src/accesslink/client.ts';
import { enrolUser } from '../../src/accesslink/enrol.ts';
import { createOAuth, type OAuth } from '../../src/accesslink/oauth.ts';
import { TOPICS } from '../../src/bus/bus.ts';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { createRawZone, type RawZone } from '../../src/lake/raw-zone.ts';
import { decodeEnvelope, type FetchedEvent } from '../../src/records/envelope.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { openLedger, type Ledger } from '../../src/state/ledger.ts';
import { openUserRegistry, type UserRegistry } from '../../src/state/users.ts';
import { createLogger, type Logger } from '../../src/telemetry/log.ts';
import type { AccessLinkClientOptions } from '../../src/accesslink/client.ts';
import type { VirtualClock } from '../../src/clock.ts';

export interface FetchRig {
  sim: Simulator;
  client: AccessLinkClient;
  oauth: OAuth;
  users: UserRegistry;
  rawZone: RawZone;
  ledger: Ledger;
  bus: EmbeddedBus;
  logger: Logger;
  logLines: string[];
  stateDir: string;
  /** The virtual clock the simulator and the client share, when the rig was given one. */
  clock: VirtualClock | undefined;
  /** Enrols a simulated account again (after its token was revoked), as an operator would with `users add`. */
  reenrol(polarUserId: string): Promise<void>;
  /** Every FetchedEvent published so far, in order. */
  events(): Promise<FetchedEvent[]>;
  /** Strings that must never appear in a log line: every token and the client secret. */
  secrets(): string[];
  close(): Promise<void>;
}

/**
 * Transaction TTL of the rig's simulator. Short, so tests can wait for an uncommitted
 * transaction to lapse, yet long enough for one transaction's downloads on a busy machine
 * (the simulator counts it from creation).
 */
export const RIG_TRANSACTION_TTL_MS = 4000;

export interface RigOptions {
  /** Shared by the simulator and the client: waits and lifetimes run on it, not on the wall clock. */
  readonly clock?: VirtualClock;
  /** Client options beyond the rig's (retry, caps, body idle timeout). */
  readonly client?: Partial<AccessLinkClientOptions>;
}

export async function startFetchRig(options: SimulatorOptions = {}, enrol = true, rigOptions: RigOptions = {}): Promise<FetchRig> {
  const clock = rigOptions.clock;
  const sim = await startSimulator({
    seed: 1, users: 3, exercisesPerUser: 3, transactionTtlMs: RIG_TRANSACTION_TTL_MS, durationRangeS: [120, 900], ...(clock ? { clock } : {}), ...options,
  });
  const dir = await mkdtemp(join(tmpdir(), 'polar-lake-fetch-'));
  const stateDir = join(dir, 'state');
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) });
  const client = createAccessLinkClient({
    apiBaseUrl: sim.apiBaseUrl,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    retry: { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 20 },
    logger,
    ...(clock ? { clock } : {}),
    ...rigOptions.client,
  });
  const oauth = createOAuth({ authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret, logger });
  const users = await openUserRegistry({ stateDir, secretKey: randomBytes(32), logger });
  const tokensSeen: string[] = [];
  const enrolAccount = async (account: { polarUserId: string; login: string }) => {
    const csrf = randomBytes(8).toString('hex');
    const { code } = await sim.approve(account.login, csrf);
    await enrolUser({ oauth, client, users, code, redirectUri: sim.redirectUri, memberId: `member-${account.polarUserId}` });
    tokensSeen.push(users.accessToken(account.polarUserId));
  };
  if (enrol) for (const account of sim.accounts) await enrolAccount(account);
  const bus = new EmbeddedBus({ logger });
  const events: FetchedEvent[] = [];
  const subscription = await bus.consume({ topics: [TOPICS.fetched], group: 'fetch-test' }, async (batch) => {
    for (const m of batch.messages) events.push(decodeEnvelope(m.value) as FetchedEvent);
  });
  return {
    sim, client, oauth, users, rawZone: createRawZone(join(dir, 'lake')), ledger: await openLedger({ stateDir }), bus, logger, logLines, stateDir, clock,
    reenrol: (polarUserId) => enrolAccount(sim.accounts.find((a) => a.polarUserId === polarUserId)!),
    async events() {
      await subscription.drained();
      return [...events];
    },
    secrets: () => [sim.clientSecret, Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64'), ...tokensSeen],
    async close() {
      await subscription.stop();
      await bus.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts no log line holds a secret; returns the offending lines for a readable failure. */
export function linesLeakingSecrets(rig: FetchRig): string[] {
  const secrets = rig.secrets().filter((s) => s.length >= 6);
  return rig.logLines.filter((line) => secrets.some((s) => line.includes(s)));
}
