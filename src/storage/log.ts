/**
 * The log row both backends store, in the shape of k3s kine's table: one row per revision,
 * carrying enough (old value, previous revision) that a watch event, including its prevKv, can
 * be rebuilt from that row alone — even after compaction has dropped the row it superseded.
 */
import type { KeyValue, WatchEvent } from './types.js';

export interface LogRow {
  /** The revision this write produced. */
  id: number;
  name: string;
  /** 1 when this row created the key (no live predecessor). */
  created: number;
  /** 1 when this row is a tombstone. */
  deleted: number;
  createRevision: number;
  /** modRevision of the value this row replaced (0 for creates). */
  prevRevision: number;
  /** The new value; for a tombstone, the value as it was when deleted (as kine stores it). */
  value: string;
  /** The replaced value (null for creates). */
  oldValue: string | null;
}

/** The key's value as of this (non-tombstone) row. */
export function rowToKv(row: LogRow): KeyValue {
  return { key: row.name, value: row.value, createRevision: row.createRevision, modRevision: row.id };
}

/** The value this row replaced, if any. */
export function rowPrevKv(row: LogRow): KeyValue | undefined {
  if (row.created || row.oldValue === null || row.prevRevision === 0) return undefined;
  return { key: row.name, value: row.oldValue, createRevision: row.createRevision, modRevision: row.prevRevision };
}

/**
 * The watch event for a row. For DELETE, `kv` holds the deleted value with modRevision set to
 * the delete's revision (so an object served from it carries the delete's resourceVersion, as
 * kube-apiserver does), and prevKv holds the same value at its real modRevision.
 */
export function rowToEvent(row: LogRow): WatchEvent {
  const prevKv = rowPrevKv(row);
  const ev: WatchEvent = { type: row.deleted ? 'DELETE' : 'PUT', kv: rowToKv(row), revision: row.id };
  if (prevKv) ev.prevKv = prevKv;
  return ev;
}
