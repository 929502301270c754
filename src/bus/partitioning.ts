/**
 * Key → partition, and topic-name rules, shared by both buses.
 *
 * The hash is Kafka's own (murmur2 of the UTF-8 key, sign bit cleared, modulo the partition
 * count, as in the Java client's and kafkajs's default partitioner), so a user lands on the
 * same partition number on the embedded bus as on Kafka with the same partition count.
 */
import { BusUsageError } from './errors.ts';

export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= data[whole + 2]! << 16;
  if (tail >= 2) h ^= data[whole + 1]! << 8;
  if (tail >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionForKey(key: string, partitions: number): number {
  if (partitions === 1) return 0;
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** Kafka's rule: 1-249 characters of [a-zA-Z0-9._-], not "." or "..". Also keeps file paths safe. */
export function validateTopicName(topic: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw new BusUsageError(`invalid topic name ${JSON.stringify(topic)}: use 1-249 characters of [a-zA-Z0-9._-]`);
  }
}
