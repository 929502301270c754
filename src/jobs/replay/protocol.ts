/** Messages between the replay job (main thread) and its parse workers. */
import type { FetchedEvent } from '../../records/envelope.ts';
import type { ParseOptions } from '../../parse/index.ts';

export interface WorkerSetup {
  readonly lakeDir: string;
  readonly stateDir: string;
  readonly parseOptions: ParseOptions;
}

/** main → worker: parse these raw objects (one exercise's payloads, or one day). */
export interface ParseItem {
  readonly type: 'item';
  readonly id: number;
  readonly events: readonly FetchedEvent[];
}

/** worker → main: one record batch (Arrow IPC, the buffer transferred, not copied). */
export interface RecordsOut {
  readonly type: 'records';
  readonly id: number;
  readonly topic: string;
  readonly key: string;
  readonly value: ArrayBuffer;
}

export interface ItemOutcome {
  readonly rawKey: string;
  /** Stored (gzip) bytes of the raw object. */
  readonly bytes: number;
  /** Dead-lettered by the parse stage (terminal: the same object fails the same way again). */
  readonly deadLetter?: { readonly code: string; readonly reason: string };
  /** Failed for a reason that may pass (not journaled: retried by the next run). */
  readonly error?: string;
}

/** worker → main: every batch of the item was sent before this. */
export interface ItemDone {
  readonly type: 'done';
  readonly id: number;
  readonly outcomes: readonly ItemOutcome[];
  /** Rows parsed for each table. */
  readonly rows: Readonly<Record<string, number>>;
}

export type FromWorker = RecordsOut | ItemDone;
