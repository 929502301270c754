import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { describeSimulator, register } from '../../src/cli/commands/simulate.ts';
import { startSimulator } from '../../src/simulator/index.ts';

describe('simulator > cli', () => {
  it('simulator > cli > prints urls and client id, the secret only when asked', async () => {
    const sim = await startSimulator({ seed: 2, users: 2, clientSecret: 'very-secret-value' });
    try {
      const hidden = describeSimulator(sim, false);
      expect(hidden).toContain(sim.apiBaseUrl);
      expect(hidden).toContain(sim.tokenUrl);
      expect(hidden).toContain(sim.clientId);
      expect(hidden).toContain(sim.accounts[1]!.login);
      expect(hidden).not.toContain('very-secret-value');
      expect(describeSimulator(sim, true)).toContain('very-secret-value');
      // The printed authorize link works: following it with a login yields a code.
      const link = hidden.split('\n').map((l) => l.trim()).find((l) => l.startsWith(sim.authorizeUrl + '?'))!;
      const res = await fetch(`${link}&login=${sim.accounts[0]!.login}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(new URL(res.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    } finally {
      await sim.close();
    }
  });

  it('simulator > cli > rejects a bad port before starting anything', async () => {
    const program = new Command('polar-lake').exitOverride().configureOutput({ writeErr: () => {} });
    register(program);
    await expect(program.parseAsync(['node', 'polar-lake', 'simulate', '--port', '70000'])).rejects.toThrow(/--port/);
    await expect(program.parseAsync(['node', 'polar-lake', 'simulate', '--seed', 'x'])).rejects.toThrow(/--seed/);
  });
});
