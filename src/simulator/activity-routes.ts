/**
 * The legacy activity and physical-information transactions (see ./activity.ts), with the
 * shapes and statuses of the reference: create 201 / 204 (nothing new), list 200 with
 * absolute item URLs (`activity-log`, `physical-informations`), items 200, commit 200, an
 * unknown or expired transaction 404. While a transaction is open, create returns it again.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, sendEmpty, sendJson } from './http-util.ts';
import { authorizeUser, notAllowed, requireRegistered, type ServerContext } from './server.ts';
import type { LegacyType } from './activity.ts';
import { legacyStepSamples, legacyZoneSamples } from './activity.ts';

const ID = '(\\d{1,19})';
export const LEGACY_ROUTE = new RegExp(`^/v3/users/${ID}/(activity-transactions|physical-information-transactions)(?:/${ID}(?:/(activities|physical-informations)/${ID}(?:/(step-samples|zone-samples))?)?)?$`);

export function legacyRoutes(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, method: string, path: string): void {
  const m = LEGACY_ROUTE.exec(path)!;
  const [, pathUser, segment, transactionId, itemKind, itemId, sub] = m;
  const userId = authorizeUser(ctx, req, pathUser!);
  requireRegistered(ctx, userId);
  const account = ctx.state.accountById(userId)!;
  const legacy = ctx.state.legacy;
  const type: LegacyType = segment === 'activity-transactions' ? 'activity' : 'physical';
  const base = `${ctx.apiBaseUrl()}/v3/users/${userId}/${segment}`;

  if (transactionId === undefined) {
    if (method !== 'POST') return notAllowed(res);
    const tx = legacy.create(type, account);
    if (!tx) return sendEmpty(res, 204);
    return sendJson(res, 201, { 'transaction-id': Number(tx.transactionId), 'resource-uri': `${base}/${tx.transactionId}` });
  }
  const tx = legacy.transaction(type, userId, transactionId);
  if (!tx) throw new HttpError(404, 'transaction not found', 'NOT_FOUND');
  if (itemId === undefined) {
    if (method === 'GET') {
      const list = type === 'activity'
        ? { 'activity-log': tx.items.map((date) => `${base}/${tx.transactionId}/activities/${legacy.activityItemId(account, date)}`) }
        : { 'physical-informations': tx.items.map((id) => `${base}/${tx.transactionId}/physical-informations/${id}`) };
      return sendJson(res, 200, list);
    }
    if (method === 'PUT') {
      legacy.commit(tx, account);
      return sendEmpty(res, 200);
    }
    return notAllowed(res);
  }
  if (method !== 'GET') return notAllowed(res);
  if ((type === 'activity') !== (itemKind === 'activities')) throw new HttpError(404, 'not found', 'NOT_FOUND');
  if (type === 'physical') {
    if (sub !== undefined || !tx.items.includes(itemId)) throw new HttpError(404, 'physical information not found', 'NOT_FOUND');
    return sendJson(res, 200, legacy.physicalItemJson(account, legacy.snapshotById(account, itemId)!, tx.transactionId, ctx.apiBaseUrl()));
  }
  const date = legacy.dateOfActivityItem(account, itemId);
  if (date === null || !tx.items.includes(date)) throw new HttpError(404, 'activity not found', 'NOT_FOUND');
  if (sub === undefined) return sendJson(res, 200, legacy.activityItemJson(account, date, tx.transactionId, ctx.apiBaseUrl()));
  const series = legacy.series(account, date);
  const hours = legacy.hoursKnown(account, date);
  return sendJson(res, 200, sub === 'step-samples' ? legacyStepSamples(series, date, hours) : legacyZoneSamples(series, date, hours));
}
