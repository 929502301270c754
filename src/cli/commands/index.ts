import type { Command } from 'commander';
import { register as lint } from './lint.ts';

/** Every CLI command, in the order `--help` lists them. */
export const COMMANDS: readonly ((program: Command) => void)[] = [lint];
