import { InvalidArgumentError, type Command } from 'commander';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/index.ts';

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected ${name} to be an integer from ${min} to ${max}.`);
    return n;
  };
}

/** What a newcomer needs to point polar-lake (or curl) at the simulator. The secret only on request. */
export function describeSimulator(sim: Simulator, printSecret: boolean): string {
  const lines = [
    `AccessLink simulator listening`,
    `  api base url   ${sim.apiBaseUrl}`,
    `  authorize url  ${sim.authorizeUrl}`,
    `  token url      ${sim.tokenUrl}`,
    `  redirect uri   ${sim.redirectUri}`,
    `  client id      ${sim.clientId}`,
    `  client secret  ${printSecret ? sim.clientSecret : '(hidden; pass --print-secret)'}`,
    `  accounts       ${sim.accounts.map((a) => `${a.login} (${a.polarUserId})`).join(', ')}`,
    `To approve access in a browser as one of the accounts, open:`,
    `  ${sim.authorizeUrl}?${new URLSearchParams({ response_type: 'code', client_id: sim.clientId, redirect_uri: sim.redirectUri, scope: 'accesslink.read_all', state: 'demo' })}`,
    `Ctrl-C stops.`,
  ];
  return lines.join('\n');
}

/** `polar-lake simulate`: a local AccessLink v3 for demos and development, until Ctrl-C. */
export function register(program: Command): void {
  program
    .command('simulate')
    .description('run a local Polar AccessLink v3 simulator (OAuth2, users, notifications, exercise transactions)')
    .option('--port <n>', 'port (0 = any free port)', integer('--port', 0, 65_535), 0)
    .option('--host <address>', 'interface to listen on (0.0.0.0 in a container)', '127.0.0.1')
    .option('--public-url <url>', 'origin clients reach the simulator at, used in the URLs it returns (e.g. http://simulator:8000 in compose)')
    .option('--seed <n>', 'seed for accounts and workouts', integer('--seed', 0, 2 ** 32 - 1), 1)
    .option('--users <n>', 'simulated Flow accounts', integer('--users', 0, 10_000), 3)
    .option('--exercises-per-user <n>', 'exercises each user uploads after registering', integer('--exercises-per-user', 0, 10_000), 3)
    .option('--client-id <id>', 'OAuth client id the simulator accepts')
    .option('--client-secret <secret>', 'OAuth client secret the simulator accepts (default: a fixed development secret)')
    .option('--redirect-uri <url>', 'the registered redirect URL')
    .option('--print-secret', 'also print the client secret', false)
    .action(async (opts: { port: number; host: string; publicUrl?: string; seed: number; users: number; exercisesPerUser: number; clientId?: string; clientSecret?: string; redirectUri?: string; printSecret: boolean }) => {
      const options: SimulatorOptions = { port: opts.port, host: opts.host, seed: opts.seed, users: opts.users, exercisesPerUser: opts.exercisesPerUser };
      if (opts.publicUrl !== undefined) options.publicUrl = opts.publicUrl;
      if (opts.clientId !== undefined) options.clientId = opts.clientId;
      if (opts.clientSecret !== undefined) options.clientSecret = opts.clientSecret;
      if (opts.redirectUri !== undefined) options.redirectUri = opts.redirectUri;
      const sim = await startSimulator(options);
      console.log(describeSimulator(sim, opts.printSecret));
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await sim.close();
    });
}
