/**
 * Switchable, seeded faults for the simulator, and its record of what it delivered whole.
 *
 * Each /v3 request draws from one seeded generator, in request order, so a seed and the same
 * sequence of requests give the same faults. Status faults answer instead of the route
 * (429 with RateLimit headers, 500/502/503). Body faults let the route answer 200 and then
 * spoil its body: a reset mid-body, a stall (part sent, then nothing), a chunked body that
 * ends cleanly but early, a body shorter than its Content-Length. State faults change what
 * the route sees: the user's open transaction expires, the token is revoked.
 *
 * The record: every exercise payload response (summary, TCX, GPX, FIT) says whether its
 * body went out whole, and every commit says which payloads of its items had not been
 * delivered whole before it (`missing`), the ground truth the fault suite checks.
 */
import type { ServerResponse } from 'node:http';
import { mulberry32, type Rng } from './random.ts';

export interface FaultPlan {
  /** Seed of the fault draws (independent of the data seed). */
  readonly seed: number;
  /** Probabilities per request, each from 0 to 1; absent = 0. */
  readonly rateLimited?: number;
  readonly serverError?: number;
  readonly resetMidBody?: number;
  readonly stall?: number;
  readonly truncateChunked?: number;
  readonly truncateContentLength?: number;
  /** On an item of an open transaction: the transaction expires just before the request. */
  readonly expireTransaction?: number;
  /** On a bearer request: the user's token is revoked just before it (401 from then on). */
  readonly revokeToken?: number;
}

export type StatusFault = { readonly kind: 'rate_limited' } | { readonly kind: 'server_error'; readonly status: 500 | 502 | 503 };
export type BodyFaultKind = 'reset_mid_body' | 'stall' | 'truncate_chunked' | 'truncate_content_length';
export type FaultKind = StatusFault['kind'] | BodyFaultKind | 'expire_transaction' | 'revoke_token';

export interface FaultDice {
  status(): StatusFault | null;
  body(): BodyFaultKind | null;
  expireTransaction(): boolean;
  revokeToken(): boolean;
  /** How many of each fault were dealt. */
  readonly dealt: Readonly<Record<FaultKind, number>>;
}

export function createFaultDice(plan: FaultPlan): FaultDice {
  const rng: Rng = mulberry32(plan.seed);
  const dealt: Record<FaultKind, number> = {
    rate_limited: 0, server_error: 0, reset_mid_body: 0, stall: 0, truncate_chunked: 0, truncate_content_length: 0, expire_transaction: 0, revoke_token: 0,
  };
  const roll = (p: number | undefined) => rng() < (p ?? 0);
  return {
    dealt,
    status() {
      if (roll(plan.rateLimited)) {
        dealt.rate_limited++;
        return { kind: 'rate_limited' };
      }
      if (roll(plan.serverError)) {
        dealt.server_error++;
        const status = ([500, 502, 503] as const)[Math.floor(rng() * 3)]!;
        return { kind: 'server_error', status };
      }
      return null;
    },
    body() {
      const kinds: [BodyFaultKind, number | undefined][] = [
        ['reset_mid_body', plan.resetMidBody], ['stall', plan.stall], ['truncate_chunked', plan.truncateChunked], ['truncate_content_length', plan.truncateContentLength],
      ];
      for (const [kind, p] of kinds) {
        if (roll(p)) {
          dealt[kind]++;
          return kind;
        }
      }
      return null;
    },
    expireTransaction() {
      const hit = roll(plan.expireTransaction);
      if (hit) dealt.expire_transaction++;
      return hit;
    },
    revokeToken() {
      const hit = roll(plan.revokeToken);
      if (hit) dealt.revoke_token++;
      return hit;
    },
  };
}

const BODY_FAULTS = new WeakMap<ServerResponse, BodyFaultKind>();
/** Responses left hanging by a stall, ended when the simulator closes. */
export const STALLED = new Set<ServerResponse>();

export function setBodyFault(res: ServerResponse, kind: BodyFaultKind): void {
  BODY_FAULTS.set(res, kind);
}

export function bodyFaultOf(res: ServerResponse): BodyFaultKind | undefined {
  return BODY_FAULTS.get(res);
}

/**
 * Sends `body` with status and headers, spoiled by the response's body fault if it has one.
 * Resolves true when the body went out whole. A spoiled body always sends at least one byte
 * and stops at least one byte short.
 */
export async function sendBody(res: ServerResponse, status: number, headers: Record<string, string | number>, body: Buffer): Promise<boolean> {
  const fault = bodyFaultOf(res);
  if (!fault || body.length < 2) {
    res.writeHead(status, { ...headers, 'Content-Length': body.length });
    await new Promise<void>((resolve) => res.end(body, () => resolve()));
    return true;
  }
  const cut = Math.max(1, Math.floor(body.length * 0.6));
  const part = body.subarray(0, cut);
  switch (fault) {
    case 'truncate_chunked': {
      // No Content-Length: chunked, and the terminating chunk comes early. Nothing says it is short.
      const { ['Content-Length']: _ignored, ...rest } = headers;
      res.writeHead(status, rest);
      await new Promise<void>((resolve) => res.end(part, () => resolve()));
      return false;
    }
    case 'truncate_content_length':
    case 'reset_mid_body': {
      const declared = fault === 'truncate_content_length' ? { 'Content-Length': body.length } : {};
      res.writeHead(status, { ...headers, ...declared });
      await new Promise<void>((resolve) => res.write(part, () => resolve()));
      // truncate_content_length closes quietly; reset_mid_body resets the connection.
      if (fault === 'reset_mid_body') res.socket?.resetAndDestroy();
      else res.socket?.end();
      res.destroy();
      return false;
    }
    case 'stall':
      res.writeHead(status, headers);
      res.write(part);
      STALLED.add(res);
      res.on('close', () => STALLED.delete(res));
      return false;
  }
}

export interface DeliveryRecord {
  readonly userId: string;
  readonly exerciseId: string;
  readonly payload: 'summary' | 'tcx' | 'gpx' | 'fit';
  readonly complete: boolean;
  readonly atMs: number;
}

export interface CommitRecord {
  readonly transactionId: string;
  readonly userId: string;
  readonly exerciseIds: readonly string[];
  /** `<exerciseId>/<payload>` of every payload that existed but had not gone out whole. */
  readonly missing: readonly string[];
  readonly atMs: number;
}
