import type { Command } from 'commander';
export function register(program: Command): void {
  program.command('status').description('users, last fetches, throughput and lag, budget, dead letters and lake size, from a running process or the folders');
}
