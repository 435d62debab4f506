/**
 * Revision rules shared by every backend, so they agree on the edge cases:
 * - a read at revision 0/unset means "latest";
 * - the oldest readable revision is compactRevision+1 (types.ts), older → CompactedError;
 * - a revision above the current one → FutureRevisionError;
 * - a watch from R needs events R+1.., which survive compaction exactly when R >= compactRevision.
 */
import { CompactedError, FutureRevisionError } from './errors.js';

/** Resolves the revision a read happens at, or throws if it cannot be served. */
export function resolveReadRevision(requested: number | undefined, current: number, compacted: number): number {
  if (requested === undefined || requested <= 0) return current;
  if (requested > current) throw new FutureRevisionError(requested, current);
  if (requested <= compacted) throw new CompactedError(requested, compacted);
  return requested;
}

/** Throws CompactedError when events after `fromRevision` are no longer all retained. */
export function checkWatchRevision(fromRevision: number, compacted: number): void {
  if (fromRevision < compacted) throw new CompactedError(fromRevision, compacted);
}

/** Splits a sorted candidate list into a page plus the paging fields of ListResult. */
export function page<T>(items: T[], limit: number | undefined): { items: T[]; more: boolean; remaining: number } {
  if (!limit || limit <= 0 || items.length <= limit) return { items, more: false, remaining: 0 };
  return { items: items.slice(0, limit), more: true, remaining: items.length - limit };
}
