/**
 * Committed offsets per consumer group for the embedded bus: in memory, or one small JSON
 * file per group (`<dir>/<group>.json`, written to a temp file, fsynced, renamed), so that a
 * restarted process resumes each group where it last acknowledged.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { writeFileDurable } from '../fs/durable.ts';
import { join } from 'node:path';

/** topic -> partition -> next offset to deliver. */
type GroupOffsets = Record<string, Record<string, number>>;

export interface OffsetStore {
  /** The committed offset, or undefined when the group never committed on this partition. */
  get(group: string, topic: string, partition: number): Promise<number | undefined>;
  commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void>;
  /** The lowest committed offset of any group on a topic-partition (undefined: no group). */
  minCommitted(topic: string, partition: number): Promise<number | undefined>;
}

function minOver(groups: Iterable<GroupOffsets>, topic: string, partition: number): number | undefined {
  let min: number | undefined;
  for (const offsets of groups) {
    const value = offsets[topic]?.[String(partition)];
    if (value !== undefined && (min === undefined || value < min)) min = value;
  }
  return min;
}

export class MemoryOffsetStore implements OffsetStore {
  private readonly groups = new Map<string, GroupOffsets>();

  async get(group: string, topic: string, partition: number): Promise<number | undefined> {
    return this.groups.get(group)?.[topic]?.[String(partition)];
  }

  async minCommitted(topic: string, partition: number): Promise<number | undefined> {
    return minOver(this.groups.values(), topic, partition);
  }

  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    const g = this.groups.get(group) ?? {};
    (g[topic] ??= {})[String(partition)] = nextOffset;
    this.groups.set(group, g);
  }
}

export class FileOffsetStore implements OffsetStore {
  private readonly cache = new Map<string, GroupOffsets>();
  private readonly writing = new Map<string, Promise<void>>();
  private scanned = false;

  constructor(private readonly dir: string) {}

  async get(group: string, topic: string, partition: number): Promise<number | undefined> {
    return (await this.load(group))[topic]?.[String(partition)];
  }

  async commit(group: string, topic: string, partition: number, nextOffset: number): Promise<void> {
    const offsets = await this.load(group);
    (offsets[topic] ??= {})[String(partition)] = nextOffset;
    const snapshot = JSON.stringify(offsets);
    // One writer per group file; later commits wait for earlier ones (the last one wins).
    const previous = this.writing.get(group) ?? Promise.resolve();
    const next = previous.then(() => this.write(group, snapshot));
    this.writing.set(
      group,
      next.catch(() => undefined),
    );
    await next;
  }

  async minCommitted(topic: string, partition: number): Promise<number | undefined> {
    // Every group that ever committed here counts, including ones not running in this process.
    if (!this.scanned) {
      this.scanned = true;
      const names = await readdir(this.dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
      for (const name of names) if (name.endsWith('.json')) await this.load(decodeURIComponent(name.slice(0, -5)));
    }
    return minOver(this.cache.values(), topic, partition);
  }

  private file(group: string): string {
    return join(this.dir, `${encodeURIComponent(group)}.json`);
  }

  private async load(group: string): Promise<GroupOffsets> {
    const cached = this.cache.get(group);
    if (cached) return cached;
    let offsets: GroupOffsets = {};
    try {
      offsets = JSON.parse(await readFile(this.file(group), 'utf8')) as GroupOffsets;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // A concurrent load may have filled the cache meanwhile: keep the first one.
    const existing = this.cache.get(group);
    if (existing) return existing;
    this.cache.set(group, offsets);
    return offsets;
  }

  private async write(group: string, json: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileDurable(this.file(group), json, { mode: 0o666 });
  }
}
