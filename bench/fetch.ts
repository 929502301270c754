/**
 * Fetch stage cost, as a ratio against a reference measured in the same run on an identical
 * simulator (same seed, same data):
 *   reference = bare `fetch` calls walking the same transactions (notifications, create,
 *               list, summary, tcx, gpx, fit, commit), bodies discarded;
 *   stage     = `createFetchStage().runOnce()`: same requests through the queue/gate/retrier,
 *               plus gzip + sha256 + fsync + rename into the raw zone, ledger appends and
 *               publishing to the embedded bus.
 *
 *   node bin/run-ts.mjs bench/fetch.ts [users=4] [exercisesPerUser=10]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccessLinkClient } from '../src/accesslink/client.ts';
import { enrolUser } from '../src/accesslink/enrol.ts';
import { createOAuth } from '../src/accesslink/oauth.ts';
import { EmbeddedBus } from '../src/bus/embedded.ts';
import { createRawZone } from '../src/lake/raw-zone.ts';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { createFetchStage } from '../src/stages/fetch.ts';
import { openLedger } from '../src/state/ledger.ts';
import { openUserRegistry } from '../src/state/users.ts';

const users = Number(process.argv[2] ?? 4);
const exercisesPerUser = Number(process.argv[3] ?? 10);
const simOptions = { seed: 11, users, exercisesPerUser, rateLimit: { shortTermLimit: 1_000_000, longTermLimit: 1_000_000 } };

async function enrolAll(sim: Simulator, stateDir: string) {
  const oauth = createOAuth({ authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret });
  const client = createAccessLinkClient({ apiBaseUrl: sim.apiBaseUrl, clientId: sim.clientId, clientSecret: sim.clientSecret });
  const registry = await openUserRegistry({ stateDir, secretKey: randomBytes(32) });
  for (const a of sim.accounts) {
    const { code } = await sim.approve(a.login, 'bench');
    await enrolUser({ oauth, client, users: registry, code, redirectUri: sim.redirectUri, memberId: `m-${a.polarUserId}` });
  }
  return { client, registry };
}

async function reference(sim: Simulator, tokens: Map<string, string>): Promise<number> {
  const basic = 'Basic ' + Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64');
  let bytes = 0;
  const drain = async (res: Response) => {
    bytes += (await res.arrayBuffer()).byteLength;
  };
  const n = await fetch(`${sim.apiBaseUrl}/v3/notifications`, { headers: { authorization: basic, accept: 'application/json' } });
  const list = (await n.json()) as { 'available-user-data': { 'user-id': number }[] };
  for (const entry of list['available-user-data']) {
    const uid = String(entry['user-id']);
    const auth = { authorization: `Bearer ${tokens.get(uid)!}`, accept: 'application/json' };
    for (;;) {
      const created = await fetch(`${sim.apiBaseUrl}/v3/users/${uid}/exercise-transactions`, { method: 'POST', headers: auth });
      if (created.status === 204) break;
      const tx = (await created.json()) as { 'resource-uri': string };
      const items = (await (await fetch(tx['resource-uri'], { headers: auth })).json()) as { exercises: string[] };
      for (const url of items.exercises) {
        await drain(await fetch(url, { headers: auth }));
        for (const kind of ['tcx', 'gpx', 'fit']) await drain(await fetch(`${url}/${kind}`, { headers: { ...auth, accept: '*/*' } }));
      }
      await drain(await fetch(tx['resource-uri'], { method: 'PUT', headers: auth }));
    }
  }
  return bytes;
}

const work = await mkdtemp(join(tmpdir(), 'polar-lake-bench-fetch-'));
try {
  const simRef = await startSimulator(simOptions);
  const ref = await enrolAll(simRef, join(work, 'ref-state'));
  const tokens = new Map(simRef.accounts.map((a) => [a.polarUserId, ref.registry.accessToken(a.polarUserId)]));
  let t0 = process.hrtime.bigint();
  const refBytes = await reference(simRef, tokens);
  const refMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await simRef.close();

  const sim = await startSimulator(simOptions);
  const stateDir = join(work, 'state');
  const { client, registry } = await enrolAll(sim, stateDir);
  const bus = new EmbeddedBus();
  const stage = createFetchStage({ client, users: registry, rawZone: createRawZone(join(work, 'lake')), ledger: await openLedger({ stateDir }), bus });
  t0 = process.hrtime.bigint();
  const report = await stage.runOnce();
  const stageMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await bus.close();
  await sim.close();
  console.log(JSON.stringify({
    users, exercises: users * exercisesPerUser, payloads: report.payloadsStored,
    megabytes: +(refBytes / 1e6).toFixed(1),
    reference_ms: Math.round(refMs), stage_ms: Math.round(stageMs),
    stage_vs_reference: +(stageMs / refMs).toFixed(2),
    stage_mb_per_s: +(report.bytesStored / 1e6 / (stageMs / 1000)).toFixed(1),
  }));
} finally {
  await rm(work, { recursive: true, force: true });
}
