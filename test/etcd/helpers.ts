/**
 * Shared pieces of the etcd fault tests: a writer that keeps going through outages, a watch
 * recorder, and etcd's own history as the ground truth a resumed watch must match exactly.
 */
import assert from 'node:assert/strict';
import { KeyExistsError, UnavailableError } from '../../src/storage/errors.js';
import type { Backend, WatchEvent } from '../../src/storage/types.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await sleep(10);
  }
}

/**
 * Creates `key`, retrying through UnavailableError (member down, leader election). A retry that
 * finds the key already there means an earlier attempt committed without its answer arriving.
 */
export async function createThroughOutage(b: Backend, key: string, value: string, ms = 20_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (let attempt = 0; ; attempt++) {
    try {
      return await b.create(key, value);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      if (err instanceof KeyExistsError && attempt > 0) {
        const kv = await b.get(key).catch(() => null);
        if (kv) return kv.modRevision;
        continue;
      }
      if (!(err instanceof UnavailableError)) throw err;
      await sleep(25);
    }
  }
}

export interface Recording {
  events: WatchEvent[];
  errors: Error[];
  stop: () => void;
}

export function record(b: Backend, prefix: string, fromRevision: number): Recording {
  const r: Recording = { events: [], errors: [], stop: () => {} };
  r.stop = b.watch(prefix, { fromRevision, onEvent: (e) => r.events.push(e), onError: (e) => r.errors.push(e) });
  return r;
}

export const summary = (evs: WatchEvent[]): string[] =>
  evs.map((e) => `${e.revision}:${e.type}:${e.kv.key}=${e.kv.value}@${e.kv.createRevision}/${e.kv.modRevision}`);

/**
 * etcd's history under `prefix` from `from` to `to`, read by a fresh, undisturbed watch: what
 * every watch that was disturbed along the way must have delivered, event for event.
 */
export async function history(b: Backend, prefix: string, from: number, to: number): Promise<WatchEvent[]> {
  const r = record(b, prefix, from);
  try {
    await until(() => r.errors.length > 0 || (r.events.at(-1)?.revision ?? from) >= to, 10_000, () => `history up to ${to}`);
    assert.deepEqual(r.errors, []);
    return r.events.filter((e) => e.revision <= to);
  } finally {
    r.stop();
  }
}

/** Asserts `rec` saw exactly `truth`: same events, strictly increasing revisions, no error. */
export function assertSameEvents(rec: Recording, truth: WatchEvent[], label: string): void {
  assert.deepEqual(rec.errors, [], `${label}: no watch error`);
  const revs = rec.events.map((e) => e.revision);
  for (let i = 1; i < revs.length; i++) assert.ok((revs[i] as number) > (revs[i - 1] as number), `${label}: revisions increase at ${i}: ${revs[i - 1]} then ${revs[i]}`);
  assert.deepEqual(summary(rec.events), summary(truth), `${label}: same events as etcd's history`);
}
