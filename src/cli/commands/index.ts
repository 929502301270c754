import type { Command } from 'commander';
import { register as backfill } from './backfill.ts';
import { register as compact } from './compact.ts';
import { register as demo } from './demo.ts';
import { register as importFiles } from './import.ts';
import { register as lake } from './lake.ts';
import { register as lint } from './lint.ts';
import { register as parse } from './parse.ts';
import { register as query } from './query.ts';
import { register as replay } from './replay.ts';
import { register as run } from './run.ts';
import { register as simulate } from './simulate.ts';
import { register as users } from './users.ts';
import { register as webhook } from './webhook.ts';

/** Every CLI command, in the order `--help` lists them. */
export const COMMANDS: readonly ((program: Command) => void)[] = [demo, run, users, webhook, backfill, importFiles, replay, parse, query, compact, lake, lint, simulate];
