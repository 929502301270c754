/**
 * The replay journal: which raw objects a replay has durably finished (their rows committed by
 * the sink, or their dead letter recorded), so a rerun after a crash or SIGKILL continues where
 * it stopped instead of starting over.
 *
 * One journal per filter (`--table`, `--users`, `--since`, `--until`), named by a hash of it,
 * under `<stateDir>/replay/`: a different replay never skips objects because of this one. Each
 * checkpoint appends one JSON line and fsyncs it; a line torn by a crash is ignored (its objects
 * are replayed again, which the sink's manifests make harmless). A run that finishes with
 * nothing left to retry removes its journal, so the next replay (after a parser fix) redoes all.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { appendDurable } from '../../fs/durable.ts';
import type { ReplayFilter } from '../../stages/replay.ts';
import { ReplayJournalError } from './errors.ts';

export interface ReplayJournal {
  readonly path: string;
  has(rawKey: string): boolean;
  /** Appends and fsyncs: once this resolves the keys survive a crash. */
  markDone(rawKeys: readonly string[]): Promise<void>;
  /** The job finished: forget it. */
  remove(): Promise<void>;
}

export function journalPathFor(stateDir: string, filter: ReplayFilter): string {
  const canonical = JSON.stringify({
    payloads: filter.payloads ? [...filter.payloads].sort() : null,
    users: filter.users ? [...filter.users].sort() : null,
    since: filter.since ?? null,
    until: filter.until ?? null,
  });
  return join(stateDir, 'replay', `journal-${createHash('sha256').update(canonical).digest('hex').slice(0, 16)}.jsonl`);
}

export async function openReplayJournal(stateDir: string, filter: ReplayFilter, options: { restart?: boolean } = {}): Promise<ReplayJournal> {
  const path = journalPathFor(stateDir, filter);
  const done = new Set<string>();
  try {
    await mkdir(join(stateDir, 'replay'), { recursive: true });
    if (options.restart) await rm(path, { force: true });
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    // A line torn by a crash is closed, so the next checkpoint starts a line of its own.
    if (text !== '' && !text.endsWith('\n')) await appendDurable(path, '\n', { mode: 0o666 });
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        for (const key of (JSON.parse(line) as { done: string[] }).done) done.add(key);
      } catch {
        // a line torn by a crash: its objects are replayed again
      }
    }
  } catch (cause) {
    throw new ReplayJournalError(path, { cause });
  }
  return {
    path,
    has: (rawKey) => done.has(rawKey),
    async markDone(rawKeys) {
      if (rawKeys.length === 0) return;
      try {
        await appendDurable(path, JSON.stringify({ done: rawKeys }) + '\n', { mode: 0o666 });
      } catch (cause) {
        throw new ReplayJournalError(path, { cause });
      }
      for (const key of rawKeys) done.add(key);
    },
    async remove() {
      await rm(path, { force: true });
    },
  };
}
