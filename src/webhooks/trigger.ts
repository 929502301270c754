/**
 * Webhook events → fetch runs. The receiver publishes each event to `polar.webhooks`; this
 * consumer runs a fetch sweep for a batch of events and acknowledges the batch only when the
 * sweep is done, so an event whose work was interrupted by a crash is acted on again.
 * A burst of events becomes one batch and one sweep. Polling stays the safety net for events
 * missed while a webhook was deactivated.
 */
import { TOPICS, type Bus, type Subscription } from '../bus/bus.ts';
import { decodeWebhookEvent, encodeWebhookEvent } from './codec.ts';
import type { WebhookEvent } from './events.ts';
import type { Logger } from '../telemetry/log.ts';

export interface WebhookTriggerOptions {
  readonly bus: Bus;
  /** Runs the work for a batch of events (the users they name, and the events themselves: see FetchStage.runEvents). */
  readonly run: (userIds: readonly string[], events: readonly WebhookEvent[]) => Promise<unknown>;
  readonly group: string;
  readonly logger: Logger;
}

export function publishWebhookEvent(bus: Bus, event: WebhookEvent): Promise<void> {
  return bus.publish(TOPICS.webhooks, [{ key: event.user_id, value: encodeWebhookEvent(event) }]);
}

export function startWebhookTrigger(options: WebhookTriggerOptions): Promise<Subscription> {
  return options.bus.consume({ topics: [TOPICS.webhooks], group: options.group }, async (batch) => {
    const events = batch.messages.map((m) => decodeWebhookEvent(m.value)).filter((e): e is WebhookEvent => e !== null);
    const users = [...new Set(events.map((e) => e.user_id))];
    if (users.length === 0) return;
    options.logger.debug('webhooks.sweep.started', { users: users.length, events: batch.messages.length });
    await options.run(users, events);
  });
}
