import type { Command } from 'commander';
import { ConfigError } from '../../errors.ts';
import { loadConfig } from '../../config.ts';
import { activateWebhook, createWebhook, listWebhooks, type PartnerCredentials } from '../../webhooks/registration.ts';

const DEFAULT_EVENTS = ['EXERCISE', 'SLEEP', 'ACTIVITY_SUMMARY'];

function credentials(): { creds: PartnerCredentials; stateDir: string } {
  const config = loadConfig();
  if (!config.accesslink) throw new ConfigError('set POLAR_CLIENT_ID and POLAR_CLIENT_SECRET', 'POLAR_CLIENT_ID');
  const { apiBaseUrl, clientId, clientSecret } = config.accesslink;
  return { creds: { apiBaseUrl, clientId, clientSecret }, stateDir: config.stateDir };
}

/**
 * `polar-lake webhook create|show|activate`: the client's one AccessLink webhook. Start
 * `polar-lake run` with POLAR_WEBHOOK_LISTEN first: Polar PINGs the URL before creating it.
 */
export function register(program: Command): void {
  const webhook = program.command('webhook').description("manage the client's AccessLink webhook (signing key stored encrypted, never shown)");
  webhook
    .command('create')
    .requiredOption('--url <url>', 'public HTTPS URL that reaches POLAR_WEBHOOK_LISTEN')
    .option('--events <events>', 'comma-separated events', DEFAULT_EVENTS.join(','))
    .action(async (opts: { url: string; events: string }) => {
      const { creds, stateDir } = credentials();
      const info = await createWebhook(creds, stateDir, { url: opts.url, events: opts.events.split(',').map((e) => e.trim()) });
      console.log(`created webhook ${info.id} for ${info.url} (${info.events.join(', ')}); signing key stored encrypted in ${stateDir}/webhook.json`);
    });
  webhook.command('show').action(async () => {
    const { creds } = credentials();
    for (const w of await listWebhooks(creds)) console.log(`${w.id}  ${w.active ? 'active  ' : 'INACTIVE'}  ${w.url}  ${w.events.join(',')}`);
  });
  webhook
    .command('activate')
    .description('re-activate after Polar deactivated it (7 days of failed deliveries)')
    .action(async () => {
      console.log((await activateWebhook(credentials().creds)) ? 'activated' : 'no webhook exists');
    });
}
