/**
 * The exercise channel a state folder was filled by. The transactional channel gives numeric
 * exercise ids and /v3/exercises gives hashed ones, with no mapping between them, so switching
 * an existing lake from one to the other would store every exercise still in the 30-day
 * window a second time. The first fetch records its channel; a later run configured with the
 * other one stops with a config error that says what to do instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { writeFileDurable } from '../fs/durable.ts';

export type ExerciseChannel = 'transactional' | 'listing';

const FILE = 'exercise-channel.json';

export async function lockExerciseChannel(stateDir: string, channel: ExerciseChannel): Promise<void> {
  const path = join(stateDir, FILE);
  if (existsSync(path)) {
    const recorded = (JSON.parse(readFileSync(path, 'utf8')) as { channel?: string }).channel;
    if (recorded === channel) return;
    throw new ConfigError(
      `this state was filled by the ${String(recorded)} channel; switching to ${channel} would store the exercises still visible ` +
        `again under new ids. Start a new lake and state for the ${channel} channel, or delete ${path} if doubling is acceptable`,
      'fetch.exercise_channel',
    );
  }
  await writeFileDurable(path, JSON.stringify({ channel, since_utc: new Date().toISOString() }) + '\n', { mode: 0o644 });
}
