/** Wiring an app to the simulator, as the demo does: its AccessLink settings and enrolled users. */
import { enrolUser } from '../../src/accesslink/enrol.ts';
import type { App } from '../../src/app.ts';
import type { AccessLinkSettings } from '../../src/config.ts';
import type { Simulator } from '../../src/simulator/index.ts';

export function accessLinkSettings(sim: Simulator): AccessLinkSettings {
  return {
    apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl,
    redirectUri: sim.redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret,
  };
}

/** Every simulated account approves access (OAuth2 code flow) and is registered, as `users add` does. */
export async function enrolAll(app: App, sim: Simulator): Promise<void> {
  for (const account of sim.accounts) {
    const { code } = await sim.approve(account.login, 'test-state');
    await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: account.login });
  }
}
