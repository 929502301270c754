import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { lockExerciseChannel } from '../../src/state/channel-lock.ts';

describe('state > exercise channel lock', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records the first channel, accepts it again, and refuses a switch that would double exercises', async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-channel-'));
    await lockExerciseChannel(dir, 'transactional');
    await expect(lockExerciseChannel(dir, 'transactional')).resolves.toBeUndefined();
    const refused = lockExerciseChannel(dir, 'listing');
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(lockExerciseChannel(dir, 'listing')).rejects.toThrow(/fetch\.exercise_channel: this state was filled by the transactional channel; switching to listing would store/);
  });
});
